// -a, --cgroup, --comm: the top-like table of the busiest processes (or cgroups) of each
// interval, as text and as JSON, from the report's activity rows.
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/report.h"

namespace memtrace {

// "heap 62%, anon 30%": the kinds that took most of a row's faults of the interval (of all of
// them when the interval had none), at most `n`.
std::string leading_kinds(const ActivityRow& row, size_t n = 2);

void render_activity_text(std::ostream& out, const Report& r, bool by_cgroup);
nlohmann::json activity_to_json(const Report& r);

}  // namespace memtrace
