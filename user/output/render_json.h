// JSON rendering of a Report: one NDJSON line per interval (--json). Schema in README.md.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

#include "pipeline/report.h"

namespace memtrace {

// A name from the traced side (path, comm, symbol) as JSON, losslessly: a string when it is valid
// UTF-8, else the array of its byte values (as `journalctl -o json` gives such fields).
nlohmann::json json_name(const std::string& name);

nlohmann::json report_to_json(const Report& report);
void render_json_line(std::ostream& out, const Report& report);

}  // namespace memtrace
