// memtrace: watch a process's memory layout come alive, fault by fault.
#include <csignal>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include "cli.h"
#include "commands/cmd_demo.h"
#include "commands/cmd_maps.h"
#include "commands/cmd_trace.h"

int main(int argc, char** argv)
{
    // A closed stdout (memtrace --events | head) is a write error to report, not a silent death.
    signal(SIGPIPE, SIG_IGN);
    memtrace::Cli cli;
    try {
        cli.app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return cli.app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return cli.app.exit(e);
    } catch (const CLI::ParseError& e) {
        fmt::print(stderr, "memtrace: {} (see memtrace --help)\n", e.what());
        return 2;
    }

    try {
        if (*cli.record_cmd)
            return memtrace::run_record(cli.record);
        if (*cli.report_cmd)
            return memtrace::run_report(cli.report);
        if (*cli.maps_cmd)
            return memtrace::run_maps(cli.maps);
        if (*cli.demo_cmd)
            return memtrace::run_demo(cli.demo);
        if (*cli.workload_cmd)
            return memtrace::run_demo_workload(cli.pace);
        return memtrace::run_trace(cli.trace);
    } catch (const std::exception& e) {
        fmt::print(stderr, "memtrace: {}\n", e.what());
        return 1;
    }
}
