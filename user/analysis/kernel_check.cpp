#include "analysis/kernel_check.h"

#include <algorithm>
#include <csignal>

#include <fmt/format.h>

#include "model/process_table.h"

namespace memtrace {
namespace {

constexpr size_t kMaxExitedRows = 4096;

}  // namespace

uint64_t KernelCheck::Window::untraced_total() const
{
    uint64_t total = 0;
    for (uint64_t n : untraced)
        total += n;
    return total;
}

void KernelCheck::on_untraced(const mt_untraced& u, const Process* process)
{
    if (process && u.cause > 0 && u.cause < MT_UNTRACED_CAUSE_MAX)
        windows_[process->pid].untraced[u.cause] += u.faults;
}

void KernelCheck::on_signal(const SignalEvent& e)
{
    // A fault that ends in a signal (no mapping there, or not allowed) is counted by the tracepoint
    // but not in minflt/majflt: the kernel accounts only faults it handled. si_code tells a fault's
    // signal from one sent by kill or raised by a general protection fault (SI_KERNEL).
    const int code = e.signal.code;
    const bool segv_fault = e.signal.signo == SIGSEGV && (code == SEGV_MAPERR || code == SEGV_ACCERR || code == SEGV_PKUERR);
    const bool bus_fault = e.signal.signo == SIGBUS && (code == BUS_ADRERR || code == BUS_MCEERR_AR);
    if (segv_fault || bus_fault)
        ++windows_[e.process.pid].signal_faults;
}

void KernelCheck::on_fault(const FaultEvent& e)
{
    if (e.process && e.counts_for_process)
        ++windows_[e.process->pid].faults;
}

void KernelCheck::on_overflow(const OverflowEvent& e)
{
    if (e.process)
        windows_[e.process->pid].faults += e.page.faults;
}

void KernelCheck::on_process(const ProcessEvent& e)
{
    const uint32_t pid = e.process.pid;
    switch (e.kind) {
    case ProcessEvent::Kind::Attached: {
        const auto a = e.record.as<mt_attach>();
        if (a.flags & MT_ATTACH_BASELINE) {
            Window& w = windows_[pid];
            w.baseline_known = true;
            w.baseline_exact = false;
            w.baseline_faults = a.kernel_faults;
            w.faults = 0;
        }
        break;
    }
    case ProcessEvent::Kind::Forked: {
        // A new process starts with zero faults on the kernel's books: exact from here.
        Window& w = windows_[pid] = Window{};
        w.baseline_known = w.baseline_exact = w.baseline_from_fork = true;
        break;
    }
    case ProcessEvent::Kind::Exec: {
        const auto x = e.record.as<mt_exec>();
        Window& w = windows_[pid];
        const uint64_t kernel_now = x.minflt + x.majflt;
        if (!e.process.window_open) {  // the launched command's first exec opens the window
            w.baseline_known = w.baseline_exact = true;
            w.baseline_faults = kernel_now;
            w.faults = 0;
            break;
        }
        // Later execs: what the kernel counted beyond what memtrace saw (and holds for the new
        // image) was taken by get_user_pages copying the arguments, without a tracepoint.
        uint64_t seen = w.baseline_faults + w.faults + w.untraced_total() + e.held_faults;
        seen = seen > w.signal_faults ? seen - w.signal_faults : 0;  // seen, but not the kernel's
        if (kernel_now > seen)
            w.untraced[0] += kernel_now - seen;
        break;
    }
    case ProcessEvent::Kind::Exited: {
        const auto x = e.record.as<mt_exit>();
        Window& w = windows_[pid];
        w.final_known = true;
        w.final_faults = x.minflt + x.majflt;
        break;
    }
    }
}

void KernelCheck::on_kernel_final(const mt_kernel_final& f, const Process* process)
{
    if (!process)
        return;
    Window& w = windows_[process->pid];
    w.final_known = true;
    w.final_faults = f.faults;
}

ProcessRow KernelCheck::row_of(const Process& p, const Window& w) const
{
    ProcessRow row;
    row.pid = p.pid;
    row.comm = p.comm;
    row.alive = p.alive;
    row.faults = w.faults;
    row.untraced_faults = w.untraced_total();
    row.untraced_by_cause = w.untraced;
    row.signal_faults = w.signal_faults;
    // A final count below the baseline means one end is wrong: say unknown, never wrap.
    row.kernel_known = w.baseline_known && w.final_known && w.final_faults >= w.baseline_faults;
    row.kernel_exact = w.baseline_exact;
    row.kernel_baseline = w.baseline_from_fork ? "fork" : "exec";
    if (row.kernel_known)
        row.kernel_faults = w.final_faults - w.baseline_faults;
    return row;
}

void KernelCheck::compact(const ProcessRow& row)
{
    if (exited_rows_.size() < kMaxExitedRows) {
        exited_rows_.push_back(row);
        return;
    }
    ++exited_overflow_count_;
    exited_overflow_.alive = false;
    exited_overflow_.faults += row.faults;
    exited_overflow_.untraced_faults += row.untraced_faults;
    for (size_t i = 0; i < row.untraced_by_cause.size(); ++i)
        exited_overflow_.untraced_by_cause[i] += row.untraced_by_cause[i];
    exited_overflow_.signal_faults += row.signal_faults;
    exited_overflow_.kernel_known =
        exited_overflow_count_ == 1 ? row.kernel_known : exited_overflow_.kernel_known && row.kernel_known;
    exited_overflow_.kernel_exact = exited_overflow_.kernel_known;
    exited_overflow_.kernel_baseline = "fork";
    exited_overflow_.kernel_faults += row.kernel_faults;
}

void KernelCheck::report(Report& r, const ReportContext& context)
{
    const ProcessTable& table = context.processes;
    std::vector<uint32_t> compacted;
    for (uint32_t pid : table.pids()) {
        const Process& p = *table.find(pid);
        if (!p.traced)
            continue;
        r.processes.push_back(row_of(p, windows_[pid]));
        if (p.clear_at_report && pid != table.first_pid())
            compacted.push_back(pid);
    }
    r.processes.insert(r.processes.end(), exited_rows_.begin(), exited_rows_.end());
    if (exited_overflow_.faults || exited_overflow_count_) {
        r.processes.push_back(exited_overflow_);
        r.processes.back().comm = fmt::format("({} more exited processes)", exited_overflow_count_);
    }
    // Exited children leave the table after this report: a -f trace of a build that starts
    // thousands of processes keeps a row for each (up to kMaxExitedRows, then one row for the
    // rest), not their state.
    for (uint32_t pid : compacted) {
        compact(row_of(*table.find(pid), windows_[pid]));
        windows_.erase(pid);
    }
}

}  // namespace memtrace
