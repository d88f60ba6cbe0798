// Byte strings from the kernel (paths, argv, comm) in JSON: JSON strings are Unicode, so bytes
// that are not UTF-8 cannot pass through as they are. The text field keeps a readable form
// (U+FFFD for each bad sequence) and a sibling field carries the exact bytes in base64
// (RFC 4648, with padding). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace procwatch {

// Suffix of the sibling key: "exe" -> "exe_b64".
inline constexpr std::string_view kRawSuffix = "_b64";

// True when s is valid UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF),
// exactly the strings nlohmann::json dumps without replacing anything.
bool is_valid_utf8(std::string_view s);

// Standard base64 with '=' padding; appended to out.
void append_base64(std::string& out, std::string_view bytes);
std::string base64(std::string_view bytes);

}  // namespace procwatch
