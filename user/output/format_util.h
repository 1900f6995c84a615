// Small number formatting shared by the renderers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memtrace {

std::string with_commas(uint64_t n);        // 1234567 -> "1,234,567"
std::string human_bytes(uint64_t bytes);    // 1536 -> "1.5K", 4096 -> "4K", 3 << 20 -> "3M"
// `n` a second over `seconds`, rounded (`n` itself over no time; saturated, never undefined).
uint64_t per_second(uint64_t n, double seconds);
// "▁▂▅█": the last `width` values, scaled between their minimum (or 0 when from_zero) and maximum.
std::string sparkline(const std::vector<uint64_t>& values, size_t width, bool from_zero = false);
std::string bar(uint64_t value, uint64_t max, size_t width);               // "████▌" scaled to max
// Display width of a UTF-8 string (one column per code point: the renderers use no wide glyphs).
size_t display_width(const std::string& s);
// Cuts or pads a UTF-8 string to exactly `width` columns.
std::string fit(const std::string& s, size_t width);

// A name that comes from the traced side (a file path, a comm, a symbol), made safe to print on a
// terminal, as `ls -b` does: control bytes and C1 controls, bytes that are not UTF-8, and the
// Unicode controls that reorder or break lines become escapes ("\x1b", "\n", "\u202e"), and a
// backslash is doubled so that an escape cannot be forged. Valid printable UTF-8 passes as is.
std::string terminal_safe(std::string_view name);
// The name of an enum mt_kind as the outputs and the exporter's labels say it: "text", "heap",
// "thread_stack", ... ("?" for a value out of range).
const char* kind_name(int kind);

// True when `s` is valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace memtrace
