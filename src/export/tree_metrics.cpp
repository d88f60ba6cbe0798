#include "export/tree_metrics.h"

#include <algorithm>
#include <tuple>

namespace procwatch::metrics {

std::optional<ExitOutcome> classify_exit(const ExitDetails& d) {
  if (d.signal != 0) return ExitOutcome::Signal;
  if (!d.code_known) return std::nullopt;
  return d.exit_code == 0 ? ExitOutcome::Success : ExitOutcome::Failure;
}

size_t duration_bucket(double seconds) {
  return size_t(std::lower_bound(kDurationBuckets.begin(), kDurationBuckets.end(), seconds) -
                kDurationBuckets.begin());
}

namespace {
template <size_t... I>
std::array<const char*, sizeof...(I)> event_names(std::index_sequence<I...>) {
  return {event_name(EventBody(std::in_place_index<I>))...};
}
}  // namespace

std::vector<std::pair<std::string, uint64_t>> named_event_counts(const EventCounts& counts) {
  static const auto kNames = event_names(std::make_index_sequence<std::tuple_size_v<EventCounts>>());
  std::vector<std::pair<std::string, uint64_t>> out;
  out.reserve(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) out.emplace_back(kNames[i], counts[i]);
  return out;
}

TreeMetrics::TreeMetrics(TreeMetricsOptions options) : options_(options) {}

namespace {
constexpr char kKeySep = '\x1f';  // never in a tree name (naming escapes control characters)
}  // namespace

std::string_view TreeMetrics::series_key(const ProcInfo& p, std::string& buf) const {
  if (!options_.container_labels) return p.tree;
  buf.assign(p.tree.empty() ? std::string_view(kUnnamedTree) : std::string_view(p.tree));
  if (p.container_id.empty()) return buf;
  buf += kKeySep;
  buf += p.container_name.empty() ? std::string_view(p.container_id).substr(0, 12)
                                  : std::string_view(p.container_name);
  buf += kKeySep;
  buf += p.pod_namespace;
  return buf;
}

TreeMetrics::TreeState& TreeMetrics::slot(std::string_view tree, uint64_t now_ns, bool* folded) {
  if (tree.empty()) tree = kUnnamedTree;
  auto it = trees_.find(tree);
  if (it == trees_.end()) {
    if (tree != kOtherTree && named_ < options_.max_trees) {
      it = trees_.emplace(std::string(tree), TreeState{}).first;
      ++named_;
    } else {
      if (tree != kOtherTree) *folded = true;
      it = trees_.find(kOtherTree);
      if (it == trees_.end()) it = trees_.emplace(std::string(kOtherTree), TreeState{}).first;
    }
  }
  it->second.last_seen_ns = now_ns;
  return it->second;
}

void TreeMetrics::observe(const EventRecord& r, uint64_t now_ns) {
  const bool is_exec = r.event == "exec";
  const bool is_exit = r.event == "exit" && r.exit.has_value();
  if (!is_exec && !is_exit) return;
  bool folded = false;
  std::string buf;
  TreeState& t = slot(series_key(r.proc, buf), now_ns, &folded);
  if (folded) ++overflow_;
  if (is_exec) {
    ++t.execs;
    return;
  }
  const ExitDetails& d = *r.exit;
  t.ever_exited = true;
  if (auto outcome = classify_exit(d)) ++t.exits[size_t(*outcome)];
  if (d.duration_s >= 0) {
    ++t.buckets[duration_bucket(d.duration_s)];
    ++t.duration_count;
    t.duration_sum += d.duration_s;
  }
}

template <typename ForEachTree>
std::shared_ptr<MetricsSnapshot> TreeMetrics::publish_impl(ForEachTree&& for_each,
                                                           uint64_t now_ns) {
  for (auto& [name, t] : trees_) t.live = 0;
  uint64_t tracked = 0;
  bool folded = false;  // live processes do not count as overflow: it would rise every publish
  for_each([&](std::string_view tree) {
    ++tracked;
    ++slot(tree, now_ns, &folded).live;
  });

  auto snap = std::make_shared<MetricsSnapshot>();
  snap->tracked_processes = tracked;
  snap->tree_overflow = overflow_;
  snap->trees.reserve(trees_.size());
  for (auto it = trees_.begin(); it != trees_.end();) {
    TreeState& t = it->second;
    if (t.live == 0 && now_ns > t.last_seen_ns && now_ns - t.last_seen_ns > options_.tree_ttl_ns) {
      if (it->first != kOtherTree) --named_;
      it = trees_.erase(it);
      continue;
    }
    TreeSample s;
    s.tree = it->first;
    if (options_.container_labels) {
      s.container_labels = true;
      if (const size_t a = s.tree.find(kKeySep); a != std::string::npos) {
        const size_t b = s.tree.find(kKeySep, a + 1);
        s.container = s.tree.substr(a + 1, b - a - 1);
        s.pod_namespace = s.tree.substr(b + 1);
        s.tree.resize(a);
      }
    }
    s.processes = t.live;
    s.execs = t.execs;
    s.exits = t.exits;
    s.ever_exited = t.ever_exited;
    uint64_t cum = 0;
    for (size_t i = 0; i < kDurationBuckets.size(); ++i)
      s.duration_buckets[i] = cum += t.buckets[i];
    s.duration_count = t.duration_count;
    s.duration_sum = t.duration_sum;
    snap->trees.push_back(std::move(s));
    ++it;
  }
  std::sort(snap->trees.begin(), snap->trees.end(), [](const TreeSample& a, const TreeSample& b) {
    return std::tie(a.tree, a.container, a.pod_namespace) <
           std::tie(b.tree, b.container, b.pod_namespace);
  });
  return snap;
}

std::shared_ptr<MetricsSnapshot> TreeMetrics::publish(const ProcessTable& table, uint64_t now_ns) {
  return publish_impl(
      [&](auto&& count) {
        std::string buf;
        table.for_each([&](const ProcInfo& p) { count(series_key(p, buf)); });
      },
      now_ns);
}

std::shared_ptr<MetricsSnapshot> TreeMetrics::publish(const EngineSnapshot& engine,
                                                      uint64_t now_ns) {
  return publish_impl(
      [&](auto&& count) {
        std::string buf;
        for (const auto& p : engine.processes) count(series_key(*p, buf));
      },
      now_ns);
}

std::shared_ptr<MetricsSnapshot> TreeMetrics::publish(
    const std::vector<std::string_view>& live_trees, uint64_t now_ns) {
  return publish_impl(
      [&](auto&& count) {
        for (std::string_view t : live_trees) count(t);
      },
      now_ns);
}

}  // namespace procwatch::metrics
