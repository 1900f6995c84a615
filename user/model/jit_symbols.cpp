#include "model/jit_symbols.h"

#include <charconv>

namespace memtrace {

void JitSymbols::add(JitSymbol symbol)
{
    if (symbol.size == 0 || symbol.start + symbol.size < symbol.start)
        return;
    // What the new one covers is the new one's: code was freed and the space reused.
    auto it = by_start_.lower_bound(symbol.start);
    if (it != by_start_.begin()) {
        auto prev = std::prev(it);
        if (prev->second.start + prev->second.size > symbol.start)
            it = prev;
    }
    while (it != by_start_.end() && it->second.start < symbol.start + symbol.size)
        it = by_start_.erase(it);
    if (by_start_.size() >= kMaxSymbols)
        by_start_.erase(by_start_.begin());
    uint64_t start = symbol.start;
    by_start_.emplace(start, std::move(symbol));
    ++generation_;
}

const JitSymbol* JitSymbols::find(uint64_t addr) const
{
    auto it = by_start_.upper_bound(addr);
    if (it == by_start_.begin())
        return nullptr;
    --it;
    return addr < it->second.start + it->second.size ? &it->second : nullptr;
}

std::optional<JitSymbol> parse_perf_map_line(std::string_view line)
{
    auto hex_field = [&](uint64_t& out) {
        size_t end = line.find(' ');
        if (end == std::string_view::npos || end == 0)
            return false;
        std::string_view field = line.substr(0, end);
        if (field.size() > 2 && field[0] == '0' && (field[1] == 'x' || field[1] == 'X'))
            field.remove_prefix(2);
        auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), out, 16);
        if (ec != std::errc() || ptr != field.data() + field.size())
            return false;
        line.remove_prefix(end + 1);
        return true;
    };
    JitSymbol s;
    if (!hex_field(s.start) || !hex_field(s.size))
        return std::nullopt;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.remove_suffix(1);
    if (line.empty())
        return std::nullopt;
    s.name = std::string(line);
    return s;
}

}  // namespace memtrace
