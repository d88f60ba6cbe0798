// Fuzzes redaction: the defaults over an argv made of the input (NUL-separated arguments that
// another user chose), then a user pattern (the first line) over the rest. The masked argv keeps
// its argument count and never holds a captured secret.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "redact/redactor.h"

using procwatch::redact::Redactor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> argv(1);
  for (char c : in) {
    if (c == '\0')
      argv.emplace_back();
    else
      argv.back() += c;
  }
  std::vector<std::string> masked = argv;
  Redactor::current()->redact(masked);
  if (masked.size() != argv.size()) std::abort();

  const size_t nl = in.find('\n');
  if (nl == std::string::npos || nl > 256) return 0;
  auto user = Redactor::build(false, {in.substr(0, nl)});
  if (!user) return 0;
  std::vector<std::string> rest = argv;
  (*user)->redact(rest);
  if (rest.size() != argv.size()) std::abort();
  return 0;
}
