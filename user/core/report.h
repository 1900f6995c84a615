// What every renderer draws: one plain value, built by TraceState::report() each interval.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "histogram.h"
#include "segments.h"

namespace memtrace {

struct SegmentRow {
    std::string label;
    SegmentKind kind = SegmentKind::Unmapped;
    uint64_t faults = 0, major = 0;
    uint64_t writes = 0, instr = 0, protection = 0, kernel_mode = 0;
    uint64_t interval_faults = 0;  // in the last interval
    uint64_t minor() const { return faults - major; }
};

struct ProcessRow {
    uint32_t pid = 0;
    std::string comm;
    bool alive = true;
    uint64_t faults = 0;  // memtrace's count since the kernel baseline below
    uint64_t untraced_faults = 0;  // counted by the kernel inside exec, without a tracepoint
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

    uint64_t faults = 0, major = 0, interval_faults = 0;
    uint64_t kernel_counted_faults = 0;  // BPF per-CPU counter: exact even when records are dropped
    uint64_t dropped = 0;                // records the ring buffer had no room for
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
};

}  // namespace memtrace
