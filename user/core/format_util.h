// Small number formatting shared by the renderers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace memtrace {

std::string with_commas(uint64_t n);        // 1234567 -> "1,234,567"
std::string human_bytes(uint64_t bytes);    // 1536 -> "1.5K", 4096 -> "4K", 3 << 20 -> "3M"
// "▁▂▅█": the last `width` values, scaled between their minimum (or 0 when from_zero) and maximum.
std::string sparkline(const std::vector<uint64_t>& values, size_t width, bool from_zero = false);
std::string bar(uint64_t value, uint64_t max, size_t width);               // "████▌" scaled to max
// Display width of a UTF-8 string (one column per code point: the renderers use no wide glyphs).
size_t display_width(const std::string& s);
// Cuts or pads a UTF-8 string to exactly `width` columns.
std::string fit(const std::string& s, size_t width);

}  // namespace memtrace
