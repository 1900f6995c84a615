// memtrace exporter: the counting pipeline of -a (every process, a cgroup's, a name's, or one pid)
// served to Prometheus on /metrics.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace memtrace {

struct ExporterOptions {
    std::string listen = "127.0.0.1:9479";
    bool listen_remote = false;
    bool all = false;            // -a: the default when nothing narrower is given
    std::string cgroup, comm;
    int pid = 0;
    bool latency = false;
    double interval_s = 1;       // how often the series are refreshed from the kernel
    double duration_s = 0;       // 0: until SIGINT/SIGTERM
    size_t max_groups = 100;     // (cgroup, comm) series kept apart
    bool verbose = false;
};

void setup_exporter_options(CLI::App& app, ExporterOptions& options);
int run_exporter(const ExporterOptions& options);

}  // namespace memtrace
