#include "pipeline/pipeline.h"

#include "analysis/crash_reports.h"
#include "analysis/fault_latency.h"
#include "analysis/fault_sites.h"
#include "analysis/kernel_check.h"
#include "analysis/process_activity.h"
#include "analysis/live_layout.h"
#include "analysis/resident_memory.h"
#include "analysis/segment_counts.h"
#include "analysis/syscall_stats.h"
#include "analysis/timeline.h"
#include "analysis/trace_health.h"

namespace memtrace {

// Hands each event to every registered analysis, in registration order (which is also the order
// in which they write their parts of a report).
class Pipeline::FanOut : public Analysis {
public:
    std::vector<std::unique_ptr<Analysis>> analyses;
    // Events outside the report's scope (--pid, --time) keep the models right but are not counted.
    std::function<bool(uint32_t tgid, uint64_t ts_ns)> in_scope = [](uint32_t, uint64_t) { return true; };

    template <typename Event, typename Method>
    void each(const Event& e, Method method, uint32_t tgid, uint64_t ts)
    {
        if (!in_scope(tgid, ts))
            return;
        for (auto& a : analyses)
            ((*a).*method)(e);
    }
    void on_trace_start(const mt_trace_start& s) override
    {
        for (auto& a : analyses)
            a->on_trace_start(s);
    }
    void on_fault(const FaultEvent& e) override { each(e, &Analysis::on_fault, e.fault.hdr.tgid, e.fault.hdr.ts_ns); }
    void on_fault_done(const FaultDoneEvent& e) override
    {
        each(e, &Analysis::on_fault_done, e.done.hdr.tgid, e.done.hdr.ts_ns);
    }
    void on_overflow(const OverflowEvent& e) override { each(e, &Analysis::on_overflow, e.page.hdr.tgid, e.page.hdr.ts_ns); }
    void on_mapping(const MappingEvent& e) override
    {
        each(e, &Analysis::on_mapping, e.record.header().tgid, e.record.header().ts_ns);
    }
    void on_process(const ProcessEvent& e) override
    {
        // Lifecycle keeps every process's books straight, in scope or not.
        for (auto& a : analyses)
            a->on_process(e);
    }
    void on_signal(const SignalEvent& e) override { each(e, &Analysis::on_signal, e.signal.hdr.tgid, e.signal.hdr.ts_ns); }
    void on_counters(const mt_counters& c) override
    {
        for (auto& a : analyses)
            a->on_counters(c);
    }
    void on_rss(const mt_rss& rss, const Process* p) override
    {
        if (in_scope(rss.hdr.tgid, rss.hdr.ts_ns))
            for (auto& a : analyses)
                a->on_rss(rss, p);
    }
    void on_stack_sample(const StackSampleRecord& s, const Process& p) override
    {
        if (in_scope(s.fixed.hdr.tgid, s.fixed.hdr.ts_ns))
            for (auto& a : analyses)
                a->on_stack_sample(s, p);
    }
    void on_kernel_final(const mt_kernel_final& f, const Process* p) override
    {
        for (auto& a : analyses)
            a->on_kernel_final(f, p);
    }
    void on_untraced(const mt_untraced& u, const Process* p) override
    {
        for (auto& a : analyses)
            a->on_untraced(u, p);
    }
    void on_process_counts(const mt_process_counts& c) override
    {
        each(c, &Analysis::on_process_counts, c.hdr.tgid, c.hdr.ts_ns);
    }
    void on_cgroup(const CgroupRecord& c) override
    {
        for (auto& a : analyses)
            a->on_cgroup(c);
    }
    void on_latency_histogram(const mt_latency& l) override
    {
        for (auto& a : analyses)
            a->on_latency_histogram(l);
    }
    void report(Report& out, const ReportContext& context) override
    {
        for (auto& a : analyses)
            a->report(out, context);
    }
};

Pipeline::Pipeline(const PipelineOptions& options, CodeNamer& namer)
    : options_(options), locator_(namer), fan_out_(std::make_unique<FanOut>()), table_(*fan_out_)
{
    // The analyses, one line each: a new one is its own file and a line here.
    const SegmentTable& segments = table_.segments();
    auto& list = fan_out_->analyses;
    list.push_back(std::make_unique<SegmentCounts>(segments));
    list.push_back(std::make_unique<TraceHealth>());
    list.push_back(std::make_unique<KernelCheck>());
    list.push_back(std::make_unique<SyscallStats>(segments));
    auto sites = std::make_unique<FaultSites>(segments, locator_, options.sites);
    sites_ = sites.get();
    list.push_back(std::move(sites));
    list.push_back(std::make_unique<FaultLatency>());
    list.push_back(std::make_unique<ResidentMemory>());
    list.push_back(std::make_unique<CrashReports>(segments, locator_));
    list.push_back(std::make_unique<ProcessActivity>(options.top_processes, options.max_metric_groups));
    auto stacks = std::make_unique<StackCounts>(locator_);
    stacks_ = stacks.get();
    list.push_back(std::move(stacks));
    list.push_back(std::make_unique<LiveLayout>(segments));
    list.push_back(std::make_unique<TimelineRecorder>(segments));

    if (options_.only_pid || options_.time_window)
        fan_out_->in_scope = [this](uint32_t tgid, uint64_t ts) {
            if (options_.only_pid && tgid != *options_.only_pid)
                return false;
            if (options_.time_window) {
                double t = ts > origin_ns_ ? (ts - origin_ns_) / 1e9 : 0;
                return t >= options_.time_window->first && t < options_.time_window->second;
            }
            return true;
        };
}

Pipeline::~Pipeline() = default;

void Pipeline::set_sites(size_t n) { sites_->set_shown(n); }

bool Pipeline::handle(const void* data, size_t size)
{
    std::optional<Record> record = decode_record(data, size);
    if (!record) {
        ++malformed_;
        return false;
    }
    const mt_header& h = record->header();
    if (h.type == MT_REC_TRACE_START && !started_) {
        started_ = true;
        origin_ns_ = last_tick_ns_ = h.ts_ns;
        if (options_.interval_s)
            next_cut_ns_ = origin_ns_ + static_cast<uint64_t>(*options_.interval_s * 1e9);
    }
    if (options_.interval_s && h.type != MT_REC_TICK)
        maybe_cut_interval(h.ts_ns);
    if (h.type == MT_REC_TICK) {
        on_tick(record->as<mt_tick>());
        return true;
    }
    table_.handle(*record);
    return true;
}

void Pipeline::maybe_cut_interval(uint64_t ts_ns)
{
    // Re-sliced intervals end when the stream's time passes each boundary (records carry their
    // kernel timestamps; the recorded ticks are then ignored, but for the final one).
    while (next_cut_ns_ && ts_ns >= next_cut_ns_ && !ended_) {
        emit_report(next_cut_ns_, false, 0);
        next_cut_ns_ += static_cast<uint64_t>(*options_.interval_s * 1e9);
    }
}

void Pipeline::on_tick(const mt_tick& tick)
{
    if (ended_)
        return;
    const bool final = tick.flags & MT_TICK_FINAL;
    if (options_.interval_s && !final)
        return;
    if (!final && options_.time_window) {
        double t = tick.hdr.ts_ns > origin_ns_ ? (tick.hdr.ts_ns - origin_ns_) / 1e9 : 0;
        if (t < options_.time_window->first || t > options_.time_window->second)
            return;
    }
    emit_report(tick.hdr.ts_ns, final, final ? tick.end_reason : 0);
}

void Pipeline::emit_report(uint64_t ts_ns, bool final, uint32_t end_reason)
{
    Report report;
    const uint64_t now = ts_ns > origin_ns_ ? ts_ns : origin_ns_;
    ReportContext context{(now - origin_ns_) / 1e9, now > last_tick_ns_ ? (now - last_tick_ns_) / 1e9 : 0, final,
                          table_};
    last_tick_ns_ = now;
    report.elapsed_s = context.elapsed_s;
    report.interval_s = context.interval_s;
    report.final = final;
    report.malformed = malformed_;
    fan_out_->report(report, context);
    table_.after_report();
    ended_ = final;
    if (on_report_)
        on_report_(report, end_reason);
}

}  // namespace memtrace
