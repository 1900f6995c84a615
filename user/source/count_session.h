// The source of memtrace -a and memtrace exporter: loads the counting BPF object (CountTracer) and
// turns what it counts into records, once an interval: a process's counts when they changed (its
// last ones when it exited, after which the kernel forgets it), its cgroup's path the first time,
// resident memory, the latency histograms, the kernel's health counters, then the tick. Whatever
// consumes the stream (the pipeline, a trace file) sees only records.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "kernel/count_tracer.h"
#include "source/live_session.h"

namespace memtrace {

class SessionSignals;

struct CountSessionOptions {
    CountOptions kernel;
    double duration_s = 0;  // 0: until told to stop
    double interval_s = 1;
};

class CountSession {
public:
    using RecordSink = std::function<void(const void* data, size_t size)>;

    // Loads and attaches; sends the start of the stream. Throws std::runtime_error (one line).
    CountSession(const CountSessionOptions& options, RecordSink sink);
    ~CountSession();
    CountSession(const CountSession&) = delete;
    CountSession& operator=(const CountSession&) = delete;

    // Runs until the duration, a signal or the hooks say stop; the last record is the final tick.
    // Returns its enum mt_end_reason. `pause`, asked after the keys were read, may stop it for a
    // while instead (-a's table opening a process's view): then run() returns 0 with no final
    // tick, the kernel goes on counting, and the next run() goes on where this one stopped (its
    // first interval spans the pause; the duration still counts from the first run()).
    uint32_t run(const LiveHooks& hooks, const std::function<bool()>& pause = {});
    CountHealth health() const { return tracer_->health(); }

private:
    void emit_counts(uint64_t now, bool all_resident);
    void emit_cgroup(uint64_t id, uint64_t now);
    void emit(const void* data, size_t size) { sink_(data, size); }

    CountSessionOptions options_;
    RecordSink sink_;
    std::unique_ptr<CountTracer> tracer_;
    std::unique_ptr<SessionSignals> signals_;
    int epoll_fd_ = -1;
    std::unordered_map<uint32_t, mt_kind_counts> sent_;  // what each process's last record said
    std::unordered_set<uint64_t> cgroups_sent_;
    uint64_t ticks_ = 0;
    bool started_ = false, keys_watched_ = false;
    uint64_t end_at_ = 0, next_tick_ = 0;  // monotonic ns, from the first run()
    uint64_t counted_ = 0;  // faults the kernel counted, of every process so far
};

}  // namespace memtrace
