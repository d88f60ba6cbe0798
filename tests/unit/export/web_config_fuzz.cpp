// Fuzzes the web config file (exporter-toolkit format, often copied from the web): a bad file
// must be one error naming the file and key, never a crash or a hang. Files it names read as
// missing, so TLS material is never loaded.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "export/web_config.h"

using namespace procwatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const web::FileReader no_files = [](const std::string& path) -> Result<std::string> {
    return make_error(path + ": No such file or directory", ENOENT);
  };
  auto r = web::parse_web_config(text, "web.yml", "/nonexistent", no_files);
  if (!r && (r.error().message.empty() || r.error().message.find('\n') != std::string::npos)) {
    std::fprintf(stderr, "not one line: [%s]\n", r.error().message.c_str());
    std::abort();
  }
  return 0;
}
