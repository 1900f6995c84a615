// memtrace record: a live trace whose record stream also goes to a trace file (memtrace report).
#pragma once

#include <string>

#include "commands/cmd_trace.h"

namespace memtrace {

struct RecordOptions {
    TraceOptions trace;
    std::string output = "memtrace.data";  // -o, as perf's perf.data
    bool force = false;                     // overwrite an existing file
    int zstd_level = 3;
};

void setup_record_options(CLI::App& app, RecordOptions& options);
int run_record(const RecordOptions& options);

}  // namespace memtrace
