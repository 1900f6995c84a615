#include "commands/cmd_report.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/report_diff.h"
#include "commands/seconds_option.h"
#include "output/html_report.h"
#include "output/format_util.h"
#include "output/output_file.h"
#include "output/perfetto_trace.h"
#include "output/render_diff.h"
#include "output/report_output.h"
#include "pipeline/pipeline.h"
#include "stream/record_builder.h"
#include "stream/trace_reader.h"
#include "symbols/code_namer.h"

namespace memtrace {
namespace {

std::pair<double, double> parse_time_window(const std::string& text)
{
    size_t comma = text.find(',');
    try {
        size_t used_a = 0, used_b = 0;
        double from = std::stod(text.substr(0, comma), &used_a);
        double to = comma == std::string::npos ? 1e300 : std::stod(text.substr(comma + 1), &used_b);
        bool whole = used_a == comma || (comma == std::string::npos && used_a == text.size());
        if (comma != std::string::npos)
            whole = whole && used_b == text.size() - comma - 1;
        if (whole && std::isfinite(from) && from >= 0 && to > from)
            return {from, to};
    } catch (const std::exception&) {
    }
    throw std::runtime_error(fmt::format("--time {}: give FROM,TO in seconds since the start, FROM < TO", text));
}

// The trace must hold what the user asks to see.
void check_recorded(const nlohmann::json& meta, const ReportOptions& o, const std::string& file)
{
    const nlohmann::json options = meta.value("options", nlohmann::json::object());
    if (o.latency && !options.value("latency", false))
        throw std::runtime_error(fmt::format("{} was recorded without --latency: it holds no fault latencies", file));
    if ((o.stacks || o.stack_files.any()) && !options.value("stacks", false))
        throw std::runtime_error(fmt::format("{} was recorded without --stacks: it holds no stacks", file));
}

// Reads the trace through `pipeline`; ends the stream itself when the file was cut short. Returns
// the problem with the file, if there was one.
std::string replay(TraceReader& reader, const std::string& file, Pipeline& pipeline)
{
    uint64_t last_ts = 0;
    TraceReader::Ending ending = reader.read([&](const void* data, size_t size) {
        if (size >= sizeof(mt_header)) {
            mt_header h;
            std::memcpy(&h, data, sizeof(h));
            last_ts = std::max<uint64_t>(last_ts, h.ts_ns);
        }
        pipeline.handle(data, size);
    });
    if (!pipeline.ended()) {
        mt_tick end{};
        end.hdr = header(MT_REC_TICK, 0, std::max<uint64_t>(last_ts, pipeline.origin_ns()));
        end.flags = MT_TICK_FINAL;
        end.end_reason = MT_END_CUT_SHORT;
        pipeline.handle(&end, sizeof(end));
    }
    if (!ending.complete && ending.problem.empty())
        ending.problem = "ends early";
    return ending.complete ? std::string() : fmt::format("{} {}", file, ending.problem);
}

// What the trace followed, for titles: its command line, or its pid.
std::string traced_name(const nlohmann::json& meta, const std::string& file)
{
    const nlohmann::json target = meta.value("target", nlohmann::json::object());
    if (target.contains("pid") && target["pid"].is_number())
        return fmt::format("pid {}", target["pid"].get<int64_t>());
    std::string line;
    if (target.contains("command") && target["command"].is_array())
        for (const nlohmann::json& arg : target["command"])
            if (arg.is_string())
                line += (line.empty() ? "" : " ") + arg.get<std::string>();
    return line.empty() ? file : line;
}

PipelineOptions pipeline_options(const ReportOptions& o)
{
    PipelineOptions p;
    p.sites = o.sites;
    if (o.interval_s > 0)
        p.interval_s = o.interval_s;
    if (o.pid > 0)
        p.only_pid = static_cast<uint32_t>(o.pid);
    if (!o.time.empty())
        p.time_window = parse_time_window(o.time);
    return p;
}

void report_mismatches(const SymbolizerCodeNamer& namer)
{
    for (const std::string& m : namer.mismatches())
        fmt::print(stderr, "memtrace: no file of the recorded build of {} here: its code is named by offset\n",
                   terminal_safe(m));
}

int run_diff(const ReportOptions& o)
{
    struct Side {
        Report summary;
        std::unordered_map<std::string, uint64_t> stacks;
        std::string problem;
    };
    auto side = [&](const std::string& file) {
        SymbolizerCodeNamer namer;
        Pipeline pipeline(pipeline_options(o), namer);
        Side s;
        pipeline.set_report_handler([&](const Report& r, uint32_t) {
            if (r.final)
                s.summary = r;
        });
        TraceReader reader(file);
        check_recorded(reader.meta(), o, file);
        s.problem = replay(reader, file, pipeline);
        s.stacks = pipeline.stacks().folded(MT_STACK_FAULT);
        report_mismatches(namer);
        return s;
    };
    Side a = side(o.diff.at(0)), b = side(o.diff.at(1));
    ReportDiff diff = diff_reports(a.summary, b.summary, a.stacks, b.stacks);
    std::ostringstream out;
    if (o.json)
        out << diff_to_json(diff, o.diff[0], o.diff[1]).dump() << '\n';
    else
        render_diff_text(out, diff, o.diff[0], o.diff[1], 20);
    write_text(STDOUT_FILENO, out.str(), "the report");
    for (const Side* s : {&a, &b})
        if (!s->problem.empty())
            fmt::print(stderr, "memtrace: {}\n", terminal_safe(s->problem));
    return a.problem.empty() && b.problem.empty() ? 0 : 1;
}

// --html and --perfetto: drawn from the final report, written once the whole trace is read. The
// files are opened first, so that a path that cannot be written fails before the replay.
class Pictures {
public:
    explicit Pictures(const ReportOptions& o) : o_(o)
    {
        if (!o.html.empty())
            html_fd_ = open_output_file(o.html);
        if (!o.perfetto.empty())
            perfetto_fd_ = open_output_file(o.perfetto);
    }
    ~Pictures()
    {
        for (int fd : {html_fd_, perfetto_fd_})
            if (fd >= 0)
                close(fd);
    }
    Pictures(const Pictures&) = delete;
    Pictures& operator=(const Pictures&) = delete;

