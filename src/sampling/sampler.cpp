#include "sampling/sampler.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <unordered_map>
#include <utility>

#include "core/clock.h"
#include "naming/tree_namer.h"
#include "table/process_table.h"

namespace procwatch::sampling {

std::string ps_stat_flags(const PsStat& st, int32_t tgid, bool locked_pages) {
  std::string out(1, st.state);
  if (st.nice < 0) out += '<';
  if (st.nice > 0) out += 'N';
  if (locked_pages) out += 'L';
  if (st.session == tgid) out += 's';
  if (st.num_threads > 1) out += 'l';
  if (st.pgrp == st.tpgid) out += '+';
  return out;
}

uint64_t parse_vm_lck_kb(std::string_view text) {
  const size_t at = text.find("\nVmLck:");
  if (at == std::string_view::npos) return 0;
  std::string_view v = text.substr(at + 7);
  v = v.substr(0, v.find('\n'));
  size_t b = v.find_first_not_of(" \t");
  if (b == std::string_view::npos) return 0;
  v.remove_prefix(b);
  uint64_t kb = 0;
  std::from_chars(v.data(), v.data() + v.size(), kb);
  return kb;
}

Sampler::Sampler(const procfs::ProcReader& reader, SamplerOptions options)
    : reader_(reader), options_(std::move(options)) {
  if (options_.ticks_per_second <= 0) options_.ticks_per_second = clock_ticks_per_second();
  if (options_.ticks_per_second <= 0) options_.ticks_per_second = 100;
  if (options_.page_size <= 0) options_.page_size = ::sysconf(_SC_PAGESIZE);
  if (options_.page_size <= 0) options_.page_size = 4096;
}

double Sampler::uptime_s() const {
  if (options_.uptime_s) return options_.uptime_s();
  std::string path = reader_.root() + "/uptime";
  if (FILE* f = std::fopen(path.c_str(), "re")) {
    double up = 0;
    int n = std::fscanf(f, "%lf", &up);
    std::fclose(f);
    if (n == 1) return up;
  }
  return double(boottime_ns()) / 1e9;
}

std::optional<rules::ProcSample> Sampler::fill(ProcInfo info, double now_s) {
  const int32_t pid = info.key.pid;
  auto text = reader_.read_file(pid, "stat", 4096);
  if (!text) return std::nullopt;
  auto st = parse_ps_stat(*text);
  if (!st) return std::nullopt;
  // A reused pid is another process: its numbers must not be attributed to `info`.
  if (info.key.start_time != 0 && st->start_time != info.key.start_time) return std::nullopt;
  if (info.key.start_time == 0) info.key.start_time = st->start_time;

  rules::ProcSample s;
  s.state = st->state;
  bool locked = false;
  s.vsz_kb = st->vsize / 1024;
  s.rss_kb = st->rss_pages > 0 ? uint64_t(st->rss_pages) * uint64_t(options_.page_size) / 1024 : 0;
  if (options_.read_status) {
    if (auto text = reader_.read_file(pid, "status")) {
      locked = parse_vm_lck_kb(*text) > 0;
      if (auto status = procfs::parse_status(*text)) {
        // Kernel threads and zombies have no Vm lines: keep stat's (zero) values.
        if (text->find("\nVmRSS:") != std::string::npos) s.rss_kb = status->vm_rss_kb;
        if (text->find("\nVmSize:") != std::string::npos) s.vsz_kb = status->vm_size_kb;
      }
    }
  }
  s.ps_stat = ps_stat_flags(*st, pid, locked);
  const double hz = double(options_.ticks_per_second);
  s.elapsed_s = std::max(0.0, now_s - double(st->start_time) / hz);
  const uint64_t ticks = st->utime + st->stime;
  s.lifetime_cpu_percent = s.elapsed_s > 0 ? double(ticks) / hz / s.elapsed_s * 100.0 : 0.0;
  s.cpu_percent = s.lifetime_cpu_percent;

  const ProcKey key = info.key;
  std::deque<Tick> hist;
  if (auto it = history_.find(key); it != history_.end()) hist = std::move(it->second);
  if (!hist.empty()) {
    // Base: the newest earlier sample at least a window old, else the oldest kept.
    const double cutoff = now_s - double(options_.cpu_window.count()) / 1000.0;
    size_t base = 0;
    for (size_t i = 0; i < hist.size(); ++i) {
      if (hist[i].uptime_s <= cutoff) base = i;
    }
    hist.erase(hist.begin(), hist.begin() + long(base));
    const Tick& b = hist.front();
    const double dt = now_s - b.uptime_s;
    if (dt > 0.001 && ticks >= b.ticks) s.cpu_percent = double(ticks - b.ticks) / hz / dt * 100.0;
  }
  hist.push_back(Tick{now_s, ticks});
  next_history_[key] = std::move(hist);

  s.info = std::move(info);
  s.info.threads = uint32_t(st->num_threads > 0 ? st->num_threads : 1);
  return s;
}

std::vector<rules::ProcSample> Sampler::sample() {
  std::vector<ProcInfo> scan = reader_.scan();
  if (options_.name_trees) {
    TreeNamer namer;
    Enricher enricher;
    enricher.name = [&namer](const ProcInfo& self, const ProcInfo* parent) {
      return namer.name(self, parent);
    };
    ProcessTable table(std::move(enricher));
    table.load_scan(std::move(scan));
    scan = table.snapshot();
  }
  return sample(std::move(scan));
}

std::vector<rules::ProcSample> Sampler::sample(std::vector<ProcInfo> infos) {
  std::unordered_map<int32_t, std::pair<uint64_t, std::string>> comm_of;
  comm_of.reserve(infos.size());
  for (const ProcInfo& p : infos) comm_of.emplace(p.key.pid, std::make_pair(p.key.start_time, p.comm));

  const double now_s = uptime_s();
  next_history_.clear();
  std::vector<rules::ProcSample> out;
  out.reserve(infos.size());
  for (ProcInfo& info : infos) {
    std::string parent;
    if (auto it = comm_of.find(info.ppid); it != comm_of.end()) {
      if (info.parent_start_time == 0 || it->second.first == info.parent_start_time) {
        parent = it->second.second;
      }
    }
    if (auto s = fill(std::move(info), now_s)) {
      s->parent_name = std::move(parent);
      out.push_back(std::move(*s));
    }
  }
  history_.swap(next_history_);
  next_history_.clear();
  std::sort(out.begin(), out.end(), [](const rules::ProcSample& a, const rules::ProcSample& b) {
    return a.info.key.pid < b.info.key.pid;
  });
  return out;
}

}  // namespace procwatch::sampling
