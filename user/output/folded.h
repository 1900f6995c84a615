// Folded stacks: one "frame;frame;...;frame count" line per stack, root first, the format
// flamegraph.pl, inferno and speedscope read.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace memtrace {

// Writes `stacks` (folded line without count -> count) to `fd`, sorted for stable output; returns
// the number of lines. Throws std::runtime_error on a write error.
uint64_t write_folded(int fd, const std::unordered_map<std::string, uint64_t>& stacks);

}  // namespace memtrace
