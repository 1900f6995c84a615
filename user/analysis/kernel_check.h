// Each process's fault count held against the kernel's own minflt+majflt over the same window:
// the window opens at attach (read from /proc), at fork (zero) or at the first exec (read by BPF),
// and closes at exit or at the end of the trace. Faults the kernel takes inside exec without a
// tracepoint are measured at each later exec and named.
#pragma once

#include <array>
#include <unordered_map>
#include <vector>

#include "analysis/analysis.h"

namespace memtrace {

class KernelCheck : public Analysis {
public:
    void on_fault(const FaultEvent& e) override;
    void on_overflow(const OverflowEvent& e) override;
    void on_process(const ProcessEvent& e) override;
    void on_kernel_final(const mt_kernel_final& f, const Process* process) override;
    void on_untraced(const mt_untraced& u, const Process* process) override;
    void on_signal(const SignalEvent& e) override;
    void report(Report& out, const ReportContext& context) override;

private:
    struct Window {
        uint64_t faults = 0;           // memtrace's count since the baseline
        // The kernel's without a tracepoint: [0] inside a later exec, then by mt_untraced_cause.
        std::array<uint64_t, MT_UNTRACED_CAUSE_MAX> untraced{};
        uint64_t signal_faults = 0;    // memtrace's that ended in a signal: not the kernel's
        uint64_t untraced_total() const;
        bool baseline_known = false, baseline_exact = false, baseline_from_fork = false, final_known = false;
        uint64_t baseline_faults = 0, final_faults = 0;
    };
    ProcessRow row_of(const Process& p, const Window& w) const;
    void compact(const ProcessRow& row);

    std::unordered_map<uint32_t, Window> windows_;
    std::vector<ProcessRow> exited_rows_;  // children that exited, in the order they did
    ProcessRow exited_overflow_;           // the ones beyond kMaxExitedRows, summed
    uint64_t exited_overflow_count_ = 0;
};

}  // namespace memtrace
