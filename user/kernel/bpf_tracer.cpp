#include "kernel/bpf_tracer.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/perf_event.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "memtrace.skel.h"
#include "kernel/bpf_support.h"
#include "memtrace/events.h"

namespace memtrace {
namespace {

constexpr size_t kBatch = 1 << 16;
constexpr int kBatchFull = -EAGAIN;  // on_record's "stop here, more to come" (the record is consumed)

// True when this kernel has the x86 page-fault tracepoints (their tp_btf typedef is in its BTF).
bool has_page_fault_tracepoints()
{
    btf* vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux)
        return false;
    bool found = btf__find_by_name_kind(vmlinux, "btf_trace_page_fault_user", BTF_KIND_TYPEDEF) > 0 &&
                 btf__find_by_name_kind(vmlinux, "btf_trace_page_fault_kernel", BTF_KIND_TYPEDEF) > 0;
    btf__free(vmlinux);
    return found;
}

}  // namespace

void BpfTracer::SkeletonDeleter::operator()(memtrace_bpf* skel) const { memtrace_bpf__destroy(skel); }
void BpfTracer::RingBufferDeleter::operator()(ring_buffer* rb) const { ring_buffer__free(rb); }

BpfTracer::BpfTracer(const BpfOptions& options, RecordHandler handler) : handler_(std::move(handler))
{
    route_libbpf_log(options.verbose);

    skel_.reset(memtrace_bpf__open());
    if (!skel_)
        throw libbpf_error("cannot open the BPF object", errno);
    skel_->rodata->target_tgid = options.target_tgid;
    skel_->rodata->follow_forks = options.follow_forks;
    skel_->rodata->wait_for_exec = options.wait_for_exec;
    skel_->rodata->measure_latency = options.measure_latency;
    skel_->rodata->record_stacks = options.record_stacks;
    skel_->rodata->stack_sample_period = options.record_stacks ? options.stack_sample_period : 0;
    fault_source_ = options.fault_source;
    if (fault_source_ == FaultSource::Auto)
        fault_source_ = has_page_fault_tracepoints() ? FaultSource::Tracepoint : FaultSource::PerfEvent;
    const bool perf_faults = fault_source_ == FaultSource::PerfEvent;
    skel_->rodata->faults_from_perf_event = perf_faults;
    // Only the fault programs of the source in use are loaded (the other's hook may not exist).
    bpf_program__set_autoload(skel_->progs.handle_fault_user, !perf_faults);
    bpf_program__set_autoload(skel_->progs.handle_fault_kernel, !perf_faults);
    bpf_program__set_autoload(skel_->progs.handle_fault_perf, perf_faults);
    bpf_map__set_max_entries(skel_->maps.overflow, options.overflow_pages);
    // One stack sample buffer per CPU (37 KiB each), only when stacks are taken.
    const int cpus = libbpf_num_possible_cpus();
    bpf_map__set_max_entries(skel_->maps.stack_scratch, options.record_stacks && cpus > 0 ? cpus : 1);
    // Wake the consumer when 1/16 of the ring is pending: few wakeups, and plenty of room left
    // while it drains.
    skel_->rodata->wakeup_bytes = options.ringbuf_bytes / 16;
    // A quarter of the ring stays for mapping records when faults arrive faster than they drain.
    skel_->rodata->fault_room_bytes = options.ringbuf_bytes / 4 * 3;
    // Stack samples (up to 8 KiB each) stop at half: a consumer busy unwinding loses samples, never
    // faults.
    skel_->rodata->sample_room_bytes = options.ringbuf_bytes / 2;
    if (int err = bpf_map__set_max_entries(skel_->maps.events, options.ringbuf_bytes))
        throw libbpf_error("cannot size the ring buffer", err);
    if (int err = memtrace_bpf__load(skel_.get())) {
        // libbpf finds tp_btf targets by name in the kernel's BTF: ESRCH means one is missing.
        if (err == -ESRCH)
            throw std::runtime_error(
                "this kernel lacks a tracepoint memtrace attaches to (exceptions:page_fault_user and "
                "page_fault_kernel exist on x86 only; also sys_enter/sys_exit, sched_process_*)");
        throw libbpf_error("cannot load the BPF programs", err);
    }
    if (options.follow_forks) {
        __u8 one = 1;
        bpf_map__update_elem(skel_->maps.traced, &options.target_tgid, sizeof(options.target_tgid), &one,
                             sizeof(one), BPF_ANY);
    }
    ring_.reset(ring_buffer__new(bpf_map__fd(skel_->maps.events), on_record, this, nullptr));
    if (!ring_)
        throw libbpf_error("cannot set up the ring buffer", errno);
    if (int err = memtrace_bpf__attach(skel_.get()))
        throw libbpf_error("cannot attach the BPF programs", err);
    // Major faults are told apart only after they are handled: the software perf events fire then,
    // on the faulting thread. --latency takes every fault's completion the same way.
    attach_software_event(skel_->progs.handle_major, PERF_COUNT_SW_PAGE_FAULTS_MAJ, "major-fault", perf_links_);
    if (perf_faults)
        attach_software_event(skel_->progs.handle_fault_perf, PERF_COUNT_SW_PAGE_FAULTS, "page-fault", perf_links_);
    if (options.measure_latency)
        attach_software_event(skel_->progs.handle_minor, PERF_COUNT_SW_PAGE_FAULTS_MIN, "minor-fault", perf_links_);
}

