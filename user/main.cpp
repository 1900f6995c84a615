// memtrace: watch a process's memory layout come alive, fault by fault.
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include "cli.h"
#include "commands/cmd_demo.h"
#include "commands/cmd_maps.h"
#include "commands/cmd_trace.h"

namespace {

// A descriptor 0, 1 or 2 that was closed when memtrace started is taken by /dev/null, read-only: a
// write to a closed stdout then fails (and memtrace says so) instead of landing in whatever file
// memtrace opens next, which would get that number.
void hold_standard_descriptors()
{
    for (int fd = 0; fd <= 2; ++fd) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        int held = open("/dev/null", O_RDONLY);
        if (held >= 0 && held != fd) {
            dup2(held, fd);
            close(held);
        }
    }
}

}  // namespace

int main(int argc, char** argv)
{
    hold_standard_descriptors();
    // A closed stdout (memtrace --events | head) is a write error to report, not a silent death.
    signal(SIGPIPE, SIG_IGN);
    memtrace::Cli cli;
    try {
        cli.app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return cli.app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return cli.app.exit(e);
    } catch (const CLI::CallForVersion& e) {
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
        if (*cli.exporter_cmd)
            return memtrace::run_exporter(cli.exporter);
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
