// /proc/PID/maps and smaps text: parse_maps_line on each line, parse_maps on the whole input.
// parse_maps rejects a line that is neither a mapping nor an smaps "Key: value" line with
// std::runtime_error; any other exception, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/maps_parser.h"

namespace {

void check(const memtrace::MapsEntry& e)
{
    if (e.end < e.start)
        __builtin_trap();
    std::string perms = e.perms();
    if (perms.size() != 4)
        __builtin_trap();
    (void)e.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(data), size);

    // Every line alone, the way the parser meets them.
    size_t mappings = 0;
    for (size_t pos = 0; pos <= text.size();) {
        size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (auto e = memtrace::parse_maps_line(line)) {
            check(*e);
            ++mappings;
        }
        if (nl == std::string_view::npos)
            break;
        pos = nl + 1;
    }

    // The whole text as a file.
    std::istringstream in{std::string(text)};
    try {
        std::vector<memtrace::MapsEntry> entries = memtrace::parse_maps(in);
        for (const memtrace::MapsEntry& e : entries)
            check(e);
        if (entries.size() != mappings)
            __builtin_trap();  // the file parser must take exactly the lines the line parser takes
    } catch (const std::runtime_error&) {
        // the documented rejection of a garbage file
    }
    return 0;
}
