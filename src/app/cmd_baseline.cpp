// `procwatch baseline ...`: offline edits of a baseline file (serve reads it at start).
#include <cerrno>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "baseline/baseline.h"
#include "core/clock.h"
#include "core/text.h"
#include "export/event_format.h"

namespace procwatch::app {

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "procwatch: %s\n", message.c_str());
  return kExitUsage;
}

}  // namespace

int run_baseline(const BaselineCommand& cmd) {
  auto loaded = baseline::Baseline::load(cmd.file);
  if (!loaded) return fail(loaded.error().message);
  baseline::Baseline& b = *loaded;
  const int64_t now = int64_t(realtime_ns() / 1'000'000'000ull);
  if (cmd.action == "list") {
    if (cmd.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& [k, s] : b.entries()) {
        nlohmann::json e = {{"first_seen", baseline::format_time(s.first_seen)},
                            {"last_seen", baseline::format_time(s.last_seen)},
                            {"count", s.count}};
        output::set_text(e, "tree", k.tree);
        output::set_text(e, "exe", k.exe);
        output::set_text(e, "user", k.user);
        out.push_back(std::move(e));
      }
      std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::printf("%s; %zu entries\n",
                  b.learning(now) ? ("learning until " +
                                     baseline::format_time(b.learn_started + b.learn_for_s))
                                        .c_str()
                                  : "enforcing",
                  b.entries().size());
      for (const auto& [k, s] : b.entries())
        std::printf("%-40s %-30s %-10s %s  %s  %llu\n", escape_control(k.tree).c_str(),
                    escape_control(k.exe).c_str(), escape_control(k.user).c_str(),
                    baseline::format_time(s.first_seen).c_str(),
                    baseline::format_time(s.last_seen).c_str(), (unsigned long long)s.count);
    }
    return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
  }
  if (cmd.action == "forget") {
    for (const auto& tree : cmd.args) {
      if (b.forget(tree) == 0) return fail("baseline has no tree " + escape_control(tree));
    }
  } else if (cmd.action == "import") {
    auto other = baseline::Baseline::load(cmd.args.at(0));
    if (!other) return fail(other.error().message);
    b.merge(*other);
  } else if (cmd.action == "freeze") {
    b.frozen = true;
  } else if (cmd.action == "learn") {
    b.frozen = false;
    b.learn_started = now;
  }
  if (auto ok = b.save(cmd.file); !ok) {
    std::fprintf(stderr, "procwatch: %s\n", ok.error().message.c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace procwatch::app