    void keep(const Report& report)
    {
        if (report.final && (html_fd_ >= 0 || perfetto_fd_ >= 0))
            final_ = report;
    }

    void write(const Pipeline& pipeline, const nlohmann::json& meta) const
    {
        if (!final_)
            return;
        if (html_fd_ >= 0) {
            write_text(html_fd_, html_report(*final_, html_input(pipeline, meta)), o_.html.c_str());
            fmt::print(stderr, "memtrace: wrote the pictures to {}\n", o_.html);
        }
        if (perfetto_fd_ >= 0) {
            write_text(perfetto_fd_, perfetto_trace(*final_).dump() + "\n", o_.perfetto.c_str());
            fmt::print(stderr, "memtrace: wrote the Perfetto trace to {}\n", o_.perfetto);
        }
    }

private:
    HtmlReportInput html_input(const Pipeline& pipeline, const nlohmann::json& meta) const
    {
        HtmlReportInput input;
        const Process* target = pipeline.processes().first();
        input.target = target ? fmt::format("pid {} ({})", target->pid, target->comm) : "nothing";
        input.source = o_.file;
        input.stacks_recorded = meta.value("options", nlohmann::json::object()).value("stacks", false);
        if (input.stacks_recorded) {
            input.fault_stacks = pipeline.stacks().folded(MT_STACK_FAULT);
            input.brk_stacks = pipeline.stacks().folded(MT_STACK_BRK);
            input.mmap_stacks = pipeline.stacks().folded(MT_STACK_MMAP);
        }
        return input;
    }

