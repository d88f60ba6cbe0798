// Fuzzes one rule selector, regexes included: the first byte picks the kind, the rest is the
// value as written. A selector that builds is matched against a fixed process.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../test_util.h"
#include "rules/config.h"
#include "rules/matcher.h"

using namespace procwatch::rules;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  const int kinds = int(SelectorKind::kNotKernelThread) + 1;
  const auto kind = SelectorKind(data[0] % kinds);
  const std::string_view written(reinterpret_cast<const char*>(data + 1), size - 1);
  auto sel = make_selector(kind, written, testing::fake_ids());
  if (!sel) {
    if (sel.error().message.empty()) std::abort();
    return 0;
  }
  std::vector<ProcSample> snap = {
      testing::Proc(42, "sshd").exe("/usr/sbin/sshd").argv({"sshd", "-D", "a b"}).ids(0, 0),
      testing::Proc(43, "bash").exe("/usr/bin/bash").argv({}).ids(1000, 1000).ppid(42)};
  const MatchContext ctx = make_match_context(snap);
  for (const auto& s : snap) selector_matches(*sel, s, ctx);
  return 0;
}
