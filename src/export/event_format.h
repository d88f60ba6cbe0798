// Formatting of process events and snapshots for `trace` and `tree`: JSON lines and a
// human-readable terminal form. Pure functions over values; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/proc_info.h"
#include "engine/event_record.h"

namespace procwatch::output {

// RFC 3339 UTC with microseconds, e.g. 2026-11-21T05:43:37.123456Z.
std::string format_timestamp(uint64_t realtime_ns);

// Bytes that are not UTF-8 (a path, argument, comm, user or cgroup can hold any byte but NUL):
// the text field shows each invalid sequence as U+FFFD, and a sibling field "<key>_b64" holds
// the exact bytes in base64 (core/raw_text.h). The sibling is present only when the text is
// not valid UTF-8, so a reader takes b64decode(j["exe_b64"]) when present, else j["exe"]
// encoded as UTF-8. For argv, "argv_b64" is an array with every element in base64, present
// when any element is not UTF-8.
void set_text(nlohmann::json& j, std::string_view key, std::string_view value);

nlohmann::json proc_json(const ProcInfo& p);
nlohmann::json event_json(const EventRecord& r);
// The same object as event_json(r).dump() (same keys, same order, invalid UTF-8 replaced by
// U+FFFD, the same *_b64 fields), appended to out with a trailing newline. `trace --json` writes one per event:
// building an nlohmann object per event was most of procwatch's CPU time at high exec rates.
void append_event_json_line(std::string& out, const EventRecord& r);
// Human form: time, event, pid, ppid, user, exe and args, indented by depth; exit code and
// duration on exit. `color` adds ANSI colours for a terminal.
std::string event_text(const EventRecord& r, bool color);

// Argv joined for display: arguments with spaces or special characters are quoted, and the
// whole is cut to max_len characters with a trailing "...".
std::string join_argv(const std::vector<std::string>& argv, size_t max_len = 512);

// `tree`: processes as a forest ordered by pid. JSON: an array of root objects, each with
// the proc_json fields and "children". Text: one line per process, indented like pstree.
nlohmann::json tree_json(const std::vector<ProcInfo>& procs);
std::string tree_text(const std::vector<ProcInfo>& procs, bool color);

// `tree --containers`: the processes grouped by container, the host's first, then each
// container by name (then id); each group is a forest of its own (a process whose parent is
// in another group is a root). JSON: an array of {container_id, container_name, image,
// runtime, pod, pod_uid, namespace, processes: [tree_json roots]}; text: a header line per
// group ("host" or "container NAME (runtime, image IMAGE, id ID12)") and its tree_text.
nlohmann::json containers_tree_json(const std::vector<ProcInfo>& procs);
std::string containers_tree_text(const std::vector<ProcInfo>& procs, bool color);

}  // namespace procwatch::output
