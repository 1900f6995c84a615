// memtrace's command line: the options and subcommands, built but not parsed and not run.
// main.cpp parses and dispatches; tests/fuzz/fuzz_cli.cpp feeds it arbitrary argument vectors.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "commands/cmd_exporter.h"
#include "commands/cmd_maps.h"
#include "commands/cmd_record.h"
#include "commands/cmd_report.h"
#include "commands/cmd_trace.h"

namespace memtrace {

// What --version prints: "memtrace 0.1.0 (commit 0123456789ab)" ("-dirty" after an uncommitted build).
std::string version_string();

// The app binds its options to the fields below by address: built in place, never copied.
struct Cli {
    Cli();
    Cli(const Cli&) = delete;
    Cli& operator=(const Cli&) = delete;

    TraceOptions trace;  // the default command: -p PID or -- CMD ARGS
    RecordOptions record;
    ReportOptions report;
    MapsOptions maps;
    ExporterOptions exporter;
    TraceOptions demo;
    double pace = 1.0;  // demo-workload --pace

    CLI::App app;
    CLI::App* record_cmd = nullptr;
    CLI::App* report_cmd = nullptr;
    CLI::App* maps_cmd = nullptr;
    CLI::App* exporter_cmd = nullptr;
    CLI::App* demo_cmd = nullptr;
    CLI::App* workload_cmd = nullptr;
};

}  // namespace memtrace
