// BaselineMonitor: `serve --baseline FILE`. Learns the (tree, exe, user) entries of every exec
// while learning, then marks execs outside them `expected: false`, flags them for review, counts
// them per tree (capped like the other tree series) and logs one JSON line per newly flagged
// entry. annotate() and tick() belong to the engine thread and take no lock per exec; the
// baseline API (call()) and families() may be called from any thread: call() queues the
// operation for the engine thread, which runs it at its next tick() (at most every 200 ms).
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "baseline/baseline.h"
#include "engine/event_record.h"
#include "rules/rule.h"

namespace procwatch::app {

struct BaselineOptions {
  std::string path;
  int64_t learn_for_s = 24 * 3600;
  int64_t save_every_s = 60;
  size_t max_trees = 2000;
};

// What an API operation answers: an HTTP status and a body (JSON on success, one line of
// text on error).
struct BaselineReply {
  int status = 200;
  std::string body;
};

// The baseline as JSON (`GET /api/v1/baseline`, `baseline list --json`): file, learning,
// learning_until, frozen, entries and flagged (each tree, exe, user, first_seen, last_seen,
// count).
std::string baseline_json(const baseline::Baseline& b, const std::string& file, int64_t now);

// Runs one API operation on `b`: "show", or the mutating "approve" and "forget" (body: JSON
// {"trees": [...]}), "import" (body: baseline YAML), "freeze", "learn". `changed` says
// whether `b` changed. Pure apart from `b`.
BaselineReply baseline_operation(baseline::Baseline& b, const std::string& file,
                                 const std::string& action, const std::string& body,
                                 int64_t now, bool* changed);

class BaselineMonitor {
 public:
  // Loads the file; a missing, torn or corrupt one is one stderr line and a fresh learning
  // period (a corrupt file is kept beside it as FILE.corrupt). Never fails.
  explicit BaselineMonitor(BaselineOptions options);

  void annotate(EventRecord& r);
  // Runs queued API operations, publishes the metrics, and saves when something changed and
  // save_every_s passed since the last save.
  void tick(int64_t now_s);
  // Saves now if something changed (SIGTERM, reload); a failure is one stderr line.
  bool save(int64_t now_s);

  // Any thread: queue an operation (see baseline_operation) and wait for its reply at most
  // `wait` (503 after that, or when 16 operations already wait). A mutating operation is
  // saved before it is answered.
  BaselineReply call(const std::string& action, std::string body,
                     std::chrono::milliseconds wait = std::chrono::seconds(5));

  // Engine thread: the flagged entries, when they changed since the last call.
  std::optional<std::vector<rules::FlaggedExec>> flagged_if_changed();

  std::vector<prometheus::MetricFamily> families() const;
  bool learning(int64_t now_s) const;

 private:
  struct Pending {
    std::string action, body;
    std::promise<BaselineReply> reply;
  };
  void run_pending(int64_t now_s);
  void publish();

  BaselineOptions options_;
  baseline::Baseline base_;
  bool dirty_ = false;
  int64_t last_save_attempt_ = 0;
  bool flagged_changed_ = true;

  // Engine thread only: counted per exec, copied into the published copy in tick().
  std::map<std::string, uint64_t> unexpected_;  // by tree; "/other" past max_trees
  bool metrics_dirty_ = true;
  uint64_t last_publish_ns_ = 0;

  std::mutex ops_mu_;
  std::deque<std::shared_ptr<Pending>> ops_;

  mutable std::mutex mu_;  // guards what families() reads
  std::map<std::string, uint64_t> published_unexpected_;
  uint64_t entries_ = 0, flagged_ = 0;
  bool learning_ = true;
  double last_save_s_ = 0;
};

}  // namespace procwatch::app
