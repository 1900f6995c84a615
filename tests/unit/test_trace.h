// A live trace without the kernel, for unit tests: records made by the test (as the BPF program
// would send them) and by the real Synthesizer over a FakeSource (as the live side would add them)
// go through the real Pipeline. The pipeline is made at the first record, so that options can be
// set before.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"
#include "source/synthesizer.h"
#include "stream/record_builder.h"
#include "test_support.h"

namespace memtrace_test {

// Delegates to a namer the test may swap at any time (the pipeline keeps a reference).
class SwitchableNamer : public memtrace::CodeNamer {
public:
    memtrace::CodeNamer* current = &plain;
    memtrace::PlainCodeNamer plain;
    std::string name(const std::string& module, uint64_t vaddr, bool full) override
    {
        return current->name(module, vaddr, full);
    }
    void expect_build_id(const std::string& module, const std::string& build_id) override
    {
        current->expect_build_id(module, build_id);
    }
    std::vector<std::string> frames(const std::string& module, uint64_t vaddr) override
    {
        return current->frames(module, vaddr);
    }
    std::string file_for(const std::string& module) override { return current->file_for(module); }
};

class TestTrace {
public:
    static constexpr uint64_t kOrigin = 1'000'000'000'000;  // the trace's start, ns

    explicit TestTrace(FakeSource& source, uint64_t stack_limit = 8 << 20)
        : source_(source), stack_limit_(stack_limit),
          synth_(source, [this](const void* data, size_t size) { last_ok_ = pipeline().handle(data, size); })
    {
        source.stack_limit_bytes = stack_limit;
    }

    // Options, before the first record.
    void set_sites(size_t n)
    {
        options_.sites = n;
        if (pipeline_)
            pipeline_->set_sites(n);
    }
    void set_latency(bool on)
    {
        flags_ = on ? flags_ | MT_TRACE_LATENCY : flags_ & ~MT_TRACE_LATENCY;
        if (pipeline_)  // what the trace collects, said again: the analyses take it from here
            synth_.trace_start(origin_, 0, flags_);
    }
    void set_stacks(bool on)
    {
        flags_ = on ? flags_ | MT_TRACE_STACKS : flags_ & ~MT_TRACE_STACKS;
        if (pipeline_)
            synth_.trace_start(origin_, 0, flags_);
    }
    void set_clock_origin(uint64_t ns) { origin_ = ns; }
    void set_code_namer(memtrace::CodeNamer* namer) { namer_.current = namer ? namer : &namer_.plain; }
    void set_observer(memtrace::ProcessTable::Observer observer) { observer_ = std::move(observer); }

    // A running process: its layout from the source's maps (with its images), `baseline` as its
    // kernel counters at attach when given.
    void attach(uint32_t pid, const std::string& comm, std::optional<uint64_t> baseline = std::nullopt)
    {
        source_.facts_of[pid] = {comm, baseline};
        pipeline();
        synth_.attach(pid, origin_);
    }
    void attach_launched(uint32_t pid, const std::string& comm)
    {
        pipeline();
        synth_.attach_launched(pid, comm, stack_limit_, origin_);
    }
    // A ring-buffer record; false when the pipeline found it malformed.
    bool handle(const void* data, size_t size)
    {
        pipeline();
        last_ok_ = true;
        synth_.kernel_record(data, size);
        return last_ok_;
    }
    template <typename T>
    bool feed(const T& record)
    {
        return handle(&record, sizeof(record));
    }

