#include "output/render_text.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "output/format_util.h"

namespace memtrace {

void render_log2_histogram(std::ostream& out, const Log2Histogram& h, const std::string& unit)
{
    int first = h.first_bucket(), last = h.last_bucket();
    if (first < 0)
        return;
    uint64_t max = 0;
    for (int i = first; i <= last; ++i)
        max = std::max(max, h.count(i));
    const int stars = 40;
    fmt::print(out, "{:>24} : count    distribution\n", unit);
    for (int i = first; i <= last; ++i) {
        uint64_t c = h.count(i);
        int n = static_cast<int>(c * stars / max);
        std::string row = std::string(n, '*') + std::string(stars - n, ' ');
        fmt::print(out, "{:>10} -> {:<10} : {:<8} |{}|\n", Log2Histogram::bucket_low(i),
                   Log2Histogram::bucket_high(i), c, row);
    }
}

namespace {

// What the kernel counted beside memtrace's count, and every cause of a difference memtrace can
// see named: faults the kernel took without a tracepoint, and faults that ended in a signal.
std::string kernel_comparison(const ProcessRow& p)
{
    if (!p.kernel_known)
        return "kernel count unknown (process still running at the end)";
    std::string line = fmt::format("kernel counted {} (minflt+majflt since {})", with_commas(p.kernel_faults),
                                   p.kernel_exact ? p.kernel_baseline : "attach, read from /proc");
    static const char* const causes[MT_UNTRACED_CAUSE_MAX] = {
        "in exec without a tracepoint (get_user_pages)", "in a failed execve (get_user_pages)",
        "by MADV_POPULATE_READ/WRITE (get_user_pages)", "by mmap with MAP_POPULATE or MAP_LOCKED (get_user_pages)",
        "by mlock (get_user_pages)"};
    std::vector<std::string> parts;
    for (size_t i = 0; i < p.untraced_by_cause.size(); ++i)
        if (p.untraced_by_cause[i])
            parts.push_back(fmt::format("{} {}", with_commas(p.untraced_by_cause[i]), causes[i]));
    for (size_t i = 0; i < parts.size(); ++i)
        line += (i == 0 ? ", of which " : ", ") + parts[i];
    if (p.signal_faults)
        line += fmt::format("; {} of memtrace's faults ended in SIGSEGV/SIGBUS, which the kernel does not count",
                            with_commas(p.signal_faults));
    int64_t difference = static_cast<int64_t>(p.faults + p.untraced_faults) - static_cast<int64_t>(p.signal_faults) -
                         static_cast<int64_t>(p.kernel_faults);
    if (difference)
        line += fmt::format(", difference {:+} (unexplained)", difference);
    return line;
}

void render_process_lines(std::ostream& out, const Report& r)
{
    // With -f a build can start thousands of processes: the busiest ones, then a count.
    constexpr size_t kMaxRows = 20;
    std::vector<const ProcessRow*> rows;
    for (const ProcessRow& p : r.processes)
        rows.push_back(&p);
    if (rows.size() > kMaxRows) {
        std::stable_sort(rows.begin(), rows.end(),
                         [](const ProcessRow* a, const ProcessRow* b) { return a->faults > b->faults; });
        rows.resize(kMaxRows);
    }
    for (const ProcessRow* row : rows) {
        const ProcessRow& p = *row;
        fmt::print(out, "pid {} ({}){}: {} faults{}{}\n", p.pid, terminal_safe(p.comm), p.alive ? "" : " exited",
                   with_commas(p.faults), r.final ? "; " : "", r.final ? kernel_comparison(p) : std::string());
    }
    if (r.processes.size() > rows.size())
        fmt::print(out, "... and {} more processes (--json lists them all)\n", r.processes.size() - rows.size());
}

}  // namespace

void render_text(std::ostream& out, const Report& r)
{
    fmt::print(out, "{} at {:.1f}s: {} faults ({} in the last {:.1f}s), {} major, {} records dropped\n",
               r.final ? "Summary" : "Interval", r.elapsed_s, with_commas(r.faults), with_commas(r.interval_faults),
               r.interval_s, with_commas(r.major), with_commas(r.dropped));
    if (r.overflow_faults)
        fmt::print(out,
                   "  ({} faults came faster than memtrace read them: counted per page in the kernel and "
                   "attributed here{})\n",
                   with_commas(r.overflow_faults),
                   r.overflow_lost ? fmt::format(", {} of them in no table", with_commas(r.overflow_lost)) : "");
    if (r.dropped)
        fmt::print(out, "  ({} faults counted in the kernel; {} records lost, the counts above may miss some)\n",
                   with_commas(r.kernel_counted_faults), with_commas(r.dropped));
    render_process_lines(out, r);
    // Names come from the traced program: shown escaped, so that none can move the cursor, set the
    // title or split a row (a file named "x\x1b]0;owned\x07\n" is just a name here).
    std::vector<std::string> labels;
    size_t width = 7;
    for (const SegmentRow& s : r.segments) {
        labels.push_back(terminal_safe(s.label));
        width = std::max(width, display_width(labels.back()));
    }
    fmt::print(out, "{:<{}} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}\n", "SEGMENT", width, "FAULTS", "INTERVAL", "MINOR",
               "MAJOR", "WRITE", "KERNEL");
    for (size_t i = 0; i < r.segments.size(); ++i) {
        const SegmentRow& s = r.segments[i];
        fmt::print(out, "{:<{}} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}\n", labels[i], width, s.faults,
                   s.interval_faults, s.minor(), s.major, r.access_unknown ? "?" : std::to_string(s.writes),
                   s.kernel_mode);
    }
    if (r.access_unknown)
        fmt::print(out, "(faults from the software perf event: reads and writes are not told apart)\n");
    fmt::print(out, "heap: {} bytes at 0x{:x}, {} brk calls; mmap {}, munmap {}, mremap {}, mprotect {}\n",
               with_commas(r.heap_size), r.heap_start, r.brk_calls, r.mmap_calls, r.munmap_calls, r.mremap_calls,
               r.mprotect_calls);
    struct Named {
        const char* title;
        const char* unit;
        const Log2Histogram* h;
    };
    const Named hists[] = {{"mmap sizes", "bytes", &r.mmap_sizes},
                           {"brk increments (grow)", "bytes", &r.brk_grow},
                           {"brk decrements (shrink)", "bytes", &r.brk_shrink},
                           {"fault offsets in the heap", "offset", &r.heap_offsets},
                           {"fault depths in the main stack", "depth", &r.stack_depths}};
    for (const Named& n : hists) {
        if (n.h->empty())
            continue;
        fmt::print(out, "\n{}:\n", n.title);
        render_log2_histogram(out, *n.h, n.unit);
    }
    render_rss(out, r);
    render_sites(out, r);
    render_latency(out, r);
    render_stacks(out, r);
    render_crashes(out, r);
    fmt::print(out, "\n");
}

void render_rss(std::ostream& out, const Report& r)
{
    if (!r.rss_known)
        return;
    if (r.final && r.rss_anon + r.rss_file + r.rss_shmem == 0) {
        fmt::print(out, "resident: peak {} (the traced processes have exited)\n", human_bytes(r.rss_peak));
        return;
    }
    fmt::print(out, "resident: {} ({} anon, {} file, {} shmem; {} swapped), peak {}\n",
               human_bytes(r.rss_anon + r.rss_file + r.rss_shmem), human_bytes(r.rss_anon), human_bytes(r.rss_file),
               human_bytes(r.rss_shmem), human_bytes(r.rss_swap), human_bytes(r.rss_peak));
}

void render_sites(std::ostream& out, const Report& r)
{
    if (r.sites.empty())
        return;
    fmt::print(out, "\ntop fault sites (the faulting instruction; for kernel-mode faults, the system call's caller):\n");
    fmt::print(out, "{:>10}  {:<60} {}\n", "FAULTS", "LOCATION", "LAST SEGMENT");
    for (const SiteRow& s : r.sites)
        fmt::print(out, "{:>10}  {:<60} {}{}\n", with_commas(s.faults), terminal_safe(s.location),
                   terminal_safe(s.segment),
                   s.kernel_mode ? fmt::format(" ({} in the kernel)", with_commas(s.kernel_mode)) : "");
}

void render_latency(std::ostream& out, const Report& r)
{
    if (!r.latency)
        return;
    uint64_t timed = r.latency_minor_us.total() + r.latency_major_us.total();
    fmt::print(out, "\nfault latency, entry to completion: {} of {} faults timed ({} completions unmatched)\n",
               with_commas(timed), with_commas(r.faults), with_commas(r.latency_unmatched));
    if (!r.latency_minor_us.empty()) {
        fmt::print(out, "minor faults:\n");
        render_log2_histogram(out, r.latency_minor_us, "usecs");
    }
    if (!r.latency_major_us.empty()) {
        fmt::print(out, "major faults:\n");
        render_log2_histogram(out, r.latency_major_us, "usecs");
    }
    fmt::print(out, "{:<40} {:>10} {:>8} {:>8} {:>10} {:>8} {:>8}\n", "per segment (usecs)", "MINOR", "p50<=", "p99<=",
               "MAJOR", "p50<=", "p99<=");
    for (const SegmentRow& s : r.segments) {
        if (s.latency_minor_us.empty() && s.latency_major_us.empty())
            continue;
        auto q = [](const Log2Histogram& h, double p) {
            return h.empty() ? std::string("-") : with_commas(h.quantile_high(p));
        };
        fmt::print(out, "{:<40} {:>10} {:>8} {:>8} {:>10} {:>8} {:>8}\n", terminal_safe(s.label),
                   with_commas(s.latency_minor_us.total()), q(s.latency_minor_us, 0.5), q(s.latency_minor_us, 0.99),
                   with_commas(s.latency_major_us.total()), q(s.latency_major_us, 0.5), q(s.latency_major_us, 0.99));
    }
}

void render_stacks(std::ostream& out, const Report& r)
{
    if (!r.stacks)
        return;
    auto show = [&](const std::string& title, const std::vector<StackRow>& rows, const char* unit) {
        if (rows.empty())
            return;
        fmt::print(out, "\n{}:\n", title);
        for (const StackRow& row : rows) {
            std::string weight = unit ? human_bytes(row.count) : with_commas(row.count);
            fmt::print(out, "{:>10}  {}{}\n", weight, terminal_safe(row.comm),
                       unit ? fmt::format(" ({} {})", with_commas(row.calls), row.calls == 1 ? "call" : "calls") : "");
            // Leaf first, as a debugger shows a backtrace.
            for (auto it = row.frames.rbegin(); it != row.frames.rend(); ++it)
                fmt::print(out, "{:>12}{}\n", "", terminal_safe(*it));
        }
    };
    const bool estimated = r.stack_sample_period > 1;
    show(estimated ? fmt::format("top fault stacks (estimated: 1 fault in {} on each CPU sampled, counts scaled)",
                                 r.stack_sample_period)
                   : std::string("top fault stacks"),
         r.fault_stacks, nullptr);
    show("top brk stacks by bytes grown", r.brk_stacks, "bytes");
    show("top mmap stacks by bytes mapped", r.mmap_stacks, "bytes");
    if (r.truncated_stacks)
        fmt::print(out, "note: {} of {} fault stacks are deeper than the copied stack: they start at [truncated]\n",
                   with_commas(r.truncated_stacks), with_commas(r.stack_samples));
    if (r.stacks_lost)
        fmt::print(out, "note: {} stack samples lost: the ring buffer had no room for them\n",
                   with_commas(r.stacks_lost));
}

void render_crashes(std::ostream& out, const Report& r)
{
    for (const CrashRow& c : r.crashes) {
        fmt::print(out, "\n{} in pid {} (thread {}) at {:.3f}s, {} at 0x{:x}:\n  {}\n", c.signal, c.pid, c.tid,
                   c.time_s, c.code, c.addr, terminal_safe(c.explanation));
        if (!c.location.empty())
            fmt::print(out, "  faulting instruction: {} (ip 0x{:x})\n", terminal_safe(c.location), c.ip);
    }
}

}  // namespace memtrace
