// SIGSEGV and SIGBUS explained in the words of the layout (see crash_explainer.h), with the
// faulting instruction named.
#pragma once

#include <vector>

#include "analysis/analysis.h"
#include "symbols/code_locator.h"

namespace memtrace {

class CrashReports : public Analysis {
public:
    static constexpr size_t kMaxCrashes = 64;

    CrashReports(const SegmentTable& segments, CodeLocator& locator) : segments_(segments), locator_(locator) {}
    void on_trace_start(const mt_trace_start& start) override { origin_ns_ = start.hdr.ts_ns; }
    void on_signal(const SignalEvent& e) override;
    void report(Report& out, const ReportContext&) override { out.crashes = crashes_; }

private:
    const SegmentTable& segments_;
    CodeLocator& locator_;
    uint64_t origin_ns_ = 0;
    std::vector<CrashRow> crashes_;
};

}  // namespace memtrace
