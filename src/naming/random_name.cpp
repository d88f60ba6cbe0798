#include "naming/random_name.h"

#include <cstddef>

namespace procwatch {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) { return is_digit(c) || is_upper(c) || is_lower(c); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_vowel(char c) {
  switch (c | 0x20) {
    case 'a': case 'e': case 'i': case 'o': case 'u': return true;
    default: return false;
  }
}

// 0 digit, 1 upper, 2 lower.
int char_class(char c) { return is_digit(c) ? 0 : is_upper(c) ? 1 : 2; }

bool all_hex(std::string_view s, size_t from, size_t n) {
  for (size_t i = from; i < from + n; ++i) {
    if (!is_hex(s[i])) return false;
  }
  return true;
}

// 8-4-4-4-12 hex groups starting at `at`.
bool uuid_at(std::string_view s, size_t at) {
  if (at + 36 > s.size()) return false;
  static constexpr size_t kGroups[] = {8, 4, 4, 4, 12};
  size_t p = at;
  for (size_t g = 0; g < 5; ++g) {
    if (!all_hex(s, p, kGroups[g])) return false;
    p += kGroups[g];
    if (g < 4) {
      if (s[p] != '-') return false;
      ++p;
    }
  }
  return p == s.size() || !is_hex(s[p]);
}

// mktemp's default template is tmp.XXXXXXXXXX; the X's become [A-Za-z0-9].
bool mktemp_like(std::string_view name) {
  if (name.substr(0, 4) != "tmp.") return false;
  std::string_view suffix = name.substr(4);
  if (suffix.size() < 6 || suffix.size() > 32) return false;
  bool all_x = true;
  int switches = 0;
  bool seen[3] = {false, false, false};
  for (size_t i = 0; i < suffix.size(); ++i) {
    char c = suffix[i];
    if (!is_alnum(c)) return false;
    all_x = all_x && c == 'X';
    seen[char_class(c)] = true;
    if (i > 0 && char_class(c) != char_class(suffix[i - 1])) ++switches;
  }
  int classes = seen[0] + seen[1] + seen[2];
  return all_x || (classes >= 2 && switches >= 2);
}

bool token_random(std::string_view t) {
  size_t digits = 0;
  bool hex = true;
  for (char c : t) {
    digits += is_digit(c);
    hex = hex && is_hex(c);
  }
  // Hashes and ids: long hex with at least one digit (pure letters a-f spell words).
  if (t.size() >= 16 && hex && digits > 0) return true;
  return naming::random_token_score(t) >= naming::kRandomScore;
}

}  // namespace

namespace naming {

int random_token_score(std::string_view t) {
  const size_t len = t.size();
  if (len < 8) return 0;  // too short to tell a word from noise
  size_t upper = 0, lower = 0, digits = 0, vowels = 0;
  size_t pieces = 1, digit_letter = 0, switches = 0, lower_run = 0, max_lower_run = 0;
  for (size_t i = 0; i < len; ++i) {
    char c = t[i];
    upper += is_upper(c);
    lower += is_lower(c);
    digits += is_digit(c);
    vowels += is_vowel(c);
    lower_run = is_lower(c) ? lower_run + 1 : 0;
    if (lower_run > max_lower_run) max_lower_run = lower_run;
    if (i == 0) continue;
    char p = t[i - 1];
    bool dl = is_digit(c) != is_digit(p);
    digit_letter += dl;
    switches += char_class(c) != char_class(p);
    // A new "word" starts at a digit/letter change or a capital after a small letter.
    if (dl || (is_upper(c) && is_lower(p))) ++pieces;
  }
  const size_t letters = upper + lower;
  if (letters == 0) return 0;  // plain numbers: uids, years, timestamps
  const int classes = (upper > 0) + (lower > 0) + (digits > 0);
  const double vowel_ratio = static_cast<double>(vowels) / static_cast<double>(letters);

  if (classes == 1) {
    // One-case letters only: random only when long and nearly vowel-less.
    return (len >= 10 && vowel_ratio < 0.12) ? kRandomScore : 0;
  }
  int score = classes == 3 ? 2 : 1;
  const double avg_piece = static_cast<double>(len) / static_cast<double>(pieces);
  if (avg_piece < 2.2) {
    score += 2;
  } else if (avg_piece < 3.2) {
    score += 1;
  }
  if (digit_letter >= 4) ++score;
  // Noise flips between upper, lower and digit on most characters; words flip once per word.
  if (static_cast<double>(switches) >= 0.6 * static_cast<double>(len - 1)) ++score;
  if (letters >= 4) {
    if (vowel_ratio < 0.25) {
      ++score;
    } else if (vowel_ratio > 0.4) {
      --score;
    }
  }
  if (len >= 10) ++score;
  if (max_lower_run >= 5) --score;  // a readable word inside
  return score;
}

}  // namespace naming

bool is_random_name(std::string_view name) {
  if (name.size() < 6) return false;
  if (mktemp_like(name)) return true;
  for (size_t i = 0; i + 36 <= name.size(); ++i) {
    if ((i == 0 || !is_hex(name[i - 1])) && uuid_at(name, i)) return true;
  }
  size_t i = 0;
  while (i < name.size()) {
    while (i < name.size() && !is_alnum(name[i])) ++i;
    size_t start = i;
    while (i < name.size() && is_alnum(name[i])) ++i;
    if (i > start && token_random(name.substr(start, i - start))) return true;
  }
  return false;
}

bool has_random_dir(std::string_view path) {
  size_t last = path.rfind('/');
  if (last == std::string_view::npos) return false;
  std::string_view dirs = path.substr(0, last);
  size_t skip_index = SIZE_MAX;
  if (dirs.substr(0, 11) == "/nix/store/" || dirs.substr(0, 11) == "/gnu/store/") skip_index = 2;
  size_t index = 0, i = 0;
  while (i <= dirs.size()) {
    size_t end = dirs.find('/', i);
    if (end == std::string_view::npos) end = dirs.size();
    std::string_view comp = dirs.substr(i, end - i);
    if (!comp.empty()) {
      if (index != skip_index && is_random_name(comp)) return true;
      ++index;
    }
    i = end + 1;
  }
  return false;
}

}  // namespace procwatch
