#include "format_util.h"

#include <algorithm>

#include <fmt/format.h>

namespace memtrace {

std::string with_commas(uint64_t n)
{
    std::string digits = std::to_string(n);
    std::string out;
    int lead = static_cast<int>(digits.size() % 3);
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (static_cast<int>(i) - lead) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

std::string human_bytes(uint64_t bytes)
{
    static const char* units[] = {"", "K", "M", "G", "T", "P", "E"};
    double v = static_cast<double>(bytes);
    int u = 0;
    // Step up also when one decimal would round to 1024 ("1024.0K" is "1M").
    while ((v >= 1024 || (u > 0 && v >= 1023.95)) && u < 6) {
        v /= 1024;
        ++u;
    }
    if (u == 0)
        return fmt::format("{}", bytes);
    if (v == static_cast<uint64_t>(v))
        return fmt::format("{}{}", static_cast<uint64_t>(v), units[u]);
    return fmt::format("{:.1f}{}", v, units[u]);
}

std::string sparkline(const std::vector<uint64_t>& values, size_t width, bool from_zero)
{
    static const char* ticks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    size_t first = values.size() > width ? values.size() - width : 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = first; i < values.size(); ++i) {
        lo = std::min(lo, values[i]);
        hi = std::max(hi, values[i]);
    }
    if (from_zero)
        lo = 0;
    std::string out;
    for (size_t i = first; i < values.size(); ++i) {
        int level = hi == lo ? (hi ? 7 : 0) : static_cast<int>((values[i] - lo) * 7 / (hi - lo));
        if (from_zero && values[i] == 0)
            level = -1;  // an empty bucket draws as a gap, not as the lowest tick
        out += level < 0 ? " " : ticks[level];
    }
    return out;
}

std::string bar(uint64_t value, uint64_t max, size_t width)
{
    static const char* partial[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    if (!max || !width)
        return {};
    uint64_t eighths = value * width * 8 / max;
    if (value && !eighths)
        eighths = 1;  // a non-zero count never draws as nothing
    std::string out;
    for (uint64_t i = 0; i < eighths / 8; ++i)
        out += "█";
    out += partial[eighths % 8];
    return out;
}

size_t display_width(const std::string& s)
{
    return std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; });
}

std::string fit(const std::string& s, size_t width)
{
    std::string out;
    size_t cols = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        bool starts_char = (static_cast<unsigned char>(s[i]) & 0xc0) != 0x80;
        if (starts_char && cols == width)
            break;
        cols += starts_char;
        out += s[i];
    }
    out.append(width - cols, ' ');
    return out;
}

}  // namespace memtrace
