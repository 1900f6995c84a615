// How much of the trace reached memtrace: the kernel's own fault count (exact even when records are
// lost), records dropped by a full ring buffer, faults counted per page instead of streamed.
#pragma once

#include "analysis/analysis.h"

namespace memtrace {

class TraceHealth : public Analysis {
public:
    void on_counters(const mt_counters& c) override { counters_ = c; }
    void on_overflow(const OverflowEvent& e) override { overflow_faults_ += e.page.faults; }
    void report(Report& out, const ReportContext& context) override;

private:
    mt_counters counters_{};
    uint64_t overflow_faults_ = 0;
};

}  // namespace memtrace
