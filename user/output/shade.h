// Shading of a value among others on a terminal: four block shades on a log scale, so that a
// region with ten faults still shows next to one with a million.
#pragma once

#include <cmath>
#include <cstdint>

namespace memtrace {

// 0 for nothing, else 1 (least) to 4 (as much as `max`).
inline int shade_level(uint64_t value, uint64_t max)
{
    if (value == 0 || max == 0)
        return 0;
    if (max == 1 || value >= max)
        return 4;
    return 1 + static_cast<int>(3 * std::log(static_cast<double>(value)) / std::log(static_cast<double>(max)));
}

// " ", "░", "▒", "▓", "█" for levels 0 to 4.
inline const char* shade_glyph(int level)
{
    static const char* const glyphs[] = {" ", "░", "▒", "▓", "█"};
    return glyphs[level < 0 ? 0 : level > 4 ? 4 : level];
}

}  // namespace memtrace
