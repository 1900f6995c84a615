// Untrusted text (file paths, symbol names, command lines of the traced program) made safe to put
// into an XML document: valid UTF-8 without characters XML forbids, then escaped for its context.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace memtrace {

// `raw` as valid UTF-8 holding only characters XML 1.0 allows and a reader cannot mistake for
// layout: each byte that does not start a well-formed UTF-8 sequence (stray continuation bytes,
// overlong forms, surrogates, beyond U+10FFFF, cut off at the end), each C0/C1 control character
// (tab and newline too), DEL, U+FFFE/U+FFFF and the bidirectional overrides (which could make a
// name display as another) become U+FFFD. At most `max_bytes` bytes of output (cut at a character
// boundary, "…" appended when cut; 0 means no limit).
std::string clean_utf8(std::string_view raw, size_t max_bytes = 0);

// `text` (already clean_utf8) escaped for XML character data and for attribute values, quoted
// with either quote: & < > " ' become entities, so no input can close an element, an attribute
// or a CDATA section (the ">" of "]]>" is escaped).
std::string xml_escape(std::string_view text);

// Number of code points of a valid UTF-8 string.
size_t utf8_length(std::string_view text);
// The first `n` code points of a valid UTF-8 string.
std::string_view utf8_prefix(std::string_view text, size_t n);

}  // namespace memtrace
