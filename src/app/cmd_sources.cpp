// `procwatch sources`: which event sources work on this machine with these privileges.
// Each source is really tried (started with a scratch queue and stopped at once) when its
// capabilities are there; see privileges.h for what each needs and loses.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/privileges.h"
#include "app/source_factory.h"
#include "procfs/reader.h"

namespace procwatch::app {

namespace {

struct SourceReport {
  std::string name;
  bool usable = false;
  std::vector<int> needs, missing;
  std::string reason;  // why not usable
  std::string loss;    // what is lost when usable ("" = nothing)
};

std::vector<std::string> names_of(const std::vector<int>& caps) {
  std::vector<std::string> out;
  for (int c : caps) out.push_back(cap_name(c));
  return out;
}

std::string spaced(const std::vector<int>& caps) {
  std::string out;
  for (int c : caps) out += (out.empty() ? "" : " ") + cap_name(c);
  return out;
}

SourceReport assess(const SourceNeeds& needs, CapSet have, const CommonOptions& opts,
                    const procfs::ProcReader& reader) {
  SourceReport r;
  r.name = needs.source;
  r.needs = needs.required;
  r.missing = missing_required(needs, have);
  if (!needs.unavailable.empty()) {
    r.reason = needs.unavailable;
  } else if (!r.missing.empty()) {
    r.reason = "missing " + spaced(r.missing);
  } else if (auto probed = probe_source(needs.source, opts, reader); !probed) {
    r.reason = probed.error().message;
  } else {
    r.usable = true;
    const std::string loss = loss_line(needs, have);
    // loss_line starts with "<source>: "; the table already names the source.
    r.loss = loss.empty() ? loss : loss.substr(needs.source.size() + 2);
  }
  return r;
}

}  // namespace

int run_sources(const CommonOptions& opts) {
  procfs::ProcReader reader(opts.procfs_root);
  const CapSet have = current_caps();
  std::vector<SourceReport> reports;
  for (const SourceNeeds& needs : all_source_needs(current_host(opts)))
    reports.push_back(assess(needs, have, opts, reader));
  bool any = false;
  for (const auto& r : reports) any = any || r.usable;

  if (opts.json) {
    nlohmann::json out = nlohmann::json::object();
    out["capabilities"] = names_of(have.members());
    out["sources"] = nlohmann::json::array();
    for (const auto& r : reports) {
      out["sources"].push_back({{"source", r.name},
                                {"usable", r.usable},
                                {"needs", names_of(r.needs)},
                                {"missing", names_of(r.missing)},
                                {"reason", r.reason},
                                {"loss", r.loss}});
    }
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    for (const auto& r : reports) {
      std::string line = r.usable ? "usable    " : "unusable  ";
      line += r.needs.empty() ? "needs no capability" : "needs " + spaced(r.needs);
      if (!r.usable) line += "; " + r.reason;
      if (!r.loss.empty()) line += "; " + r.loss;
      std::printf("%-8s %s\n", r.name.c_str(), line.c_str());
    }
  }
  if (std::fflush(stdout) != 0) return kExitFailure;
  return any ? kExitOk : kExitFailure;
}

}  // namespace procwatch::app
