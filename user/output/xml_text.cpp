#include "xml_text.h"

#include <cstdint>

namespace memtrace {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";     // U+2026

// Decodes one UTF-8 sequence at the start of `s`. Returns its length and sets `cp`, or returns 0
// when the first byte does not start a well-formed sequence (RFC 3629: shortest form only, no
// surrogates, nothing above U+10FFFF).
size_t decode_utf8(std::string_view s, uint32_t& cp)
{
    auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
    uint8_t b0 = byte(0);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    size_t len;
    uint32_t min;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() < len)
        return 0;
    for (size_t i = 1; i < len; ++i) {
        if ((byte(i) & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (byte(i) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

// Characters kept out of the document although they are valid UTF-8.
bool is_unwanted(uint32_t cp)
{
    bool control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
    bool noncharacter = cp == 0xFFFE || cp == 0xFFFF;
    bool bidi_control = (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
    return control || noncharacter || bidi_control;
}

}  // namespace

std::string clean_utf8(std::string_view raw, size_t max_bytes)
{
    std::string out;
    out.reserve(raw.size());
    size_t room_for_ellipsis = 0;  // longest character-aligned prefix of `out` that leaves room for "…"
    while (!raw.empty()) {
        uint32_t cp = 0;
        size_t len = decode_utf8(raw, cp);
        std::string_view piece = len == 0 || is_unwanted(cp) ? kReplacement : raw.substr(0, len);
        if (max_bytes && out.size() + piece.size() > max_bytes) {
            out.resize(room_for_ellipsis);
            if (max_bytes >= kEllipsis.size())
                out += kEllipsis;
            return out;
        }
        out += piece;
        if (out.size() + kEllipsis.size() <= max_bytes)
            room_for_ellipsis = out.size();
        raw.remove_prefix(len ? len : 1);
    }
    return out;
}

std::string xml_escape(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

size_t utf8_length(std::string_view text)
{
    size_t n = 0;
    for (char c : text)
        n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
    return n;
}

std::string_view utf8_prefix(std::string_view text, size_t n)
{
    size_t i = 0;
    for (; i < text.size(); ++i) {
        bool starts_char = (static_cast<uint8_t>(text[i]) & 0xC0) != 0x80;
        if (starts_char && n-- == 0)
            break;
    }
    return text.substr(0, i);
}

}  // namespace memtrace
