#include "source/live_session.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include "kernel/bpf_tracer.h"
#include "kernel/preflight.h"
#include "pipeline/pipeline.h"
#include "source/proc_probe.h"
#include "source/session_signals.h"
#include "source/synthesizer.h"

namespace memtrace {
namespace {

enum : uint64_t { kRing, kSignal, kTarget, kKeys };

void watch(int epoll_fd, int fd, uint64_t tag)
{
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

uint64_t seconds_to_ns(double s) { return static_cast<uint64_t>(s * 1e9); }

}  // namespace

uint64_t monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

LiveSession::LiveSession(const LiveOptions& o, RecordSink sink, const Pipeline& pipeline)
    : options_(o), pipeline_(pipeline), probe_(std::make_unique<ProcProbe>()),
      synth_(std::make_unique<Synthesizer>(*probe_, std::move(sink)))
{
    if (o.pid)
        check_traceable_pid(o.pid);  // "no process with pid N" and friends, before anything else
    preflight_or_throw();
    target_ = static_cast<uint32_t>(o.pid);
    if (!o.command.empty()) {
        child_ = std::make_unique<LaunchedCommand>(o.command, o.command_output, o.run_as);
        target_ = static_cast<uint32_t>(child_->pid());
        comm_ = o.command[0].substr(o.command[0].rfind('/') + 1);
    }

    signals_ = std::make_unique<SessionSignals>();

    BpfOptions bpf;
    bpf.target_tgid = target_;
    bpf.follow_forks = o.follow;
    bpf.wait_for_exec = child_ != nullptr;
    bpf.ringbuf_bytes = o.ringbuf_mib << 20;
    bpf.measure_latency = o.latency;
    bpf.record_stacks = o.stacks;
    bpf.stack_sample_period = o.stack_sample_period;
    bpf.verbose = o.verbose;
    bpf.fault_source = static_cast<FaultSource>(o.fault_source);
    bpf.overflow_pages = o.overflow_pages;
    tracer_ = std::make_unique<BpfTracer>(bpf, [this](const void* data, size_t size) { synth_->kernel_record(data, size); });

    const uint64_t start = monotonic_ns();
    synth_->trace_start(start, target_,
                        (o.latency ? MT_TRACE_LATENCY : 0) | (o.stacks ? MT_TRACE_STACKS : 0) |
                            (o.follow ? MT_TRACE_FOLLOW : 0) |
                            (tracer_->fault_source() == FaultSource::PerfEvent ? MT_TRACE_PERF_FAULTS : 0));
    if (child_) {
        synth_->attach_launched(target_, comm_, stack_limit_of(static_cast<int>(target_)), start);
    } else {
        try {
            synth_->attach(target_, start);
            comm_ = pipeline.processes().find(target_) ? pipeline.processes().find(target_)->comm : comm_;
        } catch (const std::runtime_error&) {
            exited_while_attaching_ = true;  // checked a moment ago, gone now: say so, show what came
        }
    }
    target_fd_ = static_cast<int>(syscall(SYS_pidfd_open, target_, 0));
    if (target_fd_ < 0)
        exited_while_attaching_ = true;
    if (child_)
        child_->release();
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    watch(epoll_fd_, tracer_->ring_fd(), kRing);
    watch(epoll_fd_, signals_->fd(), kSignal);
    if (target_fd_ >= 0)
        watch(epoll_fd_, target_fd_, kTarget);
}

LiveSession::~LiveSession()
{
    for (int fd : {target_fd_, epoll_fd_})
        if (fd >= 0)
            close(fd);
}

void LiveSession::refresh_kernel_tables(uint64_t now)
{
    // Faults counted in the kernel while the ring was full are placed with the model once every
    // record made before them is in (bounded: a storm must not keep the report from coming).
    for (int batch = 0; batch < 64 && tracer_->consume(); ++batch) {
    }
    synth_->overflow(tracer_->drain_overflow(), now);
    synth_->counters(tracer_->counters(), now);
    // Resident memory from the kernel's own counters, once an interval: a program on
    // kmem:rss_stat would run on every fault. A process's peak at exit is in its exit record.
    synth_->resident(pipeline_.processes().live_pids(), now);
}

uint32_t LiveSession::run(const LiveHooks& hooks)
{
    if (hooks.keys_fd >= 0)
        watch(epoll_fd_, hooks.keys_fd, kKeys);
    const uint64_t start = pipeline_.origin_ns();
    const uint64_t interval = seconds_to_ns(options_.interval_s);
    const std::optional<uint64_t> end_at =
        options_.duration_s > 0 ? std::optional<uint64_t>(start + seconds_to_ns(options_.duration_s)) : std::nullopt;
    uint64_t next_tick = start + interval;
    target_exited_ = exited_while_attaching_;
    bool stop = exited_while_attaching_;
    uint32_t reason = MT_END_TARGET_EXITED;
    while (!stop) {
        uint64_t wake = end_at ? std::min(next_tick, *end_at) : next_tick;
        uint64_t now = monotonic_ns();
        // Records are submitted without a wakeup until a batch is pending: never sleep long.
        int timeout = static_cast<int>(std::min<uint64_t>(wake > now ? (wake - now) / 1000000 : 0, 100));
        epoll_event events[4];
        int n = epoll_wait(epoll_fd_, events, 4, timeout);
        if (n < 0 && errno != EINTR)
            throw std::runtime_error(fmt::format("epoll_wait: {}", strerror(errno)));
        for (int i = 0; i < n; ++i) {
            switch (events[i].data.u64) {
            case kSignal:
                if (std::optional<uint32_t> end = signals_->read(hooks.resized)) {
                    stop = true;
                    reason = *end;
                }
                break;
            case kTarget:
                target_exited_ = true;
                // The exited process is a zombie until reaped (a launched command is reaped only
                // below): /proc/PID/stat then sums every thread, which the BPF program's count at
                // the last thread's exit can miss (a zombie leader's own faults).
                if (std::optional<ProcessFacts> f = probe_->facts(target_))
                    final_from_proc_ = f->faults;  // nullopt when unreadable
                epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, target_fd_, nullptr);
                break;
            case kKeys:
                if (hooks.keys_quit && hooks.keys_quit()) {
                    stop = true;
                    reason = MT_END_QUIT;
                }
                break;
            }
        }
        tracer_->consume();
        if (target_exited_ && (!options_.follow || pipeline_.processes().live_processes() == 0)) {
            stop = true;
            reason = options_.follow ? MT_END_ALL_EXITED : MT_END_TARGET_EXITED;
        }
        now = monotonic_ns();
        if (end_at && now >= *end_at) {
            stop = true;
            reason = MT_END_DURATION;
        }
        if (!stop && now >= next_tick) {
            refresh_kernel_tables(now);
            synth_->tick(now, false);
            while (next_tick <= now)
                next_tick += interval;
        }
    }
    finish(reason);
    return reason;
}

void LiveSession::finish(uint32_t reason)
{
    // Drain what is still in the ring, then the kernel's counts that close each comparison.
    while (tracer_->consume()) {
    }
    const uint64_t now = monotonic_ns();
    if (final_from_proc_)
        synth_->kernel_final(target_, *final_from_proc_, now);
    if (child_ && target_exited_)
        child_->reap(true);
    if (!target_exited_ && !child_)
        if (std::optional<ProcessFacts> f = probe_->facts(target_); f && f->faults)  // still running: its count now
            synth_->kernel_final(target_, *f->faults, now);
    refresh_kernel_tables(now);
    synth_->tick(now, true, reason);
}

}  // namespace memtrace
