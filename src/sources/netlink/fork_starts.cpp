#include "sources/netlink/fork_starts.h"

#include <optional>
#include <unordered_map>

namespace procwatch::netlink {

uint64_t resolve_fork_starts(std::vector<ProcEvent>& batch, const procfs::ProcReader& reader) {
  struct Later {  // what the rest of the batch says about a pid
    std::optional<uint64_t> start;  // from its exec's capture
    bool exited = false;
  };
  std::unordered_map<int32_t, Later> later;
  uint64_t missed = 0;
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    if (auto* x = std::get_if<ExitEvent>(&it->body); x && x->pid == x->tid) {
      later[x->pid] = Later{std::nullopt, true};
    } else if (auto* ex = std::get_if<ExecEvent>(&it->body); ex && ex->pid == ex->tid) {
      if (ex->capture.start_time) later[ex->pid].start = ex->capture.start_time;
    } else if (auto* f = std::get_if<ForkEvent>(&it->body); f && f->child_pid == f->child_tid) {
      auto l = later.find(f->child_pid);
      if (l != later.end() && l->second.start) {
        f->child_start_time = l->second.start;
      } else if (l == later.end() || !l->second.exited) {
        f->child_start_time = reader.read_start_time(f->child_pid);
      }
      if (!f->child_start_time) ++missed;
      later.erase(f->child_pid);  // anything earlier about this pid is another process
    }
  }
  return missed;
}

}  // namespace procwatch::netlink
