// The one pipeline every command runs: records in (from the live ring buffer and the synthesizer,
// or from a trace file), reports out. Decode (the only size checks) -> process table (mapping
// models, attribution) -> analyses -> a Report at each tick. Live and replayed traces share every
// line of it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "analysis/analysis.h"
#include "analysis/fault_sites.h"
#include "analysis/stack_counts.h"
#include "model/process_table.h"
#include "pipeline/report.h"
#include "symbols/code_locator.h"
#include "symbols/code_namer.h"

namespace memtrace {

struct PipelineOptions {
    size_t sites = 10;  // fault sites a report lists (0: none)
    // memtrace report: cut intervals every this many seconds of the trace, not at its own ticks.
    std::optional<double> interval_s;
    // memtrace report: only this process's events reach the analyses (the models see everything).
    std::optional<uint32_t> only_pid;
    // memtrace report: only events in [from, to) seconds since the start reach the analyses.
    std::optional<std::pair<double, double>> time_window;
    // -a: the processes each report lists; exporter: the (cgroup, comm) series it keeps apart.
    size_t top_processes = 20;
    size_t max_metric_groups = 100;
};

class Pipeline {
public:
    // A report ends an interval; `end_reason` is the final tick's enum mt_end_reason (0 before).
    using ReportHandler = std::function<void(const Report& report, uint32_t end_reason)>;

    Pipeline(const PipelineOptions& options, CodeNamer& namer);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // One record of the stream. Returns false (and counts it) when it is malformed.
    bool handle(const void* data, size_t size);

    void set_report_handler(ReportHandler handler) { on_report_ = std::move(handler); }
    // How many fault sites each report lists from now on (0: none).
    void set_sites(size_t n);
    void set_record_observer(ProcessTable::Observer observer) { table_.set_observer(std::move(observer)); }

    const ProcessTable& processes() const { return table_; }
    const StackCounts& stacks() const { return *stacks_; }
    uint64_t origin_ns() const { return origin_ns_; }
    bool ended() const { return ended_; }  // the final tick came
    uint64_t malformed() const { return malformed_; }

private:
    class FanOut;
    void on_tick(const mt_tick& tick);
    void maybe_cut_interval(uint64_t ts_ns);
    void emit_report(uint64_t ts_ns, bool final, uint32_t end_reason);

    PipelineOptions options_;
    CodeLocator locator_;
    std::unique_ptr<FanOut> fan_out_;
    ProcessTable table_;
    StackCounts* stacks_ = nullptr;
    FaultSites* sites_ = nullptr;
    ReportHandler on_report_;
    uint64_t origin_ns_ = 0, last_tick_ns_ = 0, next_cut_ns_ = 0;
    bool started_ = false, ended_ = false;
    uint64_t malformed_ = 0;
};

}  // namespace memtrace
