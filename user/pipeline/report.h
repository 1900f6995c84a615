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

// --stacks: one user stack and how often it was seen, frames root first.
struct StackRow {
    std::string comm;
    std::vector<std::string> frames;
    uint64_t count = 0;
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
    std::vector<StackRow> fault_stacks, brk_stacks, mmap_stacks;  // the most frequent first
    uint64_t stack_faults = 0;          // faults whose stack was counted
    uint64_t shallow_stack_faults = 0;  // of which the stack had at most 2 frames
    uint64_t stacks_lost = 0;           // not counted: the kernel's table was full
    uint64_t stack_collisions = 0;      // counted, but the stack itself was not kept (hash bucket taken)

    // The pictures (pipeline/pictures.h): the pictured process's layout now and its segments'
    // faults over the last intervals, at every report; the whole trace in time buckets, in the
    // final report only.
    std::vector<LayoutRegion> layout;  // in address order
    SegmentHeat segment_heat;
    Timeline timeline;
};

}  // namespace memtrace
