// BaselineMonitor: `serve --baseline FILE`. Learns the (tree, exe, user) entries of every exec
// while learning, then marks execs outside them `expected: false`, counts them per tree (capped
// like the other tree series) and logs one JSON line per newly seen entry. annotate() and tick()
// belong to the engine thread; families() may be called from any thread.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "baseline/baseline.h"
#include "export/event_format.h"

namespace procwatch::app {

struct BaselineOptions {
  std::string path;
  int64_t learn_for_s = 24 * 3600;
  int64_t save_every_s = 60;
  size_t max_trees = 2000;
};

class BaselineMonitor {
 public:
  // Loads the file; a missing, torn or corrupt one is one stderr line and a fresh learning
  // period (a corrupt file is kept beside it as FILE.corrupt). Never fails.
  explicit BaselineMonitor(BaselineOptions options);

  void annotate(EventRecord& r);
  // Saves when something changed and save_every_s passed since the last save.
  void tick(int64_t now_s);
  // Saves now if something changed (SIGTERM, reload); a failure is one stderr line.
  void save(int64_t now_s);

  std::vector<prometheus::MetricFamily> families() const;
  bool learning(int64_t now_s) const;

 private:
  BaselineOptions options_;
  baseline::Baseline base_;
  bool dirty_ = false;
  int64_t last_save_attempt_ = 0;
  std::set<baseline::Key> reported_;  // unexpected entries already logged (bounded)

  mutable std::mutex mu_;  // guards what families() reads
  std::map<std::string, uint64_t> unexpected_;  // by tree; "/other" past max_trees
  uint64_t entries_ = 0;
  bool learning_ = true;
  double last_save_s_ = 0;
};

}  // namespace procwatch::app
