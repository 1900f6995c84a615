// Views of a Timeline that the HTML page and the Perfetto trace share: gauges carried from the
// bucket where they were sampled to the next sample, resident memory summed over the processes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/pictures.h"

namespace memtrace {

using GaugeSeries = std::vector<std::optional<int64_t>>;  // per bucket; nullopt: not known yet

// The value known at the end of each bucket: the last sample at or before it.
GaugeSeries carried(const std::vector<int64_t>& samples);

// The pictured process's series, or null.
const Timeline::Process* pictured_series(const Timeline& timeline);

struct MemorySeries {
    GaugeSeries heap;               // of the pictured process
    GaugeSeries anon, file, shmem;  // resident, summed over the traced processes
};
MemorySeries memory_series(const Timeline& timeline);

// "0x7ffd5ed1a000": addresses as text (JSON numbers lose precision above 2^53 in JavaScript).
std::string hex_address(uint64_t addr);

}  // namespace memtrace
