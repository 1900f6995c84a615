// Parses /proc/PID/maps and /proc/PID/smaps text.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memtrace {

struct MapsEntry {
    uint64_t start = 0;
    uint64_t end = 0;
    bool read = false, write = false, exec = false, shared = false;
    uint64_t offset = 0;
    uint32_t dev_major = 0, dev_minor = 0;
    uint64_t inode = 0;
    std::string path;  // may be empty, "[heap]", "/dev/zero (deleted)", ...
    uint64_t rss_kib = 0;  // only from smaps

    uint64_t size() const { return end - start; }
    std::string perms() const;  // "r-xp" as the kernel prints it
};

// One line of /proc/PID/maps; nullopt when the line is not one.
std::optional<MapsEntry> parse_maps_line(std::string_view line);

// Every mapping in a maps or smaps text; throws std::runtime_error on a line that is neither a
// mapping nor an smaps "Key: value" line (a garbage file must not pass as an empty process).
std::vector<MapsEntry> parse_maps(std::istream& in);

// Reads /proc/PID/maps (or smaps when with_rss). Throws std::runtime_error naming the file.
std::vector<MapsEntry> read_proc_maps(int pid, bool with_rss = false);

}  // namespace memtrace
