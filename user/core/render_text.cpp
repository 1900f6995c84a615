#include "render_text.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "format_util.h"

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
        std::string kernel = "kernel count unknown (process still running at the end)";
        if (p.kernel_known) {
            int64_t difference = static_cast<int64_t>(p.faults + p.untraced_faults) -
                                 static_cast<int64_t>(p.kernel_faults);
            kernel = fmt::format("kernel counted {} (minflt+majflt since {})", with_commas(p.kernel_faults),
                                 p.kernel_exact ? p.kernel_baseline : "attach, read from /proc");
            if (p.untraced_faults)
                kernel += fmt::format(", of which {} in exec without a tracepoint (get_user_pages)",
                                      with_commas(p.untraced_faults));
            if (difference)
                kernel += fmt::format(", difference {:+}", difference);
        }
        if (!r.final)
            kernel.clear();
        fmt::print(out, "pid {} ({}){}: {} faults{}{}\n", p.pid, p.comm, p.alive ? "" : " exited",
                   with_commas(p.faults), kernel.empty() ? "" : "; ", kernel);
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
    if (r.dropped)
        fmt::print(out, "  ({} faults counted in the kernel; per-segment counts miss the dropped records)\n",
                   with_commas(r.kernel_counted_faults));
    render_process_lines(out, r);
    size_t width = 7;
    for (const SegmentRow& s : r.segments)
        width = std::max(width, display_width(s.label));
    fmt::print(out, "{:<{}} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}\n", "SEGMENT", width, "FAULTS", "INTERVAL", "MINOR",
               "MAJOR", "WRITE", "KERNEL");
    for (const SegmentRow& s : r.segments)
        fmt::print(out, "{:<{}} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}\n", s.label, width, s.faults, s.interval_faults,
                   s.minor(), s.major, s.writes, s.kernel_mode);
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
    fmt::print(out, "\n");
}

}  // namespace memtrace
