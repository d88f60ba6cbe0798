// Selector matching over one ProcSample. Pure functions; thread-safe (compiled regexes are only
// read). Unknown ids (ProcInfo::ids_known == false) never match an id selector, negated or not.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/user_regex.h"
#include "rules/rule.h"

namespace procwatch::rules {

// Facts about the whole snapshot some selectors need.
struct MatchContext {
  int32_t kthreadd_pid = 0;  // 0 when absent
};
MatchContext make_match_context(const std::vector<ProcSample>& snapshot);

// argv joined by ' '; "[comm]" when argv is empty (kernel threads), like ps's args column.
std::string ps_args(const ProcInfo& info);
// The script an interpreter runs ("/usr/bin/python3 /usr/sbin/foo -x" -> "foo"), a python
// module ("-m http.server" -> "http.server"), else "". Naming's process_script() decides, so
// a rule's `name:` and the tree name agree on which argument is the script.
std::string script_name(const ProcInfo& info);
// name selector semantics: comm, exe base name, argv[0] base name or script name.
bool name_matches(const ProcInfo& info, const std::string& name, bool glob);
// fnmatch(3) without flags: '*' also matches '/'.
bool glob_match(const std::string& pattern, const std::string& text);
// Escape glob metacharacters so glob_match compares literally.
std::string glob_escape(std::string_view literal);

// A selector value as written in a config: "\xNN" (two hex digits) stands for the byte 0xNN,
// so a UTF-8 config can name a path or comm that is not UTF-8 ("/tmp/x\xff/true"). In a glob
// (glob = true) the byte is literal (escaped for fnmatch); other escapes are left as written.
// Error for "\x00": fnmatch and the kernel's strings end at NUL.
Result<std::string> decode_byte_escapes(std::string_view written, bool glob);

bool selector_matches(const Selector& sel, const ProcSample& s, const MatchContext& ctx);
bool rule_matches(const std::vector<Selector>& match, const ProcSample& s,
                  const MatchContext& ctx);

}  // namespace procwatch::rules
