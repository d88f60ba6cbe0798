// Text from outside (paths from flags, file contents, other users' names, bad arguments) made
// safe for one line of a message: control bytes and DEL become \xNN, and so do the bytes of
// C1 controls (U+0080-U+009F), the line and paragraph separators (U+2028, U+2029), the BiDi
// marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A-U+202E,
// U+2066-U+2069) and any byte that is not part of valid UTF-8. A backslash stays as it is, so
// escaping twice changes nothing. The result is valid UTF-8 without line breaks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace procwatch {

namespace text_detail {

// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 when it is not one; cp is the code
// point.
inline size_t utf8_length(std::string_view s, size_t i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;  // overlong or surrogate
  }
  return n;
}

inline bool unsafe_code_point(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
         cp == 0x200f || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace text_detail

inline std::string escape_control(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  auto hex = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t n = text_detail::utf8_length(s, i, cp);
    if (n == 0) {
      hex(static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    if (text_detail::unsafe_code_point(cp)) {
      for (size_t k = 0; k < n; ++k) hex(static_cast<unsigned char>(s[i + k]));
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

// A container id as runtimes write it: exactly 64 lower-case hex digits.
inline bool is_lower_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace procwatch
