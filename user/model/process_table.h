// The traced processes and their mapping models, kept exact by the record stream: layouts at attach
// and exec, mmap/munmap/mremap/mprotect/brk/shm records, forks (one model per address space),
// exits. Every fault is attributed here to the segment it hit, as the model stands at that point of
// the stream, and handed on as an event to the analyses. Pure: it never reads /proc or a clock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <linux/types.h>

#include "analysis/analysis.h"
#include "memtrace/events.h"
#include "model/address_space.h"
#include "model/jit_symbols.h"
#include "model/object_table.h"
#include "model/segments.h"
#include "model/unmap_history.h"
#include "stream/record.h"

namespace memtrace {

// One address space. Processes that share it (threads aside: vfork, clone(CLONE_VM)) share this.
struct MemoryMap {
    MemoryMap(SegmentTable& segments, const ObjectTable& objects) : space(segments, objects) {}
    MemoryMap(const MemoryMap&) = default;  // fork() copies the address space
    AddressSpace space;
    UnmapHistory unmapped;
    JitSymbols jit;  // what a JIT runtime named in /tmp/perf-PID.map
};

struct Process {
    uint32_t pid = 0;
    std::string comm;
    bool alive = true;
    // False for a process that only shares a traced address space (vfork, clone(CLONE_VM) without
    // -f): its mapping calls are applied, it is not counted or shown.
    bool traced = true;
    std::shared_ptr<MemoryMap> memory;
    uint64_t stack_limit = 8 << 20;
    // The comparison with the kernel's counters has its start: at attach, fork, or the first exec.
    bool window_open = false;
    // A launched command: memtrace's own fork until its exec; its faults do not count till then.
    bool wait_for_exec = false;
    // Between execve() entry and the exec record, faults are held until the new layout is known.
    bool exec_pending = false;
    struct HeldFault {
        mt_fault fault;
        bool major = false;    // its MAJOR (or major FAULT_DONE) record came while it was held
        uint64_t done_ns = 0;  // --latency: when its FAULT_DONE record said it was handled
    };
    std::vector<HeldFault> held_faults;
    // The MT_REC_VMA records before an EXEC (or between ATTACH and LAYOUT): the layout to load.
    std::vector<MapsEntry> pending_layout;
    // Exited: the model is kept until the next report (stacks drained then still name their
    // frames), and dropped after it (long -f runs stay bounded).
    bool clear_at_report = false;

    const AddressSpace& space() const { return memory->space; }
    const UnmapHistory& unmapped() const { return memory->unmapped; }
    const JitSymbols& jit() const { return memory->jit; }
};

class ProcessTable {
public:
    // Called for every kernel record after it was applied (and for faults held over an exec when
    // they are replayed), with the segment of a fault: --events prints from it.
    using Observer = std::function<void(const Record&, SegmentId segment, const Process& process)>;

    explicit ProcessTable(Analysis& analyses);
    ProcessTable(const ProcessTable&) = delete;
    ProcessTable& operator=(const ProcessTable&) = delete;

    void handle(const Record& record);
    // After each report: exited processes give their models back.
    void after_report();
    void set_observer(Observer observer) { observer_ = std::move(observer); }

    const Process* find(uint32_t pid) const;
    // The trace's target (the first process it met), or null.
    const Process* first() const { return find(first_pid_); }
    uint32_t first_pid() const { return first_pid_; }
    std::vector<uint32_t> live_pids() const;
    std::vector<uint32_t> pids() const;  // every process in the table, sorted
    size_t live_processes() const;
    const SegmentTable& segments() const { return segments_; }
    const ObjectTable& objects() const { return objects_; }

private:
    // The last fault of a thread, so that a MAJOR or FAULT_DONE record can find what it completes.
    struct LastFault {
        uint32_t tid = 0;
        SegmentId segment = 0;
        uint64_t page = 0;
        uint64_t ts_ns = 0;
        bool done = false;
    };

    Process* lookup(uint32_t pid);
    Process& get_or_create(uint32_t pid);
    std::shared_ptr<MemoryMap> new_memory();

    void on_fault(const Record& r);
    void attribute_fault(Process* p, const mt_fault& f, const Record& r, bool counts_for_process);
    void on_fault_done(const Record& r);
    void complete_fault(const mt_major& m);
    void on_mapping(const Record& r);
    void on_vma(const Record& r);
    void on_resync(const Record& r);
    void on_attach(const Record& r);
    void on_layout(const Record& r);
    void on_exec(const Record& r);
    void replay_held(Process& p, bool counts_for_process);
    void on_fork(const Record& r);
    void on_exit(const Record& r);
    void on_overflow(const Record& r);
    void on_object(const Record& r);
    void remember_unmap(Process& p, uint64_t start, uint64_t end, uint64_t ts_ns, uint64_t started_ns = ~0ULL);
    void notify(const Record& r, SegmentId segment, const Process* p);

    Analysis& analyses_;
    Observer observer_;
    SegmentTable segments_;
    ObjectTable objects_;
    std::unordered_map<uint32_t, std::unique_ptr<Process>> processes_;
    uint32_t first_pid_ = 0;
    Process* last_process_ = nullptr;
    std::array<LastFault, 1024> last_fault_{};
};

// The mapping an MT_REC_VMA record describes, as /proc/PID/maps would show it.
MapsEntry maps_entry_of(const MmapRecord& vma);

}  // namespace memtrace
