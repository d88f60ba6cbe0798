// Text from outside (paths from flags, file contents, other users' names) made safe for one
// line of a message: control bytes and DEL become \xNN, a backslash stays as it is.
#pragma once

#include <string>
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
