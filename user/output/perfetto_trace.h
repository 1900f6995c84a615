// memtrace report --perfetto: the trace in the Chrome JSON trace-event format, which
// ui.perfetto.dev and chrome://tracing open. Per process: its name and its threads' names
// (metadata events), counter tracks of resident memory ("rss": anon, file, shmem bytes; 0 from its
// exit on), heap size
// ("heap": bytes) and faults per second by segment kind ("faults/s"), one value per time bucket of
// the Timeline; instant events for mmap, munmap, brk, exec and crashes on the thread that made
// them. Names from the traced program are made valid UTF-8 (clean_utf8).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/report.h"

namespace memtrace {

// {"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}} for the final report.
nlohmann::json perfetto_trace(const Report& final_report);

}  // namespace memtrace
