// What the process table tells the analyses, and what an analysis is. Each analysis consumes the
// attributed events it cares about and writes its part of the report; the pipeline registers them
// in one list (pipeline/pipeline.cpp). Events hold references valid during the call only.
#pragma once

#include <cstdint>

#include <linux/types.h>

#include "memtrace/events.h"
#include "model/segments.h"
#include "pipeline/report.h"
#include "stream/record.h"

namespace memtrace {

struct Process;
class ProcessTable;

struct FaultEvent {
    const mt_fault& fault;
    SegmentId segment;
    const Process* process;   // null: a process the trace does not know
    bool counts_for_process;  // false for faults held over a first exec (the kernel's baseline has them)
};

// A MAJOR or FAULT_DONE record: the thread's last fault was handled, and how.
struct FaultDoneEvent {
    const mt_major& done;
    bool major;
    bool paired;            // matched to the thread's last fault record on the same page
    SegmentId segment;      // of that fault, when paired
    bool timed;             // FAULT_DONE, paired, and not before its fault: latency_ns is the time taken
    uint64_t latency_ns;
};

// Faults of one page counted in the kernel while the ring buffer was full, placed by the model.
struct OverflowEvent {
    const mt_overflow& page;
    SegmentId segment;
    const Process* process;
};

// An mmap, munmap, mremap, mprotect, brk, shmat or shmdt record, after the model applied it.
struct MappingEvent {
    const Record& record;
    const Process& process;
};

struct ProcessEvent {
    enum class Kind { Attached, Exec, Forked, Exited };
    Kind kind;
    const Record& record;
    const Process& process;
    size_t held_faults = 0;  // Exec: faults held since execve() entry, replayed after this event
};

struct SignalEvent {
    const mt_signal& signal;
    const Process& process;
};

// The interval that ends: times from the trace's ticks, never from a clock.
struct ReportContext {
    double elapsed_s = 0, interval_s = 0;
    bool final = false;
    const ProcessTable& processes;
};

class Analysis {
public:
    virtual ~Analysis() = default;

    virtual void on_trace_start(const mt_trace_start&) {}
    virtual void on_fault(const FaultEvent&) {}
    virtual void on_fault_done(const FaultDoneEvent&) {}
    virtual void on_overflow(const OverflowEvent&) {}
    virtual void on_mapping(const MappingEvent&) {}
    virtual void on_process(const ProcessEvent&) {}
    virtual void on_signal(const SignalEvent&) {}
    virtual void on_counters(const mt_counters&) {}
    virtual void on_rss(const mt_rss&, const Process*) {}
    virtual void on_stack_sample(const StackSampleRecord&, const Process&) {}
    virtual void on_kernel_final(const mt_kernel_final&, const Process*) {}
    virtual void on_untraced(const mt_untraced&, const Process*) {}
    // -a, exporter: what the kernel counted (no Process: these processes have no model).
    virtual void on_process_counts(const mt_process_counts&) {}
    virtual void on_cgroup(const CgroupRecord&) {}
    virtual void on_latency_histogram(const mt_latency&) {}

    // Writes this analysis's part of the report of the interval that ends now.
    virtual void report(Report& out, const ReportContext& context) = 0;
};

}  // namespace memtrace
