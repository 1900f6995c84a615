// What the pictures are drawn from: the layout of the pictured process as it stands, the faults
// of its segments over the last intervals (the live view), and the whole trace in time buckets
// (the HTML page and the Perfetto trace). Plain values, built by the analyses
// (analysis/live_layout.h, analysis/timeline.h) from the record stream alone.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "model/segments.h"

namespace memtrace {

constexpr size_t kSegmentKinds = static_cast<size_t>(SegmentKind::Special) + 1;

// The parts of an address space in the order of the memory-layout diagram, low to high.
enum class LayoutArea : uint8_t {
    Program,   // the executable's sections: text, rodata, data, bss
    Heap,      // the brk area
    MmapArea,  // libraries, anonymous memory, mapped files, shared memory
    Stacks,    // thread stacks, then the main stack
    Kernel,    // [vdso], [vvar], [vsyscall]
    Unmapped,  // faults on no mapping
};

const char* layout_area_name(LayoutArea area);  // "program", "heap", "mmap area", ...
// `program`: a section of the pictured process's executable (not of a library).
LayoutArea layout_area_of(SegmentKind kind, bool program);

// One row of the layout diagram: a segment's span of one region, in address order.
struct LayoutRegion {
    uint64_t start = 0, end = 0;
    std::string label;   // segment label: "libc.so.6 .text", "heap", "anon"
    std::string object;  // base name of the mapped object for sections ("libc.so.6"), else empty
    SegmentKind kind = SegmentKind::Unmapped;
    SegmentId segment = 0;         // in the trace's segment table
    bool program = false;          // a section of the executable
    uint64_t interval_faults = 0;  // faults on it since the previous report
    // Heap: brk moved by this many bytes since the previous report. Stack: its deepest fault
    // went this many bytes deeper (the row's start is that fault's page when it is below the VMA).
    int64_t growth = 0;
};

// Faults per segment of the pictured process (a library's sections together) over the last
// intervals: the live heatmap.
struct SegmentHeat {
    std::vector<double> interval_ends_s;  // elapsed time at the end of each interval, oldest first
    struct Band {
        std::string label;
        SegmentKind kind = SegmentKind::Unmapped;
        LayoutArea area = LayoutArea::Unmapped;
        uint64_t low = 0;             // its lowest faulting address: the band's place in the layout
        std::vector<uint64_t> faults;  // one per interval, as interval_ends_s
    };
    std::vector<Band> bands;  // in layout order: area, then address
};

// The whole trace in fixed time buckets from its start. Buckets start 1 ms wide and double (two
// merged into one) whenever the trace outgrows kMaxBuckets, so a long trace stays bounded.
struct Timeline {
    static constexpr size_t kMaxBuckets = 256;

    uint64_t bucket_ns = 0;  // 0: nothing recorded
    size_t buckets = 0;      // buckets in use, from the trace's start to its last event
    double bucket_s() const { return bucket_ns / 1e9; }

    // The address x time heatmap of the pictured process: one band per segment (a library's
    // sections: one band), in layout order; each band's rows are the address ranges that faulted
    // (1 << row_shift bytes each, ascending), the ranges between them collapsed.
    uint32_t pid = 0;
    std::string comm;
    struct Band {
        std::string label;                  // "other segments" for the band past the bound
        std::vector<std::string> segments;  // the segments it holds
        SegmentKind kind = SegmentKind::Unmapped;
        LayoutArea area = LayoutArea::Unmapped;
        unsigned row_shift = 12;
        std::vector<uint64_t> rows;  // address >> row_shift of each row
        uint64_t faults = 0;
        uint64_t low() const { return rows.empty() ? 0 : rows.front() << row_shift; }
        uint64_t high() const { return rows.empty() ? 0 : (rows.back() + 1) << row_shift; }
    };
    std::vector<Band> bands;
    struct Cell {
        uint32_t bucket = 0, band = 0, row = 0;
        uint64_t faults = 0;
    };
    std::vector<Cell> cells;  // the non-empty ones, by bucket, band, row

    // Faults per segment (every traced process), the busiest kMaxSegmentSeries and the rest as one.
    static constexpr size_t kMaxSegmentSeries = 12;
    struct SegmentSeries {
        std::string label;  // "other segments" for the rest
        SegmentKind kind = SegmentKind::Unmapped;
        uint64_t faults = 0;
        std::vector<uint64_t> per_bucket;
    };
    std::vector<SegmentSeries> segments;  // most faults first; the rest last

    // Per traced process (the first kMaxProcesses): faults by segment kind, heap and resident
    // memory at the end of each bucket (-1: not known there; a known value holds until the next).
    static constexpr size_t kMaxProcesses = 64;
    struct Process {
        uint32_t pid = 0;
        std::string comm;
        std::vector<uint32_t> tids;  // the threads seen, the first kMaxThreads
        std::vector<std::array<uint64_t, kSegmentKinds>> faults;
        std::vector<int64_t> heap, rss_anon, rss_file, rss_shmem;  // bytes
        // It exited (its memory went with it; its heap stays as it last was, as in the report).
        bool exited = false;
        uint64_t exit_ns = 0;  // since the trace's start
    };
    static constexpr size_t kMaxThreads = 64;
    std::vector<Process> processes;
    uint64_t processes_not_kept = 0;

    // Address-space calls and crashes: every one counted per bucket, the first kMaxMarkers kept.
    enum class MarkerKind : uint8_t { Mmap, Munmap, Brk, Exec, Crash };
    static constexpr size_t kMarkerKinds = 5;
    struct Marker {
        MarkerKind kind = MarkerKind::Mmap;
        uint64_t ts_ns = 0;  // since the trace's start
        uint32_t pid = 0, tid = 0;
        uint64_t addr = 0, len = 0;  // brk: old break, new break
        std::string text;            // exec: the new comm; crash: signal and kind; mmap: the segment
    };
    static constexpr size_t kMaxMarkers = 4096;
    std::vector<Marker> markers;  // in stream order
    uint64_t markers_not_kept = 0;
    std::vector<std::array<uint64_t, kMarkerKinds>> marker_counts;  // per bucket
};

const char* marker_kind_name(Timeline::MarkerKind kind);  // "mmap", "munmap", "brk", "exec", "crash"

}  // namespace memtrace
