// `procwatch baseline ...`: review and edit a baseline, offline (--file: the file itself) or in
// a running `serve --baseline` (--from URL: its /api/v1/baseline endpoints, so the daemon
// applies the change at once and saves it). Exit codes: 0 done (diff: nothing flagged);
// 1 diff found flagged entries, or a named tree is not there (nothing changed); 2 usage, an
// unreadable or corrupt file, a request the daemon refused as malformed; 3 the daemon cannot
// be reached or refused (401, 403, 5xx), or the file cannot be written.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "app/baseline_monitor.h"
#include "app/commands.h"
#include "baseline/baseline.h"
#include "core/clock.h"
#include "core/text.h"
#include "export/event_format.h"
#include "http_client/http_client.h"

namespace procwatch::app {

namespace {

constexpr int kExitDaemon = 3;
constexpr size_t kMaxImportBytes = 4u << 20;  // the API's bound on a POST body

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "procwatch: %s\n", escape_control(message).c_str());
  return code;
}

// The first line of a reply body, for an error message.
std::string first_line(const std::string& body) {
  std::string line = body.substr(0, body.find('\n'));
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

int exit_for_status(int status) {
  if (status == 404) return kExitFailure;
  if (status == 400 || status == 413) return kExitUsage;
  return kExitDaemon;
}

struct Remote {
  const BaselineCommand& cmd;

  std::string base_url() const {
    std::string u = cmd.from;
    while (!u.empty() && u.back() == '/') u.pop_back();
    return u + "/api/v1/baseline";
  }

  Result<http_client::Response> send(const std::string& method, const std::string& op,
                                     const std::string& body) const {
    http_client::GetOptions o;
    o.user = cmd.user;
    o.ca_file = cmd.ca_file;
    if (!cmd.user.empty()) {
      if (!cmd.password_file.empty()) {
        std::ifstream in(cmd.password_file);
        if (!in) return make_error(cmd.password_file + ": cannot read: " + std::strerror(errno));
        std::getline(in, o.password);
      } else if (const char* p = std::getenv("PROCWATCH_PASSWORD")) {
        o.password = p;
      }
    }
    return http_client::request(method, base_url() + (op.empty() ? "" : "/" + op), body,
                                op == "import" ? "application/yaml" : "application/json", o);
  }
};

void print_entries(const nlohmann::json& entries) {
  for (const auto& e : entries)
    std::printf("%-40s %-30s %-10s %s  %s  %llu\n",
                escape_control(e.value("tree", "")).c_str(),
                escape_control(e.value("exe", "")).c_str(),
                escape_control(e.value("user", "")).c_str(), e.value("first_seen", "").c_str(),
                e.value("last_seen", "").c_str(), (unsigned long long)e.value("count", 0ull));
}

int print_json(const nlohmann::json& j) {
  std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return kExitOk;
}

// list and diff over a "show" document (baseline_json).
int show(const BaselineCommand& cmd, const nlohmann::json& doc,
         const baseline::Baseline* against) {
  if (cmd.action == "list") {
    if (cmd.json) return print_json(doc["entries"]);
    std::printf("%s; %zu entries, %zu flagged\n",
                doc.value("learning", false)
                    ? ("learning until " + doc.value("learning_until", "")).c_str()
                    : "enforcing",
                doc["entries"].size(), doc["flagged"].size());
    print_entries(doc["entries"]);
    return kExitOk;
  }
  // diff: flagged entries, less those the --file baseline already holds.
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : doc["flagged"]) {
    baseline::Key k{e.value("tree", ""), e.value("exe", ""), e.value("user", "")};
    if (against == nullptr || !against->contains(k)) out.push_back(e);
  }
  if (cmd.json) {
    print_json(out);
  } else {
    if (!out.empty())
      std::printf("%zu flagged %s not in the baseline (approve with `procwatch baseline "
                  "approve TREE`):\n",
                  out.size(), out.size() == 1 ? "entry" : "entries");
    print_entries(out);
  }
  return out.empty() ? kExitOk : kExitFailure;
}

std::string trees_body(const std::vector<std::string>& trees) {
  return nlohmann::json{{"trees", trees}}.dump();
}

// What a mutating operation's reply says, for a person.
void report(const std::string& action, const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return;
  if (action == "approve")
    std::printf("approved %llu %s\n", (unsigned long long)j.value("approved", 0ull),
                j.value("approved", 0ull) == 1 ? "entry" : "entries");
  else if (action == "forget")
    std::printf("forgot %llu %s\n", (unsigned long long)j.value("forgotten", 0ull),
                j.value("forgotten", 0ull) == 1 ? "entry" : "entries");
  else if (action == "import")
    std::printf("imported %llu new %s\n", (unsigned long long)j.value("added", 0ull),
                j.value("added", 0ull) == 1 ? "entry" : "entries");
  else
    std::printf("%s\n", j.value("learning", false) ? "learning" : "enforcing");
}

