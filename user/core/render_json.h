// JSON rendering of a Report: one NDJSON line per interval (--json). Schema in README.md.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

#include "report.h"

namespace memtrace {

nlohmann::json report_to_json(const Report& report);
void render_json_line(std::ostream& out, const Report& report);

}  // namespace memtrace
