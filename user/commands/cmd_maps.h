// `memtrace maps -p PID`: the annotated layout, each mapping split into its ELF sections.
#pragma once

namespace CLI {
class App;
}

namespace memtrace {

struct MapsOptions {
    int pid = 0;
    bool json = false;
};

void setup_maps_options(CLI::App& app, MapsOptions& options);
int run_maps(const MapsOptions& options);

}  // namespace memtrace
