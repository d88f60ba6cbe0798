// Fuzzes the YAML rule config (operators copy configs from the web): parse, then evaluate the
// rules on a small fixed snapshot. A bad config must be one error line, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../test_util.h"
#include "rules/config.h"
#include "rules/engine.h"

using namespace procwatch::rules;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = parse_config(text, "fuzz.yml", testing::fake_ids());
  if (!cfg) {
    if (cfg.error().message.empty()) std::abort();
    return 0;
  }
  RuleEngine engine(std::move(*cfg));
  std::vector<ProcSample> snap = {
      testing::Proc(1, "init").ids(0, 0),
      testing::Proc(42, "sshd").exe("/usr/sbin/sshd").argv({"sshd", "-D"}).ids(0, 0).ppid(1),
      testing::Proc(43, "python3").exe("/usr/bin/python3.11").argv({"python3", "x.py", "--a"})
          .ids(1000, 1000).ppid(42)};
  engine.evaluate(snap, TimePoint{});
  return 0;
}
