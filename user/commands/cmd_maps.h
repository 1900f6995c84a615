// `memtrace maps -p PID`: the annotated layout, each mapping split into its ELF sections; with
// --diagram, drawn as the live view's layout diagram, shaded by resident memory.
#pragma once

namespace CLI {
class App;
}

namespace memtrace {

struct MapsOptions {
    int pid = 0;
    bool json = false;
    bool diagram = false;  // the layout diagram instead of the table
};

void setup_maps_options(CLI::App& app, MapsOptions& options);
int run_maps(const MapsOptions& options);

}  // namespace memtrace
