// What every renderer draws: one plain value, built by the pipeline's analyses at each tick.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <linux/types.h>

#include "memtrace/events.h"
#include "pipeline/histogram.h"
#include "pipeline/pictures.h"
#include "model/segments.h"

namespace memtrace {

struct SegmentRow {
    SegmentId id = 0;  // in the trace's segment table (analyses join on it)
    std::string label;
    SegmentKind kind = SegmentKind::Unmapped;
    uint64_t faults = 0, major = 0;
    uint64_t writes = 0, instr = 0, protection = 0, kernel_mode = 0;
    uint64_t interval_faults = 0;  // in the last interval
    uint64_t minor() const { return faults - major; }
    // --latency: time from fault entry to the kernel accounting it, in microseconds.
    Log2Histogram latency_minor_us, latency_major_us;
};

// A code location that faults: where the faulting instruction is (for a fault the kernel took
// inside a system call, the instruction that made the call).
struct SiteRow {
    std::string location;  // "memset+0x40 [libc.so.6]", "main+0x1a (demo.c:42) [demo]"
    uint64_t faults = 0, kernel_mode = 0;
    std::string segment;   // what its latest fault hit
};

// A SIGSEGV or SIGBUS a traced thread received, explained (see crash_explainer.h).
struct CrashRow {
    uint32_t pid = 0, tid = 0;
    double time_s = 0;
    std::string signal, code;  // "SIGSEGV", "SEGV_MAPERR"
    std::string kind;          // crash_kind_name(): "stack-overflow", ...
    std::string explanation;
    uint64_t addr = 0, ip = 0;
    std::string location;      // the faulting instruction, symbolized
};

// --stacks: one user stack, frames root first, and what it weighs: faults (scaled by the sampling
// period), or bytes for brk and mmap; `calls` is how many samples it was seen in.
struct StackRow {
    std::string comm;
    std::vector<std::string> frames;
    uint64_t count = 0;
    uint64_t calls = 0;
};

struct ProcessRow {
    uint32_t pid = 0;
    std::string comm;
    bool alive = true;
    uint64_t faults = 0;  // memtrace's count since the kernel baseline below
    // Counted by the kernel without a tracepoint (get_user_pages), in all and by cause: [0] inside
    // a later exec, then by enum mt_untraced_cause.
    uint64_t untraced_faults = 0;
    std::array<uint64_t, MT_UNTRACED_CAUSE_MAX> untraced_by_cause{};
    // Faults memtrace saw that ended in SIGSEGV/SIGBUS: the kernel does not count failed faults.
    uint64_t signal_faults = 0;
    // The kernel's own minflt+majflt over the same span, when both ends are known.
    bool kernel_known = false;
    bool kernel_exact = false;  // baseline taken by the BPF program (not read from /proc)
    const char* kernel_baseline = "exec";  // when kernel_exact: "exec" or "fork"
    uint64_t kernel_faults = 0;
};

// -a, exporter: one process (or one cgroup, by_cgroup) as the kernel counted it. Faults by kind
// (enum mt_kind), user and kernel mode together; `interval_` ones since the last report.
struct ActivityRow {
    uint32_t pid = 0;          // 0 for a cgroup row
    std::string comm;          // "" for a cgroup row
    std::string cgroup;        // "/system.slice/x.service"; "" when unknown
    bool alive = true;
    uint32_t processes = 1;    // a cgroup row: processes in it (alive or exited during the trace)
    uint64_t faults = 0, major = 0, kernel_mode = 0;
    uint64_t interval_faults = 0, interval_major = 0;
    std::array<uint64_t, MT_KINDS> by_kind{}, interval_by_kind{};
    uint64_t brk_grown = 0, mmap_bytes = 0, interval_brk_grown = 0, interval_mmap_bytes = 0;
    bool rss_known = false;
    int64_t rss_bytes = 0;     // resident (anon + file + shmem) of the live processes
};

// The exporter's series: a bounded set of (cgroup, comm) groups, each counting every process of
// that cgroup and name since memtrace started (cumulative, so never decreasing). Groups are
// admitted in the order they appear until the bound; later ones count under comm and cgroup
// "other".
struct MetricGroup {
    std::string cgroup, comm;
    std::array<std::array<uint64_t, 2>, MT_KINDS> faults{};  // [kind][0: user, 1: kernel mode]
    std::array<std::array<uint64_t, 2>, MT_KINDS> major{};  // of which major
    uint64_t brk_grown = 0, mmap_bytes = 0;
    uint32_t live_processes = 0;
    int64_t rss_anon = 0, rss_file = 0, rss_shmem = 0, rss_swap = 0;  // bytes, of the live ones
};

struct Report {
    double elapsed_s = 0;
    double interval_s = 0;
    bool final = false;
    // Faults from the software perf event: no error code, so reads are not told from writes
    // (SegmentRow::writes and ::protection are 0; instruction fetches are still known).
    bool access_unknown = false;

