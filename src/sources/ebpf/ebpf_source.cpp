#include "sources/ebpf/ebpf_source.h"

#include <chrono>
#include <utility>

#include "core/clock.h"
#include "procfs/cgroup_resolver.h"
#include "sources/ebpf/ebpf_decoder.h"
#include "sources/ebpf/ebpf_loader.h"

namespace procwatch {

namespace {
// Records wake us only in bulk (see wakeup_bytes in procwatch.bpf.c): this bounds latency.
constexpr int kPollMs = 20;
constexpr size_t kBatch = 256;
constexpr auto kLostCheckEvery = std::chrono::milliseconds(100);
}  // namespace

EbpfSource::EbpfSource(EbpfOptions opts) : opts_(std::move(opts)) {}

EbpfSource::~EbpfSource() { stop(); }

Result<bool> EbpfSource::start(EventQueue& queue) {
  if (running_.load()) return make_error("ebpf: already started");
  queue_ = &queue;
  if (opts_.resolve_cgroups) {
    std::string root = opts_.cgroup_root;
    if (root.empty()) {
      auto m = procfs::find_cgroup2_mount();
      if (m) root = *m;
    }
    if (!root.empty()) cgroups_ = std::make_unique<procfs::CgroupResolver>(root);
  }
  ebpf::LoaderOptions lo;
  lo.ringbuf_bytes = opts_.ringbuf_bytes;
  lo.max_args_bytes = opts_.max_args_bytes;
  auto loader =
      ebpf::EbpfLoader::create(lo, [this](std::span<const std::byte> b) { on_record(b); });
  if (!loader) return loader.error();
  loader_ = std::move(*loader);
  lost_seen_ = loader_->lost_total();
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return true;
}

void EbpfSource::stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
  loader_.reset();  // detaches the programs
}

void EbpfSource::flush() {
  // Counted before the push, so that stats() already counts whatever a consumer can pop;
  // what the full queue refused is taken back.
  const size_t n = batch_.size();
  events_.fetch_add(n, std::memory_order_relaxed);
  const size_t dropped = queue_->push_batch(batch_);
  if (dropped) {
    events_.fetch_sub(dropped, std::memory_order_relaxed);
    queue_dropped_.fetch_add(dropped, std::memory_order_relaxed);
  }
  batch_.clear();
}

void EbpfSource::on_record(std::span<const std::byte> bytes) {
  ebpf::DecodeOptions dopts;
  dopts.clock_hz = uint64_t(clock_ticks_per_second());
  dopts.max_args = opts_.max_args;
  auto ev = ebpf::decode_ebpf_record(bytes, dopts);
  if (!ev) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (auto* exec = std::get_if<ExecEvent>(&ev->body)) {
    ExecCapture& c = exec->capture;
    if (!c.exe) exe_missing_.fetch_add(1, std::memory_order_relaxed);
    if (cgroups_ && c.cgroup_id) {
      c.cgroup = cgroups_->resolve(*c.cgroup_id);
      if (!c.cgroup) cgroup_unresolved_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  batch_.push_back(std::move(*ev));
  if (batch_.size() >= kBatch) flush();
}

void EbpfSource::check_lost() {
  uint64_t total = loader_->lost_total();
  if (total <= lost_seen_) return;
  uint64_t delta = total - lost_seen_;
  lost_seen_ = total;
  lost_.fetch_add(delta, std::memory_order_relaxed);
  ProcEvent ev;
  ev.ts_ns = monotonic_ns();
  ev.body = LostEvent{delta, "ringbuf"};
  batch_.push_back(std::move(ev));
}

void EbpfSource::run() {
  auto next_lost_check = std::chrono::steady_clock::now();
  while (running_.load(std::memory_order_relaxed)) {
    auto n = loader_->poll(kPollMs);
    if (!n) poll_errors_.fetch_add(1, std::memory_order_relaxed);
    auto now = std::chrono::steady_clock::now();
    if (now >= next_lost_check) {
      check_lost();
      next_lost_check = now + kLostCheckEvery;
    }
    if (!batch_.empty()) flush();
    if (!n) std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

SourceStats EbpfSource::stats() const {
  SourceStats s;
  s.events = events_.load();
  s.lost = lost_.load();
  s.malformed = malformed_.load();
  s.counters["queue_dropped"] = queue_dropped_.load();
  s.counters["cgroup_unresolved"] = cgroup_unresolved_.load();
  s.counters["exe_missing"] = exe_missing_.load();
  s.counters["poll_errors"] = poll_errors_.load();
  return s;
}

}  // namespace procwatch
