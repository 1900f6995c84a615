#include "output/format_util.h"

#include <linux/types.h>

#include "memtrace/events.h"

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

uint64_t per_second(uint64_t n, double seconds)
{
    if (!(seconds > 0))
        return n;
    const double rate = n / seconds + 0.5;
    // A count over a tiny interval can be past what 64 bits hold: converting it would be undefined.
    return rate >= 18446744073709551615.0 ? UINT64_MAX : static_cast<uint64_t>(rate);
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

namespace {

// The code point of the UTF-8 sequence at s[i] and its length; length 0 when the bytes there are
// not a valid sequence.
std::pair<uint32_t, size_t> decode_utf8(std::string_view s, size_t i)
{
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b = byte(i);
    if (b < 0x80)
        return {b, 1};
    size_t len = 0;
    if (b >= 0xc2 && b <= 0xdf)
        len = 2;
    else if (b >= 0xe0 && b <= 0xef)
        len = 3;
    else if (b >= 0xf0 && b <= 0xf4)
        len = 4;
    if (len == 0 || i + len > s.size())
        return {0, 0};
    uint32_t cp = b & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80)
            return {0, 0};
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return {0, 0};
    return {cp, len};
}

// Code points a terminal acts on rather than shows: C0/C1 controls, and the ones that reorder
// text or break lines (a file named with U+202E can make a row read backwards).
bool is_terminal_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

bool is_valid_utf8(std::string_view s)
{
    for (size_t i = 0; i < s.size();) {
        size_t len = decode_utf8(s, i).second;
        if (!len)
            return false;
        i += len;
    }
    return true;
}

std::string terminal_safe(std::string_view name)
{
    std::string out;
    out.reserve(name.size());
    for (size_t i = 0; i < name.size();) {
        auto [cp, len] = decode_utf8(name, i);
        if (len == 0) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(name[i]));
            ++i;
            continue;
        }
        if (cp == '\\')
            out += "\\\\";
        else if (cp == '\n')
            out += "\\n";
        else if (cp == '\t')
            out += "\\t";
        else if (cp == '\r')
            out += "\\r";
        else if (cp < 0x80 && is_terminal_control(cp))
            out += fmt::format("\\x{:02x}", cp);
        else if (is_terminal_control(cp))
            out += fmt::format("\\u{:04x}", cp);
        else
            out.append(name.substr(i, len));
        i += len;
    }
    return out;
}

const char* kind_name(int kind)
{
    static const char* const names[] = {"text", "rodata", "data", "bss", "heap", "stack", "thread_stack",
                                        "anon", "file", "shm", "vdso", "unmapped", "unknown"};
    static_assert(sizeof(names) / sizeof(names[0]) == MT_KINDS, "a name for every enum mt_kind");
    return kind >= 0 && kind < MT_KINDS ? names[kind] : "?";
}

}  // namespace memtrace
