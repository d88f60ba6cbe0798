// The config's `redact:` / `redact_defaults:` applied to every printed argv (trace, tree, the
// events log), through the process-wide redact::Redactor.
#pragma once

#include <optional>
#include <string>

#include "rules/rule.h"

namespace procwatch::app {

// Installs the config's redactor; false (with one stderr line) if it cannot be built.
bool apply_redaction(const rules::Config& config);
// For trace and tree: reads `path` (empty: keep the defaults) and applies its redact settings.
// Returns the exit code when the file is bad.
std::optional<int> load_redaction(const std::string& path);

}  // namespace procwatch::app
