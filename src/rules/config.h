// YAML rule config parser. Start-up only, not thread-bound; never throws. Every error message is
// "FILE:LINE:COLUMN: what was found (what was expected)" with 1-based line and column.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "rules/rule.h"

namespace procwatch::rules {

// Parse config text; file_name is only used in messages.
Result<Config> parse_config(std::string_view yaml_text, const std::string& file_name,
                            const IdResolver& ids = system_id_resolver());
// Read and parse a file ("FILE: cannot read: <strerror>" when it cannot be read).
Result<Config> load_config(const std::string& path, const IdResolver& ids = system_id_resolver());

// The YAML selector keys, in the order listed in error messages.
std::optional<SelectorKind> yaml_selector_kind(std::string_view key);
std::string yaml_selector_keys();  // "name, exe, args, ..."

// Build a selector from its written value ("!0", "root", "*:init_t:*"); no file position.
// Resolves user/group names with `ids`; compiles regexes; errors name what was expected.
Result<Selector> make_selector(SelectorKind kind, std::string_view written,
                               const IdResolver& ids);

}  // namespace procwatch::rules
