// The text and JSON of memtrace report --diff.
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis/report_diff.h"

namespace memtrace {

void render_diff_text(std::ostream& out, const ReportDiff& diff, const std::string& name_a, const std::string& name_b,
                      size_t rows);
nlohmann::json diff_to_json(const ReportDiff& diff, const std::string& name_a, const std::string& name_b);

}  // namespace memtrace
