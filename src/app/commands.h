// Sub-command entry points. Each returns the process exit code.
#pragma once

#include "app/options.h"

namespace procwatch::app {

int run_trace(const CommonOptions& opts);
int run_tree(const CommonOptions& opts);

}  // namespace procwatch::app