BpfTracer::~BpfTracer() = default;

int BpfTracer::on_record(void* ctx, void* data, size_t size)
{
    auto* self = static_cast<BpfTracer*>(ctx);
    // Exceptions must not unwind through libbpf's C frames: park it, stop, rethrow in consume().
    try {
        self->handler_(data, size);
        return ++self->consumed_in_call_ < kBatch ? 0 : kBatchFull;
    } catch (...) {
        self->handler_error_ = std::current_exception();
        return -1;
    }
}

int BpfTracer::ring_fd() const { return ring_buffer__epoll_fd(ring_.get()); }

bool BpfTracer::consume()
{
    consumed_in_call_ = 0;
    int n = ring_buffer__consume(ring_.get());
    if (handler_error_) {
        auto error = handler_error_;
        handler_error_ = nullptr;
        std::rethrow_exception(error);
    }
    if (n == kBatchFull)
        return true;
    if (n < 0 && n != -EINTR)
        throw libbpf_error("reading the ring buffer failed", n);
    return false;
}

mt_counters BpfTracer::counters() const
{
    int ncpus = libbpf_num_possible_cpus();
    std::vector<__u64> values(ncpus);
    mt_counters out{};
    for (__u32 key = 0; key < MT_CNT_MAX; ++key) {
        if (bpf_map__lookup_elem(skel_->maps.counters, &key, sizeof(key), values.data(),
                                 values.size() * sizeof(__u64), 0) != 0)
            continue;
        for (__u64 v : values)
            out.value[key] += v;
    }
    return out;
}

std::vector<mt_overflow> BpfTracer::drain_overflow()
{
    std::vector<mt_overflow_key> keys = map_keys<mt_overflow_key>(skel_->maps.overflow);
    std::vector<mt_overflow> pages;
    for (const mt_overflow_key& k : keys) {
        mt_overflow_count c{};
        // Taken and deleted in one step: a fault counted meanwhile lands in a new entry.
        if (bpf_map__lookup_and_delete_elem(skel_->maps.overflow, &k, sizeof(k), &c, sizeof(c), 0) != 0)
            continue;
        mt_overflow o{};
        o.hdr.tgid = o.hdr.tid = k.tgid;
        o.page = k.page;
        o.faults = c.faults;
        o.major = c.major;
        o.writes = c.writes;
        o.instr = c.instr;
        o.protection = c.protection;
        o.kernel_mode = c.kernel_mode;
        pages.push_back(o);
    }
    // Faults that found no room even there: the process's still, for no page.
    for (__u32 tgid : map_keys<__u32>(skel_->maps.overflow_unplaced)) {
        __u64 n = 0;
        if (bpf_map__lookup_and_delete_elem(skel_->maps.overflow_unplaced, &tgid, sizeof(tgid), &n, sizeof(n), 0) != 0)
            continue;
        mt_overflow o{};
        o.hdr.tgid = o.hdr.tid = tgid;
        o.hdr.flags = MT_OVERFLOW_UNPLACED;
        o.faults = n;
        pages.push_back(o);
    }
    return pages;
}

}  // namespace memtrace
