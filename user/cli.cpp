#include "cli.h"

#include "commands/cmd_demo.h"
#include "commands/seconds_option.h"
#include "version.h"

namespace memtrace {
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
    memtrace -a                       # every process on the machine, by fault rate (a top-like table)
    memtrace exporter                 # the same for Prometheus: http://127.0.0.1:9479/metrics
    sudo memtrace record -- ./app     # trace ./app into memtrace.data (-o FILE)
    memtrace report                   # the same reports from memtrace.data, no root needed
    memtrace report --diff a.data b.data  # what changed between two traces

Tracing needs root (or CAP_BPF and CAP_PERFMON) and a kernel with BTF; `maps` needs only read
access to /proc/PID. Output: the live view on a terminal, plain-text snapshots otherwise.)";

}  // namespace

std::string version_string()
{
    return std::string("memtrace ") + MEMTRACE_VERSION + " (commit " + MEMTRACE_GIT_COMMIT + ")";
}

// The name is given, not taken from argv[0]: the usage line says "memtrace" however it was started.
Cli::Cli() : app("memtrace: page faults, brk and mmap of a process, attributed to its segments, live", "memtrace")
{
    app.footer(kExamples);
    app.set_version_flag("--version", version_string(), "Print the version and the git commit it was built from");
    setup_trace_options(app, trace);

    record_cmd = app.add_subcommand("record", "Trace like the default command, and write the trace to a file");
    setup_record_options(*record_cmd, record);

    report_cmd = app.add_subcommand("report", "Report a trace file written by memtrace record (no root needed)");
    setup_report_options(*report_cmd, report);

    maps_cmd = app.add_subcommand("maps", "Show the annotated memory layout of a process");
    setup_maps_options(*maps_cmd, maps);

    exporter_cmd = app.add_subcommand("exporter", "Serve every process's faults by kind to Prometheus on /metrics");
    setup_exporter_options(*exporter_cmd, exporter);

    demo_cmd = app.add_subcommand("demo", "Trace a built-in workload that walks through the segments");
    setup_demo_options(*demo_cmd, demo);

    workload_cmd = app.add_subcommand("demo-workload", "The demo's workload, untraced");
    workload_cmd->group("");  // hidden: memtrace demo runs it
    workload_cmd->add_option("--pace", pace, "Scale the pauses (0 = no pauses)")->check(seconds_between(0, 100));
    app.require_subcommand(0, 1);
}

}  // namespace memtrace
