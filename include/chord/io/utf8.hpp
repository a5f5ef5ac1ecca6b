#pragma once
// UTF-8 encoding and strict decoding of code points, shared by the JSON
// reader and the tokenizers.

#include <cstddef>
#include <string>
#include <string_view>

#include "chord/core/non_templates.hpp"

namespace chord::io::detail {

// Decodes the UTF-8 code point starting at s[pos] into cp and advances pos.
// Returns nullptr on success, or why the bytes at pos are not UTF-8 (overlong
// forms, surrogates and code points above U+10FFFF are rejected, per RFC 3629).
const char* utf8_next(std::string_view s, std::size_t& pos, char32_t& cp);

std::string utf8_encode(char32_t cp);

}  // namespace chord::io::detail

#if CHORD_DEFINES_NON_TEMPLATES
namespace chord::io::detail {

CHORD_INLINE const char* utf8_next(std::string_view s, std::size_t& pos, char32_t& cp) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    cp = b0;
    ++pos;
    return nullptr;
  }
  int len;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1F; min = 0x80; }
  else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0F; min = 0x800; }
  else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07; min = 0x10000; }
  else return (b0 & 0xC0) == 0x80 ? "unexpected continuation byte" : "invalid lead byte";
  if (pos + len > s.size()) return "truncated multi-byte sequence";
  for (int i = 1; i < len; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return "truncated multi-byte sequence";
    cp = (cp << 6) | (byte(pos + i) & 0x3F);
  }
  if (cp < min) return "overlong encoding";
  if (cp >= 0xD800 && cp <= 0xDFFF) return "encoded surrogate";
  if (cp > 0x10FFFF) return "code point above U+10FFFF";
  pos += len;
  return nullptr;
}

CHORD_INLINE std::string utf8_encode(char32_t cp) {
  std::string out;
  if (cp < 0x80) out += static_cast<char>(cp);
  else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

}  // namespace chord::io::detail
#endif  // CHORD_DEFINES_NON_TEMPLATES