    const ReportOptions& o_;
    int html_fd_ = -1, perfetto_fd_ = -1;
    std::optional<Report> final_;
};

}  // namespace

void setup_report_options(CLI::App& app, ReportOptions& o)
{
    app.add_option("file", o.file, "Trace file written by memtrace record (default memtrace.data)");
    app.add_option("--diff", o.diff, "Compare two traces: per segment, per site, per stack")->expected(2);
    app.add_flag("--json", o.json, "One NDJSON object per interval, then a summary object (as live)");
    app.add_flag("--events", o.events, "One line per event, with its segment (as live)");
    app.add_flag("--text", o.text, "Plain-text snapshots and summary (the default)");
    app.add_option("--sites", o.sites, "How many top faulting code locations to show (default 10, 0 = none)");
    app.add_option("-i,--interval", o.interval_s, "Cut intervals every S seconds of the trace instead of as recorded")
        ->check(seconds_between(0.001, 1e7));
    app.add_option("--pid", o.pid, "Only this process's faults and calls")->check(CLI::PositiveNumber);
    app.add_option("--time", o.time, "Only what happened FROM,TO seconds after the start");
    app.add_option("--folded", o.stack_files.folded,
                   "Write the fault stacks to FILE, folded (needs a trace recorded with --stacks)");
    app.add_option("--folded-bytes", o.stack_files.folded_bytes,
                   "Write the brk, mmap and mremap stacks to FILE, folded, by bytes grown");
    app.add_option("--flamegraph", o.stack_files.flamegraph,
                   "Write interactive flame graphs (SVG: faults, brk bytes, mmap bytes) to FILE");
    app.add_option("--html", o.html, "Write the pictures to FILE: one self-contained HTML page (heatmap, memory, "
                                     "faults per segment, calls, flame graphs)");
    app.add_option("--perfetto", o.perfetto, "Write FILE in the Chrome JSON trace format (ui.perfetto.dev)");
    app.add_flag("--latency", o.latency, "Require the fault latencies (a trace recorded with --latency)");
    app.add_flag("--stacks", o.stacks, "Require the stacks (a trace recorded with --stacks)");
}

int run_report(const ReportOptions& o)
{
    if (o.json && o.events)
        throw std::runtime_error("--json and --events are two different outputs: pick one");
    if (!o.diff.empty() && (!o.html.empty() || !o.perfetto.empty()))
        throw std::runtime_error("--html and --perfetto draw one trace, not --diff");
    if (!o.diff.empty())
        return run_diff(o);
    TraceReader reader(o.file);
    check_recorded(reader.meta(), o, o.file);
    StackFiles stack_files(o.stack_files);
    Pictures pictures(o);
    SymbolizerCodeNamer namer;
    Pipeline pipeline(pipeline_options(o), namer);
    std::unique_ptr<ReportOutput> output;
    if (o.events) {
        auto events = std::make_unique<EventsOutput>(stdout, pipeline, STDERR_FILENO);
        pipeline.set_record_observer(
            [out = events.get()](const Record& r, SegmentId seg, const Process& p) { out->record(r, seg, p); });
        output = std::move(events);
    } else if (o.json) {
        output = std::make_unique<JsonOutput>(STDOUT_FILENO);
    } else {
        output = std::make_unique<TextOutput>(STDOUT_FILENO);
    }
    pipeline.set_report_handler([&](const Report& report, uint32_t end_reason) {
        pictures.keep(report);
        if (report.final)
            output->summary(report, end_reason);
        else
            output->interval(report);
    });
    std::string problem = replay(reader, o.file, pipeline);
    if (o.stack_files.any())
        stack_files.write(pipeline.stacks(), traced_name(reader.meta(), o.file), pipeline.stacks().sample_period());
    pictures.write(pipeline, reader.meta());
    report_mismatches(namer);
    if (!problem.empty()) {
        fmt::print(stderr, "memtrace: {}\n", terminal_safe(problem));
        return 1;
    }
    return 0;
}

}  // namespace memtrace
