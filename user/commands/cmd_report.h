// memtrace report: a recorded trace through the same pipeline as a live one, no root needed; and
// memtrace report --diff A B.
#pragma once

#include <string>
#include <vector>

#include "output/stack_files.h"

namespace CLI {
class App;
}

namespace memtrace {

struct ReportOptions {
    std::string file = "memtrace.data";
    std::vector<std::string> diff;  // --diff A B
    bool json = false, events = false, text = false;
    size_t sites = 10;
    double interval_s = 0;  // 0: the recorded intervals
    int pid = 0;            // 0: every process
    std::string time;       // "FROM,TO" seconds since the start
    StackFileOptions stack_files;  // --folded, --folded-bytes, --flamegraph
    std::string html, perfetto;  // the pictures: an HTML page, a Perfetto (Chrome JSON) trace
    bool latency = false, stacks = false;  // ask for what the trace must hold
};

void setup_report_options(CLI::App& app, ReportOptions& options);
int run_report(const ReportOptions& options);

}  // namespace memtrace
