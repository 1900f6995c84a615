#include "model/maps_parser.h"

#include <charconv>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace memtrace {
namespace {

// Splits off the next space-separated field; leading spaces are skipped.
std::string_view next_field(std::string_view& rest)
{
    size_t begin = rest.find_first_not_of(' ');
    if (begin == std::string_view::npos) {
        rest = {};
        return {};
    }
    rest.remove_prefix(begin);
    size_t end = rest.find(' ');
    std::string_view field = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    return field;
}

template <typename T>
bool parse_number(std::string_view s, T& out, int base)
{
    if (s.empty())
        return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && ptr == s.data() + s.size();
}

template <typename T>
bool parse_pair(std::string_view s, char sep, T& a, T& b)
{
    size_t pos = s.find(sep);
    return pos != std::string_view::npos && parse_number(s.substr(0, pos), a, 16) &&
           parse_number(s.substr(pos + 1), b, 16);
}

}  // namespace

std::string MapsEntry::perms() const
{
    return {read ? 'r' : '-', write ? 'w' : '-', exec ? 'x' : '-', shared ? 's' : 'p'};
}

std::optional<MapsEntry> parse_maps_line(std::string_view line)
{
    MapsEntry e;
    std::string_view rest = line;
    if (!parse_pair(next_field(rest), '-', e.start, e.end) || e.end < e.start)
        return std::nullopt;
    std::string_view perms = next_field(rest);
    if (perms.size() != 4)
        return std::nullopt;
    e.read = perms[0] == 'r';
    e.write = perms[1] == 'w';
    e.exec = perms[2] == 'x';
    e.shared = perms[3] == 's';
    if (!parse_number(next_field(rest), e.offset, 16))
        return std::nullopt;
    if (!parse_pair(next_field(rest), ':', e.dev_major, e.dev_minor))
        return std::nullopt;
    if (!parse_number(next_field(rest), e.inode, 10))
        return std::nullopt;
    // The path is the rest of the line after the padding; it may itself contain spaces.
    size_t begin = rest.find_first_not_of(' ');
    if (begin != std::string_view::npos)
        e.path = std::string(rest.substr(begin));
    return e;
}

std::vector<MapsEntry> parse_maps(std::istream& in)
{
    std::vector<MapsEntry> out;
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        if (line.empty())
            continue;
        if (auto e = parse_maps_line(line)) {
            out.push_back(std::move(*e));
            continue;
        }
        // smaps attribute lines: "Rss:   123 kB", "VmFlags: rd wr ...".
        size_t colon = line.find(':');
        if (colon != std::string::npos && colon > 0 && line.find(' ') > colon && !out.empty()) {
            if (line.compare(0, colon, "Rss") == 0) {
                std::string_view rest = std::string_view(line).substr(colon + 1);
                uint64_t kib = 0;
                if (parse_number(next_field(rest), kib, 10))
                    out.back().rss_kib = kib;
            }
            continue;
        }
        throw std::runtime_error(fmt::format("line {} is not a memory mapping", lineno));
    }
    return out;
}

std::vector<MapsEntry> read_proc_maps(int pid, bool with_rss)
{
    std::string path = fmt::format("/proc/{}/{}", pid, with_rss ? "smaps" : "maps");
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error(fmt::format("cannot read {}", path));
    try {
        return parse_maps(in);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
    }
}

}  // namespace memtrace
