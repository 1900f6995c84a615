// `memtrace demo`: traces a built-in workload that walks through the segments of a process.
#pragma once

namespace CLI {
class App;
}

namespace memtrace {

struct TraceOptions;

void setup_demo_options(CLI::App& app, TraceOptions& options);
int run_demo(TraceOptions options);
// The workload itself (hidden subcommand `demo-workload`); `pace` scales its pauses.
int run_demo_workload(double pace);

}  // namespace memtrace
