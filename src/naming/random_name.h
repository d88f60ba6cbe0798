// Random-looking names (mktemp dirs, long hex, UUIDs, base64-like tokens): a pure, thread-safe
// heuristic over one path component. Never throws.
#pragma once

#include <string_view>

namespace procwatch {

// True when one path component (no '/') looks machine-generated rather than chosen by a person.
bool is_random_name(std::string_view name);

// True when any directory of `path` (all components but the last) is random-looking. The
// component right under /nix/store or /gnu/store is a content hash by design and is skipped.
bool has_random_dir(std::string_view path);

namespace naming {
// Score of one alphanumeric token (exposed for tests); a token is random at kRandomScore or more.
int random_token_score(std::string_view token);
inline constexpr int kRandomScore = 5;
}  // namespace naming

}  // namespace procwatch
