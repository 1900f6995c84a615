// memtrace: watch a process's memory layout come alive, fault by fault.
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd_demo.h"
#include "cmd_maps.h"
#include "cmd_trace.h"

namespace {

const char* kExamples = R"(
EXAMPLES:
    memtrace demo                     # trace a built-in workload that walks through every segment
    memtrace -p 1234                  # live view of pid 1234's faults per segment (Ctrl-C or q ends)
    memtrace -- python3 script.py     # start a command and trace it from its first instruction
    memtrace -f -- make -j2           # follow the processes the command forks
    memtrace -d 10 --json -p 1234     # 10 s, one NDJSON object per second, then a summary object
    memtrace --events -- ls           # every fault, mmap and brk as a line, with its segment
    memtrace maps -p 1234             # the annotated layout: mappings split into ELF sections

Tracing needs root (or CAP_BPF and CAP_PERFMON) and a kernel with BTF; `maps` needs only read
access to /proc/PID. Output: the live view on a terminal, plain-text snapshots otherwise.)";

}  // namespace

int main(int argc, char** argv)
{
    // A closed stdout (memtrace --events | head) is a write error to report, not a silent death.
    signal(SIGPIPE, SIG_IGN);
    CLI::App app{"memtrace: page faults, brk and mmap of a process, attributed to its segments, live"};
    app.footer(kExamples);
    memtrace::TraceOptions trace;
    memtrace::setup_trace_options(app, trace);

    memtrace::MapsOptions maps;
    CLI::App* maps_cmd = app.add_subcommand("maps", "Show the annotated memory layout of a process");
    memtrace::setup_maps_options(*maps_cmd, maps);

    memtrace::TraceOptions demo;
    CLI::App* demo_cmd = app.add_subcommand("demo", "Trace a built-in workload that walks through the segments");
    memtrace::setup_demo_options(*demo_cmd, demo);

    double pace = 1.0;
    CLI::App* workload_cmd = app.add_subcommand("demo-workload", "The demo's workload, untraced");
    workload_cmd->group("");  // hidden: memtrace demo runs it
    workload_cmd->add_option("--pace", pace, "Scale the pauses (0 = no pauses)");
    app.require_subcommand(0, 1);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        fmt::print(stderr, "memtrace: {} (see memtrace --help)\n", e.what());
        return 2;
    }

    try {
        if (*maps_cmd)
            return memtrace::run_maps(maps);
        if (*demo_cmd)
            return memtrace::run_demo(demo);
        if (*workload_cmd)
            return memtrace::run_demo_workload(pace);
        return memtrace::run_trace(trace);
    } catch (const std::exception& e) {
        fmt::print(stderr, "memtrace: {}\n", e.what());
        return 1;
    }
}