    void set_kernel_final(uint32_t pid, uint64_t faults) { synth_.kernel_final(pid, faults, now()); }
    void label_thread_stack(uint32_t pid, uint32_t tid, uint64_t sp)
    {
        mt_fork t = make_record<mt_fork>(MT_REC_THREAD, pid, pid, now());
        t.child_tgid = pid;
        t.child_tid = tid;
        t.child_sp = sp;
        feed_synthesized(memtrace::bytes_of(t));
    }
    void set_rss(uint32_t pid, const memtrace::ResidentPages& rss)
    {
        source_.resident_of[pid] = rss;
        synth_.resident({pid}, now());
        source_.resident_of.erase(pid);
    }
    void set_kernel_counters(uint64_t faults, uint64_t dropped, uint64_t overflow_lost = 0, uint64_t stacks_lost = 0)
    {
        mt_counters c{};
        c.value[MT_CNT_FAULTS] = faults;
        c.value[MT_CNT_DROPPED] = dropped;
        c.value[MT_CNT_OVERFLOW_LOST] = overflow_lost;
        c.value[MT_CNT_STACKS_LOST] = stacks_lost;
        pipeline();
        synth_.counters(c, now());
    }
    void add_overflow(std::vector<mt_overflow> pages)
    {
        pipeline();
        synth_.overflow(std::move(pages), now());
    }
    // A stack sample as the BPF program sends it (the synthesizer reads the perf map first).
    bool add_stack_sample(const mt_stack_sample& fixed, const std::vector<uint8_t>& stack)
    {
        memtrace::RecordBytes bytes = memtrace::stack_sample_record(fixed, stack);
        return handle(bytes.data(), bytes.size());
    }

    // Ends an interval `elapsed_s` after the start and returns its report.
    memtrace::Report report(double elapsed_s, double /*interval_s: from the previous tick*/ = 0, bool final = false)
    {
        pipeline();
        last_report_.reset();
        synth_.tick(origin_ + static_cast<uint64_t>(elapsed_s * 1e9), final, final ? MT_END_TARGET_EXITED : 0);
        if (!last_report_)
            throw std::logic_error("no report came for the tick");
        return *last_report_;
    }

    const memtrace::Process* process(uint32_t pid) { return pipeline().processes().find(pid); }
    const memtrace::SegmentTable& segments() { return pipeline().processes().segments(); }
    size_t live_processes() { return pipeline().processes().live_processes(); }
    // Faults attributed so far (held faults are not, until they are replayed).
    uint64_t faults() const { return faults_seen_; }
    const memtrace::StackCounts::Folded& folded(uint32_t kind) { return pipeline().stacks().folded(kind); }
    memtrace::Pipeline& pipeline()
    {
        if (!pipeline_) {
            pipeline_ = std::make_unique<memtrace::Pipeline>(options_, namer_);
            pipeline_->set_report_handler([this](const memtrace::Report& r, uint32_t) { last_report_ = r; });
            pipeline_->set_record_observer([this](const memtrace::Record& r, memtrace::SegmentId seg,
                                                  const memtrace::Process& p) {
                faults_seen_ += r.type() == MT_REC_FAULT;
                if (observer_)
                    observer_(r, seg, p);
            });
            synth_.trace_start(origin_, 0, flags_);
        }
        return *pipeline_;
    }

private:
    uint64_t now() const { return origin_; }
    void feed_synthesized(const memtrace::RecordBytes& bytes)
    {
        last_ok_ = pipeline().handle(bytes.data(), bytes.size());
    }

    FakeSource& source_;
    uint64_t stack_limit_;
    memtrace::Synthesizer synth_;
    memtrace::PipelineOptions options_;
    SwitchableNamer namer_;
    uint32_t flags_ = 0;
    uint64_t origin_ = kOrigin;
    memtrace::ProcessTable::Observer observer_;
    std::unique_ptr<memtrace::Pipeline> pipeline_;
    std::optional<memtrace::Report> last_report_;
    uint64_t faults_seen_ = 0;
    bool last_ok_ = true;
};

// An overflow record of `faults` faults on `page`.
inline mt_overflow make_overflow(uint32_t tgid, uint64_t page, uint64_t faults, uint64_t major = 0)
{
    mt_overflow o{};
    o.hdr.tgid = o.hdr.tid = tgid;
    o.page = page;
    o.faults = faults;
    o.major = major;
    return o;
}

}  // namespace memtrace_test
