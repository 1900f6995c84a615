// The kernel-facing layer: loads memtrace's BPF programs, attaches them, and hands every
// ring-buffer record to a callback. RAII: destroying it detaches everything.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <linux/types.h>

#include "kernel/bpf_support.h"
#include "memtrace/events.h"
#include "stream/record.h"

struct memtrace_bpf;
struct ring_buffer;
struct bpf_link;
struct bpf_program;

namespace memtrace {

// Where faults come from: the x86 page-fault tracepoints (cheapest), or the software perf event
// PERF_COUNT_SW_PAGE_FAULTS on every CPU (every architecture has it).
enum class FaultSource { Auto, Tracepoint, PerfEvent };

struct BpfOptions {
    FaultSource fault_source = FaultSource::Auto;
    uint32_t overflow_pages = 65536;    // the kernel's per-page table for faults the ring had no room for
    uint32_t target_tgid = 0;
    bool follow_forks = false;
    bool wait_for_exec = false;  // the target is a launched command held before its exec
    uint32_t ringbuf_bytes = 8 << 20;  // power of two
    bool measure_latency = false;       // a completion record per fault (PAGE_FAULTS_MIN perf event too)
    bool record_stacks = false;         // stack samples of brk, mmap, munmap, mremap (and faults:)
    uint32_t stack_sample_period = 0;   // one fault in this many on each CPU gets one (0: none)
    bool verbose = false;               // show libbpf's own log
};

class BpfTracer {
public:
    using RecordHandler = std::function<void(const void* data, size_t size)>;

    // Opens, configures, loads and attaches; throws std::runtime_error with a one-line message.
    BpfTracer(const BpfOptions& options, RecordHandler handler);
    ~BpfTracer();
    BpfTracer(const BpfTracer&) = delete;
    BpfTracer& operator=(const BpfTracer&) = delete;

    // Pollable descriptor that becomes readable when records are waiting.
    int ring_fd() const;
    // The source in use (Auto resolved).
    FaultSource fault_source() const { return fault_source_; }
    // Hands waiting records to the handler, at most a batch per call so that a producer as fast as
    // the consumer cannot keep the caller from its timers and signals; rethrows what the handler
    // threw. Returns true when records may still be waiting.
    bool consume();
    // The per-CPU counters (enum mt_counter), summed; the header is left for the caller.
    mt_counters counters() const;
    // Takes the per-page fault counts kept while the ring buffer was full out of the kernel.
    std::vector<mt_overflow> drain_overflow();

private:
    static int on_record(void* ctx, void* data, size_t size);

    struct SkeletonDeleter {
        void operator()(memtrace_bpf* skel) const;
    };
    struct RingBufferDeleter {
        void operator()(ring_buffer* rb) const;
    };

    FaultSource fault_source_ = FaultSource::Tracepoint;
    RecordHandler handler_;
    std::exception_ptr handler_error_;
    size_t consumed_in_call_ = 0;  // records handled by the current consume()
    std::unique_ptr<memtrace_bpf, SkeletonDeleter> skel_;
    std::vector<Link> perf_links_;
    std::unique_ptr<ring_buffer, RingBufferDeleter> ring_;
};

}  // namespace memtrace