Result<std::string> read_import(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot read: " + std::strerror(errno));
  std::string text(kMaxImportBytes + 1, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  if (text.size() > kMaxImportBytes)
    return make_error(path + ": larger than " + std::to_string(kMaxImportBytes >> 20) + " MiB");
  return text;
}

// The body of an approve/forget/import operation, the same for the API and the file.
Result<std::string> operation_body(const BaselineCommand& cmd) {
  if (cmd.action == "approve" || cmd.action == "forget") return trees_body(cmd.args);
  if (cmd.action == "import") return read_import(cmd.args.at(0));
  return std::string();
}

int run_remote(const BaselineCommand& cmd) {
  const Remote remote{cmd};
  const bool reads = cmd.action == "list" || cmd.action == "diff";
  std::optional<baseline::Baseline> against;
  if (!cmd.file.empty()) {  // diff and approve --file F --from URL: F is the baseline compared
    auto loaded = baseline::Baseline::load(cmd.file);
    if (!loaded) return fail(kExitUsage, loaded.error().message);
    against = std::move(*loaded);
  }
  if (reads || (cmd.action == "approve" && against)) {
    auto r = remote.send("GET", "", "");
    if (!r) return fail(kExitDaemon, r.error().message);
    if (r->status != 200)
      return fail(exit_for_status(int(r->status)),
                  remote.base_url() + ": HTTP " + std::to_string(r->status) + ": " +
                      first_line(r->body));
    const nlohmann::json doc = nlohmann::json::parse(r->body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc["entries"].is_array() ||
        !doc["flagged"].is_array())
      return fail(kExitDaemon, remote.base_url() + ": not a procwatch baseline document");
    if (reads) {
      const int rc = show(cmd, doc, against ? &*against : nullptr);
      return std::fflush(stdout) == 0 ? rc : kExitDaemon;
    }
    // approve into the file what the daemon flagged for these trees (fleet: a canary's file).
    size_t n = 0;
    for (const auto& tree : cmd.args) {
      size_t of_tree = 0;
      for (const auto& e : doc["flagged"]) {
        if (e.value("tree", "") != tree) continue;
        baseline::Seen s{baseline::parse_time(e.value("first_seen", "")),
                         baseline::parse_time(e.value("last_seen", "")),
                         e.value("count", 0ull)};
        if (against->add({tree, e.value("exe", ""), e.value("user", "")}, s)) ++of_tree;
      }
      if (of_tree == 0) return fail(kExitFailure, remote.base_url() + ": nothing flagged for tree " + tree);
      n += of_tree;
    }
    if (auto ok = against->save(cmd.file); !ok) return fail(kExitDaemon, ok.error().message);
    std::printf("approved %zu %s into %s\n", n, n == 1 ? "entry" : "entries",
                escape_control(cmd.file).c_str());
    return std::fflush(stdout) == 0 ? kExitOk : kExitDaemon;
  }
  auto body = operation_body(cmd);
  if (!body) return fail(kExitUsage, body.error().message);
  auto r = remote.send("POST", cmd.action, *body);
  if (!r) return fail(kExitDaemon, r.error().message);
  if (r->status != 200)
    return fail(exit_for_status(int(r->status)), remote.base_url() + "/" + cmd.action +
                                                     ": HTTP " + std::to_string(r->status) +
                                                     ": " + first_line(r->body));
  report(cmd.action, r->body);
  return std::fflush(stdout) == 0 ? kExitOk : kExitDaemon;
}

int run_local(const BaselineCommand& cmd, const std::string& file) {
  auto loaded = baseline::Baseline::load(file);
  if (!loaded) return fail(kExitUsage, loaded.error().message);
  baseline::Baseline& b = *loaded;
  const int64_t now = int64_t(realtime_ns() / 1'000'000'000ull);
  if (cmd.action == "list" || cmd.action == "diff") {
    const nlohmann::json doc = nlohmann::json::parse(baseline_json(b, file, now));
    const int rc = show(cmd, doc, nullptr);
    return std::fflush(stdout) == 0 ? rc : kExitDaemon;
  }
  auto body = operation_body(cmd);
  if (!body) return fail(kExitUsage, body.error().message);
  bool changed = false;
  // The same operation the daemon runs for the API, on the file's baseline.
  const BaselineReply r = baseline_operation(b, file, cmd.action, *body, now, &changed);
  if (r.status != 200) return fail(exit_for_status(r.status), first_line(r.body));
  if (changed) {
    if (auto ok = b.save(file); !ok) return fail(kExitDaemon, ok.error().message);
  }
  report(cmd.action, r.body);
  return std::fflush(stdout) == 0 ? kExitOk : kExitDaemon;
}

}  // namespace

int run_baseline(const BaselineCommand& cmd) {
  if (!cmd.from.empty()) {
    if (!http_client::is_http_url(cmd.from))
      return fail(kExitUsage, "--from " + cmd.from + ": expected http://HOST:PORT or https://...");
    if (!cmd.file.empty() && cmd.action != "diff" && cmd.action != "approve")
      return fail(kExitUsage, "--file and --from exclude each other for " + cmd.action +
                                  " (only diff and approve take both)");
    return run_remote(cmd);
  }
  return run_local(cmd, cmd.file.empty() ? std::string(kDefaultBaselineFile) : cmd.file);
}

}  // namespace procwatch::app
