// The kernel-facing layer: loads memtrace's BPF programs, attaches them, and hands every
// ring-buffer record to a callback. RAII: destroying it detaches everything.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

struct memtrace_bpf;
struct ring_buffer;
struct bpf_link;

namespace memtrace {

struct BpfOptions {
    uint32_t target_tgid = 0;
    bool follow_forks = false;
    bool wait_for_exec = false;  // the target is a launched command held before its exec
    uint32_t ringbuf_bytes = 8 << 20;  // power of two
    bool verbose = false;               // show libbpf's own log
};

struct KernelCounters {
    uint64_t faults = 0, major = 0, dropped = 0;
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
    // Hands waiting records to the handler, at most a batch per call so that a producer as fast as
    // the consumer cannot keep the caller from its timers and signals; rethrows what the handler
    // threw. Returns true when records may still be waiting.
    bool consume();
    KernelCounters counters() const;

private:
    static int on_record(void* ctx, void* data, size_t size);
    void attach_major_fault_events();

    struct SkeletonDeleter {
        void operator()(memtrace_bpf* skel) const;
    };
    struct RingBufferDeleter {
        void operator()(ring_buffer* rb) const;
    };
    struct LinkDeleter {
        void operator()(bpf_link* link) const;
    };

    RecordHandler handler_;
    std::exception_ptr handler_error_;
    size_t consumed_in_call_ = 0;  // records handled by the current consume()
    std::unique_ptr<memtrace_bpf, SkeletonDeleter> skel_;
    std::vector<std::unique_ptr<bpf_link, LinkDeleter>> perf_links_;
    std::unique_ptr<ring_buffer, RingBufferDeleter> ring_;
};

}  // namespace memtrace
