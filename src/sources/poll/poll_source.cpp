#include "sources/poll/poll_source.h"

#include <algorithm>
#include <cerrno>

#include "core/clock.h"

namespace procwatch {
namespace {

bool is_kernel_thread(const ProcInfo& p) {
  return p.exe.empty() && p.argv.empty() && (p.key.pid == 2 || p.ppid == 2);
}

}  // namespace

ExecCapture capture_from_info(const ProcInfo& p) {
  ExecCapture c;
  c.start_time = p.key.start_time;
  if (!p.exe.empty()) c.exe = p.exe;
  c.exe_deleted = p.exe_deleted;
  if (!p.argv.empty()) c.argv = p.argv;
  c.argv_truncated = p.argv_truncated;
  c.ppid = p.ppid;
  if (!p.comm.empty()) c.comm = p.comm;
  if (p.ids_known) {
    c.uid = p.uid;
    c.euid = p.euid;
    c.gid = p.gid;
    c.egid = p.egid;
  }
  if (!p.cgroup.empty()) c.cgroup = p.cgroup;
  return c;
}

std::vector<ProcEvent> diff_snapshots(const PollSnapshot& before, const PollSnapshot& after,
                                      uint64_t now_ns) {
  std::vector<ProcEvent> out;
  for (const auto& [key, p] : before) {
    if (after.count(key) != 0) continue;
    ExitEvent e;
    e.pid = e.tid = key.pid;
    e.parent_pid = e.parent_tid = p.ppid;
    e.code_known = false;
    e.group_dead = true;  // the whole process vanished from /proc
    out.push_back(ProcEvent{now_ns, 0, e});
  }

  std::vector<const ProcInfo*> born;
  for (const auto& [key, p] : after) {
    if (before.count(key) == 0) born.push_back(&p);
  }
  // Parents start no later than their children, so this order forks parents first.
  std::sort(born.begin(), born.end(), [](const ProcInfo* a, const ProcInfo* b) {
    return std::pair(a->key.start_time, a->key.pid) < std::pair(b->key.start_time, b->key.pid);
  });
  for (const ProcInfo* p : born) {
    const uint64_t ts = p->start_ns != 0 && p->start_ns <= now_ns ? p->start_ns : now_ns;
    ForkEvent f;
    f.parent_pid = f.parent_tid = p->ppid;
    f.child_pid = f.child_tid = p->key.pid;
    f.child_start_time = p->key.start_time;
    out.push_back(ProcEvent{ts, 0, f});
    if (is_kernel_thread(*p)) continue;  // kernel threads never exec
    ExecEvent x;
    x.pid = x.tid = p->key.pid;
    x.capture = capture_from_info(*p);
    out.push_back(ProcEvent{ts, 0, std::move(x)});
  }

  for (const auto& [key, p] : after) {
    auto it = before.find(key);
    // Only a readable exe on both sides counts: an unreadable one is not a change.
    if (it == before.end() || p.exe.empty() || it->second.exe.empty() || p.exe == it->second.exe) {
      continue;
    }
    ExecEvent x;
    x.pid = x.tid = key.pid;
    x.capture = capture_from_info(p);
    out.push_back(ProcEvent{now_ns, 0, std::move(x)});
  }
  return out;
}

PollSource::PollSource(const procfs::ProcReader& reader, std::chrono::milliseconds interval)
    : reader_(reader), interval_(interval) {}

PollSource::~PollSource() { stop(); }

PollSnapshot PollSource::snapshot() const {
  PollSnapshot snap;
  for (ProcInfo& p : reader_.scan()) {
    ProcKey key = p.key;
    snap.emplace(key, std::move(p));
  }
  return snap;
}

Result<bool> PollSource::start(EventQueue& queue) {
  if (running_) return make_error("procfs poller already running", EBUSY);
  prev_ = snapshot();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  running_ = true;
  thread_ = std::thread(&PollSource::run, this, &queue);
  return true;
}

void PollSource::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

SourceStats PollSource::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void PollSource::run(EventQueue* queue) {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, interval_, [this] { return stop_; })) return;
    }
    PollSnapshot next = snapshot();
    std::vector<ProcEvent> evs = diff_snapshots(prev_, next, monotonic_ns());
    prev_ = std::move(next);

    uint64_t exits = 0, exe_changes = 0;
    for (size_t i = 0; i < evs.size(); ++i) {
      if (std::holds_alternative<ExitEvent>(evs[i].body)) ++exits;
      // An exec right after its own fork is a new process; any other exec is an exe change.
      if (const auto* x = std::get_if<ExecEvent>(&evs[i].body)) {
        const auto* f = i > 0 ? std::get_if<ForkEvent>(&evs[i - 1].body) : nullptr;
        if (f == nullptr || f->child_pid != x->pid) ++exe_changes;
      }
    }
    const size_t n = evs.size();
    const size_t dropped = n == 0 ? 0 : queue->push_batch(evs);

    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.events += n - dropped;
    stats_.counters["polls"] += 1;
    stats_.counters["exit_unknown"] += exits;
    stats_.counters["exe_changed"] += exe_changes;
    if (dropped != 0) stats_.counters["queue_full"] += dropped;
  }
}

}  // namespace procwatch
