// Fuzzes the ps.monitor and check_procs command-line parsers (a Nagios command line is text an
// operator pastes): the first byte picks the parser, the rest is NUL-separated arguments.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "../test_util.h"
#include "rules/plugin_args.h"

using namespace procwatch::rules;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 16 * 1024) return 0;
  std::vector<std::string> args(1);
  for (size_t i = 1; i < size; ++i) {
    if (data[i] == 0)
      args.emplace_back();
    else
      args.back() += char(data[i]);
  }
  if (data[0] & 1) {
    auto r = parse_ps_monitor_args(args, testing::fake_ids());
    if (!r && r.error().message.empty()) std::abort();
  } else {
    auto r = parse_check_procs_args(args, testing::fake_ids());
    if (!r && r.error().message.empty()) std::abort();
  }
  return 0;
}
