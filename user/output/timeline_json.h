// The data the HTML report's charts are drawn from, as JSON: the page embeds it, so that what a
// chart shows can be read back (by a test, by a script) without parsing the SVG.
#pragma once

#include <nlohmann/json.hpp>

#include "pipeline/report.h"

namespace memtrace {

// {"elapsed_s", "bucket_s", "buckets", "pid", "comm", "faults",
//  "bands": [{"label", "segments": [...], "kind", "area", "low", "high", "row_bytes", "rows": [ADDR...],
//             "faults"}],
//  "cells": [[bucket, band, row, faults]...],
//  "segments": [{"segment", "kind", "faults", "per_bucket": [...]}],
//  "heap": [...], "rss": {"anon": [...], "file": [...], "shmem": [...]},  // per bucket, null: unknown
//  "markers": {"counts": {"mmap": [...], ...}, "kept": [{"kind", "t_s", "pid", "tid", "addr", "len",
//              "text"}], "not_kept": N},
//  "processes": [{"pid", "comm", "faults", "threads"}], "processes_not_kept": N}
// Addresses are hex strings; names from the traced side as json_name() gives them.
nlohmann::json timeline_json(const Report& report);

}  // namespace memtrace
