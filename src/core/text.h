// Text from outside (paths from flags, file contents, other users' names) made safe for one
// line of a message: control bytes and DEL become \xNN, a backslash stays as it is.
#pragma once

#include <string>
#include <cstdint>
#include <string_view>

namespace procwatch {

inline std::string escape_control(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out;
}

}  // namespace procwatch

namespace procwatch {

// For a terminal: escape_control, plus what a terminal may act on or what reorders the line:
// C1 controls (U+0080..U+009F, e.g. U+009B is CSI on some terminals), BiDi overrides and
// isolates (U+202A..U+202E, U+2066..U+2069) and bytes that are not well-formed UTF-8, each
// written as \xNN per byte. Other UTF-8 text is kept.
inline std::string escape_for_terminal(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  auto hex = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f)
        hex(c);
      else
        out += char(c);
      ++i;
      continue;
    }
    // Length and code point of a well-formed UTF-8 sequence (no overlongs, no surrogates).
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4, cp = c & 0x07;
    }
    bool ok = n != 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    ok = ok && !(n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
         !(n == 4 && (cp < 0x10000 || cp > 0x10ffff));
    const bool unsafe = ok && ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
                               (cp >= 0x2066 && cp <= 0x2069));
    if (!ok) {
      hex(c);
      ++i;
    } else {
      for (size_t k = 0; k < n; ++k) {
        if (unsafe)
          hex(static_cast<unsigned char>(s[i + k]));
        else
          out += s[i + k];
      }
      i += n;
    }
  }
  return out;
}

}  // namespace procwatch
