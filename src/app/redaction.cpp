#include "app/redaction.h"
#include "core/text.h"

#include <cstdio>

#include "app/options.h"
#include "redact/redactor.h"
#include "rules/config.h"

namespace procwatch::app {

bool apply_redaction(const rules::Config& config) {
  auto built = redact::Redactor::build(config.redact_defaults, config.redact);
  if (!built) {
    std::fprintf(stderr, "procwatch: %s: %s\n", escape_control(config.file).c_str(),
                 escape_control(built.error().message).c_str());
    return false;
  }
  redact::Redactor::set(*built);
  return true;
}

std::optional<int> load_redaction(const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto loaded = rules::load_config(path);
  if (!loaded) {
    std::fprintf(stderr, "procwatch: %s\n", escape_control(loaded.error().message).c_str());
    return kExitUsage;
  }
  if (!apply_redaction(*loaded)) return kExitUsage;
  return std::nullopt;
}

}  // namespace procwatch::app
