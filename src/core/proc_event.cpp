#include "core/proc_event.h"

namespace procwatch {

const char* event_name(const EventBody& body) {
  static constexpr const char* kNames[] = {"fork", "exec",   "exit",     "uid",     "gid",
                                           "sid",  "comm",   "ptrace",   "coredump", "lost"};
  static_assert(std::size(kNames) == std::variant_size_v<EventBody>);
  return kNames[body.index()];
}

}  // namespace procwatch
