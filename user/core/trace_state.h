// Decodes ring-buffer records (with size checks), keeps each traced process's mapping model and
// attributes every fault to a segment. Pure: the kernel-facing layer feeds it bytes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include <linux/types.h>

#include "address_space.h"
#include "histogram.h"
#include "report.h"
#include "segments.h"
#include "memtrace/events.h"

namespace memtrace {

// Smallest size a record of `type` may have; 0 for an unknown type.
size_t record_min_size(uint16_t type);

// "/usr/lib/libc.so.6" from mt_mmap.path's leaf-first components "libc.so.6\0lib\0usr\0".
std::string path_from_components(const char* buf, size_t len);

struct ProcessState {
    ProcessState(uint32_t pid, SegmentTable& segments, ProcessSource& source) : pid(pid), space(segments, source) {}
    ProcessState(const ProcessState& parent, uint32_t child_pid)
        : pid(child_pid), comm(parent.comm), space(parent.space)
    {
    }

    uint32_t pid;
    std::string comm;
    AddressSpace space;
    bool alive = true;
    uint64_t faults = 0;  // since the kernel baseline
    // Faults the kernel counted that raised no tracepoint: get_user_pages copying the arguments
    // into the new stack during a later exec (measured at each exec from the kernel's counters).
    uint64_t untraced_faults = 0;
    bool baseline_known = false, baseline_exact = false, final_known = false;
    bool baseline_from_fork = false;
    uint64_t baseline_faults = 0, final_faults = 0;
    // A launched command: its faults count from its exec on (before it, it is memtrace's fork).
    bool wait_for_exec = false;
    // Between execve() entry and the exec record, faults are held until the new layout is known.
    bool exec_pending = false;
    struct HeldFault {
        mt_fault fault;
        bool major = false;  // its MAJOR record came while it was held
    };
    std::vector<HeldFault> held_faults;
    // The new image's mappings, sent by the BPF program just before its exec record.
    std::vector<MapsEntry> exec_layout;
};

class TraceState {
public:
    // Called for every decoded record after it was applied; `segment` is set for faults.
    using Observer = std::function<void(const mt_header&, SegmentId segment, const ProcessState&)>;

    TraceState(ProcessSource& source, uint64_t stack_limit = 8 << 20);

    // Starts tracing a process that already runs (-p): its layout comes from /proc now.
    ProcessState& attach(uint32_t pid, const std::string& comm);
    // Starts tracing a command memtrace forked and holds at a gate: it counts from its exec on.
    ProcessState& attach_launched(uint32_t pid, const std::string& comm);
    // Records the kernel's minflt+majflt for a process (baseline at attach, or final at the end).
    void set_kernel_baseline(uint32_t pid, uint64_t faults, bool exact);
    void set_kernel_final(uint32_t pid, uint64_t faults);
    // Marks the anonymous mapping holding `sp` as thread `tid`'s stack (threads found at attach).
    void label_thread_stack(uint32_t pid, uint32_t tid, uint64_t sp);

    // Applies one record. Returns false (and counts it) when the record is malformed.
    bool handle(const void* data, size_t size);

    void set_observer(Observer observer) { observer_ = std::move(observer); }
    void set_kernel_counters(uint64_t faults, uint64_t dropped)
    {
        kernel_faults_ = faults;
        dropped_ = dropped;
    }

    // Closes the current interval and returns what renderers draw.
    Report report(double elapsed_s, double interval_s, bool final);

    const SegmentTable& segments() const { return segments_; }
    const ProcessState* process(uint32_t pid) const;
    size_t live_processes() const;
    uint64_t faults() const { return faults_; }

private:
    struct SegmentCounters {
        uint64_t faults = 0, major = 0, writes = 0, instr = 0, protection = 0, kernel_mode = 0;
        uint64_t reported_faults = 0;  // `faults` at the previous report
    };
    // The last fault of a thread, so that a MAJOR record can find what it upgrades.
    struct LastFault {
        uint32_t tid = 0;
        SegmentId segment = 0;
        uint64_t page = 0;
    };

    ProcessState* find(uint32_t pid);
    ProcessState& get_or_create(uint32_t pid);
    // Counts the fault; returns the segment it was attributed to.
    SegmentId on_fault(const mt_fault& f, bool count_for_process = true);
    void on_major(const mt_major& m);
    void replay_held(ProcessState& p, bool count_for_process);
    void on_mmap(ProcessState& p, const mt_mmap& m);
    void on_exec(const mt_exec& e);
    MapsEntry maps_entry_of(ProcessState& p, const mt_mmap& vma);
    void on_fork(const mt_fork& f);
    void on_exit(const mt_exit& e);
    std::string resolve_path(ProcessState& p, const mt_mmap& m);

    ProcessSource& source_;
    uint64_t stack_limit_;
    SegmentTable segments_;
    std::vector<SegmentCounters> counters_;
    std::unordered_map<uint32_t, std::unique_ptr<ProcessState>> processes_;
    uint32_t first_pid_ = 0;
    ProcessState* last_process_ = nullptr;
    std::array<LastFault, 1024> last_fault_{};
    std::map<std::pair<uint32_t, uint64_t>, std::string> paths_;  // (dev, inode) -> path, from /proc
    Observer observer_;

    uint64_t faults_ = 0, major_ = 0, unmatched_major_ = 0, malformed_ = 0;
    uint64_t reported_faults_ = 0;
    uint64_t kernel_faults_ = 0, dropped_ = 0;
    uint64_t brk_calls_ = 0, mmap_calls_ = 0, munmap_calls_ = 0, mremap_calls_ = 0, mprotect_calls_ = 0;
    std::vector<uint64_t> heap_history_;
    Log2Histogram mmap_sizes_, brk_grow_, brk_shrink_, heap_offsets_, stack_depths_;
};

}  // namespace memtrace
