// The browser side of the flame graph SVG: its style sheet and its script (zoom, search, details).
#pragma once

#include <string_view>

namespace memtrace {

// CSS for an <svg class="memtrace-flamegraph">, every rule scoped to that class.
std::string_view flamegraph_style();
// JavaScript for the same <svg>, which it must be the last child of; contains no "]]>", so it can
// sit in a CDATA section. It reads the frames from the document (see flamegraph_svg.cpp).
std::string_view flamegraph_script();

}  // namespace memtrace
