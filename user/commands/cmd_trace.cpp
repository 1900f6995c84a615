#include "commands/cmd_trace.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "commands/seconds_option.h"
#include "output/format_util.h"
#include "output/live_view.h"
#include "output/output_file.h"
#include "output/report_output.h"
#include "output/top_view.h"
#include "pipeline/pipeline.h"
#include "source/launcher.h"
#include "source/count_session.h"
#include "source/live_session.h"
#include "symbols/code_namer.h"

namespace memtrace {
namespace {

enum class OutputMode { Live, Text, Json, Events, None };

void check_system_options(const TraceOptions& o)
{
    if (o.pid || !o.command.empty())
        throw std::runtime_error("-a, --cgroup and --comm count every process (of a cgroup, of a name): "
                                 "give them without -p PID or a command");
    if (o.events || o.follow || o.latency || wants_stacks(o) || !o.user.empty())
        throw std::runtime_error("-a counts faults per process and kind in the kernel: --events, -f, --latency, "
                                 "--stacks and -u are for one traced process (-p PID or -- CMD)");
    if (o.json && o.text)
        throw std::runtime_error("--json and --text are two different outputs: pick one");
}

void check_options(const TraceOptions& o)
{
    if (o.pid && !o.command.empty())
        throw std::runtime_error("give either -p PID or a command after --, not both");
    if (!o.pid && o.command.empty())
        throw std::runtime_error("nothing to trace: give -p PID or a command after -- (see --help)");
    if (o.json && o.events)
        throw std::runtime_error("--json and --events are two different outputs: pick one");
    if (o.ringbuf_mib & (o.ringbuf_mib - 1))
        throw std::runtime_error("--ringbuf-mib must be a power of two");
    if (!o.user.empty() && o.command.empty())
        throw std::runtime_error("-u USER applies to a command started by memtrace (after --), not to -p");
}

OutputMode output_mode(const TraceOptions& o, bool quiet)
{
    if (o.events)
        return OutputMode::Events;
    if (o.json)
        return OutputMode::Json;
    if (o.text)
        return OutputMode::Text;
    if (quiet)
        return OutputMode::None;
    return isatty(STDOUT_FILENO) ? OutputMode::Live : OutputMode::Text;
}

// Where a launched command's own output goes: never into memtrace's parseable stdout.
std::string command_output(const TraceOptions& o, OutputMode mode)
{
    if (!o.command_output.empty())
        return o.command_output;
    if (mode == OutputMode::Live)
        return "/dev/null";  // the command's own output would tear the live view
    if (mode == OutputMode::Json || mode == OutputMode::Events)
        return LaunchedCommand::kStderr;  // keep memtrace's stdout parseable
    return {};
}

}  // namespace

void setup_trace_options(CLI::App& app, TraceOptions& o)
{
    app.add_option("-p,--pid", o.pid, "Trace every thread of this running process")->check(CLI::PositiveNumber);
    app.add_flag("-f,--follow", o.follow, "Also trace the processes the target forks");
    app.add_option("-d,--duration", o.duration_s, "Stop after this many seconds")
        ->check(seconds_between(0.001, 1e7));
    app.add_option("-i,--interval", o.interval_s, "Seconds between refreshes and snapshots (default 1)")
        ->check(seconds_between(0.05, 3600.0));
    app.add_flag("--json", o.json, "One NDJSON object per interval, then a summary object");
    app.add_flag("--events", o.events, "One line per event (fault, mmap, brk, ...) with its segment");
    app.add_flag("--text", o.text, "Plain-text snapshots even when stdout is a terminal");
    app.add_option("--command-output", o.command_output,
                   "File for the command's stdout/stderr (default: /dev/null in the live view, else inherited)");
    app.add_option("--ringbuf-mib", o.ringbuf_mib, "Ring buffer size in MiB, a power of two (default 8)")
        ->check(CLI::Range(1u, 1024u));
    app.add_option("--sites", o.sites, "How many top faulting code locations to show (default 10, 0 = none)");
    app.add_flag("--latency", o.latency,
                 "Time every fault from entry to completion: log2 histograms per segment, minor and major "
                 "(one more BPF program run per fault)");
    app.add_flag("--stacks", o.stacks,
                 fmt::format("User call stacks, unwound with the binaries' CFI: every brk, mmap, munmap and mremap "
                             "call's, and one fault's in {} on each CPU (see --stack-sample)",
                             kDefaultStackSample));
    app.add_option("--stack-sample", o.stack_sample,
                   "With --stacks, one fault in N on each CPU has its stack taken, its count scaled by N "
                   "(1: every fault; 0: no fault stacks, only the calls'); implies --stacks")
        ->check(CLI::Range(0u, 1u << 20));
    app.add_option("--folded", o.stack_files.folded,
                   "Write the fault stacks to FILE in folded format (flamegraph.pl, inferno, speedscope); "
                   "implies --stacks");
    app.add_option("--folded-bytes", o.stack_files.folded_bytes,
                   "Write the brk, mmap and mremap stacks to FILE, folded, by bytes grown (first frame: the call); "
                   "implies --stacks");
    app.add_option("--flamegraph", o.stack_files.flamegraph,
                   "Write interactive flame graphs (SVG: faults, brk bytes, mmap bytes) to FILE; implies --stacks");
    app.add_option("-u,--user", o.user,
                   "Run the command as USER (name or uid). Default: as memtrace's caller, which under sudo is "
                   "root, as with strace: the command gets the privileges it was given; add -u \"$SUDO_USER\" "
                   "to run it as yourself");
    app.add_option("--fault-source", o.fault_source,
                   "Where faults come from: tracepoint (x86's page-fault tracepoints), perf-event (the software "
                   "page-fault perf event, every architecture), auto (the tracepoints when the kernel has them)")
        ->check(CLI::IsMember({"auto", "tracepoint", "perf-event"}));
    app.add_option("--overflow-table", o.overflow_pages, "Pages the kernel's overflow table holds (default 65536)")
        ->check(CLI::Range(16u, 1u << 22))
        ->group("");
    app.add_flag("-a,--all", o.all, "Count the faults of every process on the machine, in the kernel, by kind: "
                                   "a top-like table (live) or one per interval (--text, --json)");
    app.add_option("--cgroup", o.cgroup, "Like -a, for the processes of this cgroup v2 and its descendants "
                                         "(a path under the cgroup2 mount, or relative to it)");
    app.add_option("--comm", o.comm, "Like -a, for the processes of this name (as ps -o comm shows it)");
    app.add_option("--by", o.by, "-a's rows: process or cgroup (default process)")
        ->check(CLI::IsMember({"process", "cgroup"}));
    app.add_option("--top", o.top, "-a's rows shown (default 20; the live table: every process, scrolled)")
        ->check(CLI::Range(1u, 100000u))
        ->each([&o](const std::string&) { o.top_given = true; });
    app.add_flag("-v,--verbose", o.verbose, "Show libbpf's log");
    app.add_option("command", o.command, "Command to start and trace from its first instruction (after --)");
}

bool wants_stacks(const TraceOptions& o) { return o.stacks || o.stack_sample || o.stack_files.any(); }

bool system_wide(const TraceOptions& o) { return o.all || !o.cgroup.empty() || !o.comm.empty(); }

int run_trace(const TraceOptions& o) { return system_wide(o) ? run_system(o, {}) : run_live(o, {}); }

namespace {

// The live table's rows when --top does not say: every process (it scrolls), up to a bound that
// keeps each interval's report small.
constexpr size_t kTopLiveRows = 10000;

// What -a, --cgroup, --comm count, as the messages and the table's header say it (as given: the
// caller makes it terminal_safe).
std::string filter_text(const TraceOptions& o)
{
    if (!o.cgroup.empty())
        return "cgroup " + o.cgroup;
    if (!o.comm.empty())
        return "processes named " + o.comm;
    return "every process";
}

CountSessionOptions count_options(const TraceOptions& o, double duration_s)
{
    CountSessionOptions count;
    count.kernel.cgroup_path = o.cgroup;
    count.kernel.comm = o.comm;
    count.kernel.verbose = o.verbose;
    count.interval_s = o.interval_s;
    count.duration_s = duration_s;
    return count;
}

// -a's live table on the terminal. Enter on a process pauses the -a session (its BPF object stays
// attached and goes on counting in the kernel), runs that process's live view on the same
// terminal, and when the user leaves it (q) or the process exits, the session goes on: its next
// interval spans the pause, and the summary is of the whole run. Ctrl-C, SIGTERM or --duration
// end memtrace in either, with that view's summary.
int run_top(const TraceOptions& o, const LiveRunExtras& extras)
{
    PlainCodeNamer namer;
    PipelineOptions pipeline_options;
    pipeline_options.top_processes = o.top_given ? o.top : kTopLiveRows;
    Pipeline pipeline(pipeline_options, namer);
    auto sink = [&](const void* data, size_t size) {
        if (extras.record)
            extras.record(data, size);
        pipeline.handle(data, size);
    };
    using Clock = std::chrono::steady_clock;
    const Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
    // --duration is of the whole run: a process's view gets what is left of it (0: no end).
    auto time_left = [&] {
        if (o.duration_s <= 0)
            return 0.0;
        return std::max(std::chrono::duration<double>(deadline - Clock::now()).count(), 0.001);
    };
    CountSession session(count_options(o, o.duration_s), sink);
    // The terminal is taken once counting works: an error before stays on the normal screen.
    TopView view(STDOUT_FILENO, STDIN_FILENO, filter_text(o), o.by == "cgroup" ? TopRows::Cgroups : TopRows::Processes,
                 o.top);
    pipeline.set_report_handler([&](const Report& report, uint32_t end_reason) {
        if (extras.on_report)
            extras.on_report(report);
        if (report.final)
            view.summary(report, end_reason);
        else
            view.interval(report);
    });
    LiveHooks hooks;
    hooks.keys_fd = view.keys_fd();
    hooks.keys_quit = [&] { return view.read_keys(); };
    hooks.resized = [&] { view.redraw(); };
    for (;;) {
        if (session.run(hooks, [&] { return view.open_requested(); }))
            return 0;  // q, Ctrl-C, SIGTERM, --duration: the table printed its summary
        const std::optional<uint32_t> pid = view.take_open_request();
        if (!pid)
            continue;

        TraceOptions one = o;
        one.all = false;
        one.cgroup.clear();
        one.comm.clear();
        one.pid = static_cast<int>(*pid);
        one.duration_s = time_left();
        LiveRunExtras nested;
        nested.terminal = &view.terminal();
        std::optional<Report> final_report;
        uint32_t end_reason = 0;
        nested.on_summary = [&](const Report& report, uint32_t reason) {
            final_report = report;
            end_reason = reason;
        };
        try {
            run_live(one, nested);
        } catch (const std::runtime_error& e) {
            view.set_status(e.what());  // gone, or not traceable: one line, and the table again
            view.redraw();
            continue;
        }
        if (end_reason == MT_END_QUIT) {
            view.set_status(fmt::format("back from pid {}", *pid));
        } else if (end_reason == MT_END_TARGET_EXITED) {
            view.set_status(fmt::format("pid {} exited", *pid));
        } else {
            view.finish(final_report ? summary_text(*final_report, end_reason) : std::string());
            return 0;
        }
        view.redraw();
    }
}

}  // namespace

int run_system(const TraceOptions& o, const LiveRunExtras& extras)
{
    check_system_options(o);
    const OutputMode mode = output_mode(o, extras.quiet);
    if (mode == OutputMode::Live)
        return run_top(o, extras);
    PlainCodeNamer namer;
    PipelineOptions pipeline_options;
    pipeline_options.top_processes = o.top;
    Pipeline pipeline(pipeline_options, namer);
    auto sink = [&](const void* data, size_t size) {
        if (extras.record)
            extras.record(data, size);
        pipeline.handle(data, size);
    };
    std::unique_ptr<ReportOutput> output;
    if (mode == OutputMode::Json)
        output = std::make_unique<JsonOutput>(STDOUT_FILENO);
    else if (mode != OutputMode::None)
        output = std::make_unique<TextOutput>(STDOUT_FILENO, o.by == "cgroup");
    pipeline.set_report_handler([&](const Report& report, uint32_t end_reason) {
        if (extras.on_report)
            extras.on_report(report);
        if (!output)
            return;
        if (report.final)
            output->summary(report, end_reason);
        else
            output->interval(report);
    });
    CountSession session(count_options(o, o.duration_s), sink);
    fmt::print(stderr, "memtrace: counting the faults of {}... Ctrl-C to end\n", terminal_safe(filter_text(o)));
    session.run({});
    return 0;
}

int run_live(const TraceOptions& o, const LiveRunExtras& extras)
{
    check_options(o);
    const bool stacks = wants_stacks(o);
    std::optional<Credentials> run_as;
    if (!o.user.empty())
        run_as = credentials_of(o.user);
    StackFiles stack_files(o.stack_files);
    // Opened from -a's table: its terminal, whatever --text says.
    const OutputMode mode = extras.terminal ? OutputMode::Live : output_mode(o, extras.quiet);

    SymbolizerCodeNamer namer;
    PipelineOptions pipeline_options;
    // Nothing shown while recording: sites are named when the trace is reported, not each interval.
    pipeline_options.sites = mode == OutputMode::None ? 0 : o.sites;
    Pipeline pipeline(pipeline_options, namer);

    LiveOptions live;
    live.pid = o.pid;
    live.command = o.command;
    live.command_output = command_output(o, mode);
    live.run_as = run_as ? &*run_as : nullptr;
    live.follow = o.follow;
    live.duration_s = o.duration_s;
    live.interval_s = o.interval_s;
    live.ringbuf_mib = o.ringbuf_mib;
    live.latency = o.latency;
    live.stacks = stacks;
    live.stack_sample_period = stacks ? o.stack_sample.value_or(kDefaultStackSample) : 0;
    live.verbose = o.verbose;
    live.fault_source = o.fault_source == "perf-event" ? 2 : o.fault_source == "tracepoint" ? 1 : 0;
    live.overflow_pages = o.overflow_pages;
    auto sink = [&](const void* data, size_t size) {
        if (extras.record)
            extras.record(data, size);
        pipeline.handle(data, size);
    };

    // Every output but the live view is there before the first record (the layout synthesized at
    // attach is in --events as in a replay); the live view takes the terminal once tracing works.
    std::unique_ptr<ReportOutput> output;
    switch (mode) {
    case OutputMode::Live: break;
    case OutputMode::Text: output = std::make_unique<TextOutput>(STDOUT_FILENO); break;
    case OutputMode::Json: output = std::make_unique<JsonOutput>(STDOUT_FILENO); break;
    case OutputMode::Events: {
        auto events = std::make_unique<EventsOutput>(stdout, pipeline, STDERR_FILENO);
        pipeline.set_record_observer([out = events.get()](const Record& r, SegmentId seg, const Process& p) {
            out->record(r, seg, p);
        });
        output = std::move(events);
        break;
    }
    case OutputMode::None: break;
    }
    LiveSession session(live, sink, pipeline);
    LiveView* view = nullptr;
    if (mode == OutputMode::Live) {
        auto title = [&] {
            const Process* p = pipeline.processes().find(session.target());
            return fmt::format("pid {} ({})", session.target(), p ? p->comm : session.comm());
        };
        auto live_view = extras.terminal ? std::make_unique<LiveView>(*extras.terminal, title)
                                         : std::make_unique<LiveView>(STDOUT_FILENO, STDIN_FILENO, title);
        view = live_view.get();
        output = std::move(live_view);
    }
    pipeline.set_report_handler([&](const Report& report, uint32_t end_reason) {
        if (extras.on_report)
            extras.on_report(report);
        if (report.final && extras.on_summary)
            extras.on_summary(report, end_reason);
        if (!output)
            return;
        if (report.final)
            output->summary(report, end_reason);
        else
            output->interval(report);
    });
    if (mode != OutputMode::Live && session.exited_while_attaching())
        fmt::print(stderr, "memtrace: pid {} exited while memtrace attached: the summary shows what was seen\n",
                   session.target());
    else if (mode != OutputMode::Live)  // record too: the user knows when tracing has started
        fmt::print(stderr, "memtrace: tracing {} {} ({}){}... Ctrl-C to end\n", session.launched() ? "command" : "pid",
                   session.target(), terminal_safe(session.comm()), o.follow ? " and its children" : "");

    LiveHooks hooks;
    if (view) {
        hooks.keys_fd = view->keys_fd();
        hooks.keys_quit = [view] { return view->quit_requested(); };
        hooks.resized = [view] { view->redraw(); };
    }
    session.run(hooks);
    for (const std::string& m : namer.mismatches())
        if (!extras.terminal)  // opened from -a's table, whose next frame would only draw over it
            fmt::print(stderr, "memtrace: no file of the recorded build of {} here: its code is named by offset\n",
                   terminal_safe(m));

    if (o.stack_files.any())
        stack_files.write(pipeline.stacks(), session.comm(), live.stack_sample_period);
    return 0;
}

}  // namespace memtrace
