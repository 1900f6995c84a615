#include "source/count_session.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/epoll.h>
#include <unistd.h>

#include <fmt/format.h>

#include "kernel/preflight.h"
#include "source/proc_status.h"
#include "source/session_signals.h"
#include "stream/record_builder.h"

namespace memtrace {
namespace {

enum : uint64_t { kSignal, kKeys };
constexpr uint64_t kAllResidentEvery = 10;  // ticks: every live process's resident memory

uint64_t seconds_to_ns(double s) { return static_cast<uint64_t>(s * 1e9); }

uint64_t fault_total(const mt_kind_counts& c)
{
    uint64_t n = 0;
    for (int k = 0; k < MT_KINDS; ++k)
        n += c.faults[k][0] + c.faults[k][1];
    return n;
}

template <typename T>
void zero_header(T& r, uint16_t type, uint32_t tgid, uint64_t ts)
{
    r.hdr = header(type, tgid, ts);
}

}  // namespace

CountSession::CountSession(const CountSessionOptions& options, RecordSink sink)
    : options_(options), sink_(std::move(sink))
{
    preflight_or_throw();
    signals_ = std::make_unique<SessionSignals>();
    tracer_ = std::make_unique<CountTracer>(options.kernel);
    mt_trace_start s{};
    s.hdr = header(MT_REC_TRACE_START, options.kernel.target_tgid, monotonic_ns());
    s.target_tgid = options.kernel.target_tgid;
    s.flags = MT_TRACE_COUNTED | (options.kernel.latency ? MT_TRACE_LATENCY : 0);
    emit(&s, sizeof(s));
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kSignal;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signals_->fd(), &ev);
}

CountSession::~CountSession()
{
    if (epoll_fd_ >= 0)
        close(epoll_fd_);
}

void CountSession::emit_cgroup(uint64_t id, uint64_t now)
{
    if (!id || cgroups_sent_.count(id))
        return;
    cgroups_sent_.insert(id);
    RecordBytes r = cgroup_record(now, id, cgroup_path_of(id));
    emit(r.data(), r.size());
}

void CountSession::emit_counts(uint64_t now, bool all_resident)
{
    for (const CountedProcess& p : tracer_->processes()) {
        const bool exited = p.info.flags & MT_PROCESS_EXITED;
        auto last = sent_.find(p.tgid);
        const bool changed = last == sent_.end() || std::memcmp(&last->second, &p.counts, sizeof(p.counts)) != 0;
        if (changed || exited) {
            emit_cgroup(p.info.cgroup_id, now);
            mt_process_counts c{};
            zero_header(c, MT_REC_PROCESS_COUNTS, p.tgid, now);
            c.hdr.flags = exited ? MT_PROCESS_EXITED : 0;
            c.cgroup_id = p.info.cgroup_id;
            std::memcpy(c.comm, p.info.comm, sizeof(c.comm));
            c.brk_grown = p.info.brk_grown;
            c.brk_shrunk = p.info.brk_shrunk;
            c.mmap_bytes = p.info.mmap_bytes;
            c.munmap_bytes = p.info.munmap_bytes;
            c.counts = p.counts;
            emit(&c, sizeof(c));
            const uint64_t before = last == sent_.end() ? 0 : fault_total(last->second), now_total = fault_total(p.counts);
            counted_ += now_total >= before ? now_total - before : now_total;  // a reused pid starts over
            sent_[p.tgid] = p.counts;
        }
        if (exited) {
            // Its last counts are out: the kernel's maps make room for others.
            tracer_->forget(p.tgid);
            sent_.erase(p.tgid);
            continue;
        }
        if (changed || all_resident) {
            if (std::optional<ResidentPages> rss = read_resident_pages(static_cast<int>(p.tgid))) {
                mt_rss r{};
                zero_header(r, MT_REC_RSS, p.tgid, now);
                r.anon = rss->anon;
                r.file = rss->file;
                r.shmem = rss->shmem;
                r.swap = rss->swap;
                r.peak = rss->peak;
                emit(&r, sizeof(r));
            }
        }
    }
    if (std::optional<mt_latency> l = tracer_->latency()) {
        l->hdr = header(MT_REC_LATENCY, 0, now);
        emit(&*l, sizeof(*l));
    }
    CountHealth h = tracer_->health();
    mt_counters c{};
    c.hdr = header(MT_REC_COUNTERS, 0, now);
    c.value[MT_CNT_FAULTS] = counted_;
    c.value[MT_CNT_OVERFLOW_LOST] = h.no_room;
    emit(&c, sizeof(c));
}

uint32_t CountSession::run(const LiveHooks& hooks, const std::function<bool()>& pause)
{
    if (hooks.keys_fd >= 0 && !keys_watched_) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kKeys;
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, hooks.keys_fd, &ev);
        keys_watched_ = true;
    }
    const uint64_t interval = seconds_to_ns(options_.interval_s);
    if (!started_) {
        const uint64_t start = monotonic_ns();
        end_at_ = options_.duration_s > 0 ? start + seconds_to_ns(options_.duration_s) : UINT64_MAX;
        next_tick_ = start + interval;
        started_ = true;
    }
    const uint64_t end_at = end_at_;
    uint64_t& next_tick = next_tick_;
    uint32_t reason = 0;
    while (!reason) {
        uint64_t now = monotonic_ns();
        uint64_t wake = std::min(next_tick, end_at);
        int timeout = static_cast<int>(std::min<uint64_t>(wake > now ? (wake - now) / 1000000 + 1 : 0, 1000));
        epoll_event events[2];
        int n = epoll_wait(epoll_fd_, events, 2, timeout);
        if (n < 0 && errno != EINTR)
            throw std::runtime_error(fmt::format("epoll_wait: {}", strerror(errno)));
        for (int i = 0; i < n && !reason; ++i) {
            if (events[i].data.u64 == kSignal) {
                if (std::optional<uint32_t> end = signals_->read(hooks.resized))
                    reason = *end;
            } else if (hooks.keys_quit && hooks.keys_quit()) {
                reason = MT_END_QUIT;
            } else if (pause && pause()) {
                return 0;
            }
        }
        now = monotonic_ns();
        if (!reason && now >= end_at)
            reason = MT_END_DURATION;
        if (!reason && now >= next_tick) {
            emit_counts(now, ++ticks_ % kAllResidentEvery == 0);
            mt_tick t{};
            t.hdr = header(MT_REC_TICK, 0, now);
            emit(&t, sizeof(t));
            next_tick += interval;
            if (next_tick <= now)  // ticks were missed (a pause): the next interval is a whole one
                next_tick = now + interval;
        }
    }
    const uint64_t now = monotonic_ns();
    emit_counts(now, true);
    mt_tick t{};
    t.hdr = header(MT_REC_TICK, 0, now);
    t.flags = MT_TICK_FINAL;
    t.end_reason = reason;
    emit(&t, sizeof(t));
    return reason;
}

}  // namespace memtrace