    uint64_t faults = 0, major = 0, interval_faults = 0;
    uint64_t kernel_counted_faults = 0;  // BPF per-CPU counter: exact even when records are dropped
    uint64_t dropped = 0;                // records the ring buffer had no room for
    // Faults not streamed because the consumer fell behind: counted per page in the kernel and
    // attributed here, so totals and segments stay exact; `overflow_lost` found no room even there.
    uint64_t overflow_faults = 0, overflow_lost = 0;
    uint64_t malformed = 0;              // records that failed the size check

    std::vector<SegmentRow> segments;    // most faults first
    std::vector<ProcessRow> processes;

    // Heap (brk area) of the first traced process.
    uint64_t heap_start = 0, heap_size = 0;
    std::vector<uint64_t> heap_history;  // heap size at the end of each interval
    uint64_t brk_calls = 0, mmap_calls = 0, munmap_calls = 0, mremap_calls = 0, mprotect_calls = 0;

    Log2Histogram mmap_sizes;     // bytes
    Log2Histogram brk_grow;       // bytes
    Log2Histogram brk_shrink;     // bytes
    Log2Histogram heap_offsets;   // fault address - heap start, bytes
    Log2Histogram stack_depths;   // stack top - fault address, bytes

    // Fault sites, most faults first (--sites N of them).
    std::vector<SiteRow> sites;

    // --latency: every paired fault, and how the pairing went.
    bool latency = false;
    Log2Histogram latency_minor_us, latency_major_us;
    uint64_t latency_paired = 0;    // faults with a completion record of the same thread and page
    uint64_t latency_unmatched = 0; // completion records with no fault to pair with

    // Resident memory of the live traced processes (sampled from /proc/PID/status), bytes.
    bool rss_known = false;
    int64_t rss_anon = 0, rss_file = 0, rss_shmem = 0, rss_swap = 0;
    int64_t rss_peak = 0;  // highest anon + file + shmem seen
    std::vector<uint64_t> rss_history;  // anon + file + shmem at the end of each interval
    std::vector<uint64_t> rss_anon_history, rss_file_history, rss_shmem_history;

    std::vector<CrashRow> crashes;

    // --stacks
    bool stacks = false;
    // One fault in this many has its stack: fault stack counts are estimates when it is above 1.
    uint32_t stack_sample_period = 0;
    std::vector<StackRow> fault_stacks;            // the most faults first
    std::vector<StackRow> brk_stacks, mmap_stacks;  // the most bytes first
    uint64_t stack_samples = 0;       // fault stacks unwound
    uint64_t deep_stack_samples = 0;  // of which 5 frames or more
    uint64_t truncated_stacks = 0;    // stopped at the end of the copied stack or the frame limit
    uint64_t complete_stack_samples = 0;  // fault stacks unwound to the thread's first frame
    uint64_t call_stack_samples = 0;      // brk, mmap, munmap, mremap stacks unwound
    uint64_t complete_call_stack_samples = 0;  // of which down to the thread's first frame
    uint64_t stacks_lost = 0;         // stack samples the ring buffer had no room for

    // -a, --cgroup, --comm, exporter: faults counted in the kernel per process and kind.
    bool system_wide = false;
    std::vector<ActivityRow> activity;          // the busiest processes of the interval first
    std::vector<ActivityRow> cgroup_activity;   // the same by cgroup
    uint32_t activity_processes = 0;            // processes seen in all
    uint32_t activity_live = 0;                 // of which alive
    uint32_t activity_exited_in_interval = 0;   // started or not, they exited since the last report
    std::vector<MetricGroup> metric_groups;
    uint64_t metric_groups_folded = 0;          // processes counted under "other"
    bool kernel_latency = false;                // --latency with the kernel's histograms
    std::array<std::array<uint64_t, MT_LATENCY_BUCKETS>, 2> latency_ns_buckets{};  // [minor, major][log2 ns]
    std::array<uint64_t, 2> latency_ns_sum{};

    // The pictures (pipeline/pictures.h): the pictured process's layout now and its segments'
    // faults over the last intervals, at every report; the whole trace in time buckets, in the
    // final report only.
    std::vector<LayoutRegion> layout;  // in address order
    SegmentHeat segment_heat;
    Timeline timeline;
};

}  // namespace memtrace
