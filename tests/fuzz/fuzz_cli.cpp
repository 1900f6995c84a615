// memtrace's command line: arbitrary argument vectors (the input split on NUL bytes) through the
// same CLI11 app main() builds. A rejected command line is a CLI::ParseError (help and version
// requests included); anything else that escapes, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::vector<std::string> args{"memtrace"};
    std::string current;
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            args.push_back(current);
            current.clear();
        } else {
            current += static_cast<char>(data[i]);
        }
    }
    if (size)
        args.push_back(current);
    if (args.size() > 64)
        return 0;  // a long argv only repeats what a short one exercises
    std::vector<const char*> argv;
    for (const std::string& a : args)
        argv.push_back(a.c_str());

    memtrace::Cli cli;
    try {
        cli.app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
        std::ostringstream out, err;
        cli.app.exit(e, out, err);  // formats the help text or the error, as main() does
        return 0;
    }
    // Parsed: what main() dispatches on must be consistent.
    int chosen = bool(*cli.maps_cmd) + bool(*cli.demo_cmd) + bool(*cli.workload_cmd);
    if (chosen > 1)
        __builtin_trap();
    if (*cli.maps_cmd && cli.maps.pid <= 0)
        __builtin_trap();  // -p is required and checked positive
    if (cli.trace.pid < 0)
        __builtin_trap();
    // Accepted durations are turned into steady_clock durations (int64 nanoseconds): a value the
    // conversion cannot hold (NaN, 1e300) is undefined behaviour there, so the parser must refuse it.
    for (double seconds : {cli.trace.duration_s, cli.trace.interval_s, cli.demo.interval_s})
        if (!(seconds >= 0 && seconds < 9.2e9))
            __builtin_trap();
    return 0;
}
