// The default command: trace a running process (-p) or a command (-- CMD ARGS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "output/stack_files.h"

namespace CLI {
class App;
}

namespace memtrace {

class LiveTerminal;
struct Report;

struct TraceOptions {
    int pid = 0;
    std::vector<std::string> command;
    bool follow = false;
    double duration_s = 0;  // 0: until the target exits or Ctrl-C
    double interval_s = 1;
    bool json = false;
    bool events = false;
    bool text = false;  // plain text even on a terminal
    std::string command_output;
    unsigned ringbuf_mib = 8;
    size_t sites = 10;       // fault sites shown (0: none)
    bool latency = false;    // fault latency histograms
    bool stacks = false;     // user stacks of faults, brk, mmap, munmap and mremap
    std::optional<uint32_t> stack_sample;  // one fault in this many gets its stack (implies stacks)
    StackFileOptions stack_files;          // --folded, --folded-bytes, --flamegraph (imply stacks)
    std::string user;        // -u: run the command as this user
    bool verbose = false;
    std::string fault_source = "auto";  // auto, tracepoint, perf-event
    uint32_t overflow_pages = 65536;    // the kernel's overflow table (hidden: tests and tuning)
    // -a, --cgroup, --comm: every process (of a cgroup, of a name), counted in the kernel.
    bool all = false;
    std::string cgroup, comm;
    std::string by = "process";  // the table's rows: process or cgroup
    size_t top = 20;             // rows shown
    bool top_given = false;      // --top was given (the live table shows every row otherwise)
};

// One fault in this many on each CPU has its stack taken when --stacks is on (see BENCHMARKS.md).
constexpr uint32_t kDefaultStackSample = 64;

void setup_trace_options(CLI::App& app, TraceOptions& options);
// --stacks, or an option that needs them.
bool wants_stacks(const TraceOptions& options);
// -a, --cgroup or --comm: the whole machine (or a part of it), counted in the kernel.
bool system_wide(const TraceOptions& options);
// Runs the trace; returns the exit code. Throws std::runtime_error with a one-line message.
int run_trace(const TraceOptions& options);

// What `memtrace record` adds to a live run: every record also goes to `record`, and every report
// to `on_report` (its progress line).
struct LiveRunExtras {
    std::function<void(const void* data, size_t size)> record;
    std::function<void(const Report& report)> on_report;
    bool quiet = false;  // no report unless --text/--json/--events asked for one
    // A process's live view opened from -a's table (Enter): drawn on the table's terminal, which
    // it leaves as it is at the end; the final report and why the trace ended go to `on_summary`
    // instead of stdout.
    LiveTerminal* terminal = nullptr;
    std::function<void(const Report& report, uint32_t end_reason)> on_summary;
};
int run_live(const TraceOptions& options, const LiveRunExtras& extras);
// -a, --cgroup, --comm.
int run_system(const TraceOptions& options, const LiveRunExtras& extras);

}  // namespace memtrace
