// Stand-in for libFuzzer when clang is not used: feeds every file of the seed corpus, then
// random mutations of them (and pure random bytes), to LLVMFuzzerTestOneInput. Run under
// ASan+UBSan in `make test`, it catches crashes and overreads on malformed input.
// Usage: <target> ITERATIONS [CORPUS_DIR]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 10000;
  std::vector<std::vector<uint8_t>> seeds;
  if (argc < 3 || !std::filesystem::is_directory(argv[2])) {
    std::fprintf(stderr, "fuzz driver: no corpus directory (usage: %s ITERATIONS CORPUS_DIR)\n",
                 argv[0]);
    return 2;
  }
  std::fprintf(stderr,
               "fuzz driver: blind mutations of the seed corpus, not coverage-guided; "
               "`make fuzz` runs the libFuzzer build\n");
  {
    for (const auto& e : std::filesystem::directory_iterator(argv[2])) {
      std::ifstream f(e.path(), std::ios::binary);
      seeds.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "fuzz driver: corpus %s is empty\n", argv[2]);
    return 2;
  }
  for (const auto& s : seeds) LLVMFuzzerTestOneInput(s.data(), s.size());
  std::mt19937_64 rng(12345);
  std::vector<uint8_t> buf;
  for (long i = 0; i < iterations; ++i) {
    if (!seeds.empty() && rng() % 4 != 0) {
      buf = seeds[rng() % seeds.size()];
      const int flips = 1 + int(rng() % 8);
      for (int k = 0; k < flips; ++k) {
        switch (rng() % 4) {
          case 0:  // flip a byte
            if (!buf.empty()) buf[rng() % buf.size()] = uint8_t(rng());
            break;
          case 1:  // truncate
            if (!buf.empty()) buf.resize(rng() % buf.size());
            break;
          case 2:  // insert
            buf.insert(buf.begin() + long(buf.empty() ? 0 : rng() % buf.size()), uint8_t(rng()));
            break;
          default:  // interesting values
            if (buf.size() >= 4) {
              static const uint32_t kVals[] = {0, 1, 0x7fffffff, 0xffffffff, 0x80000000, 16, 76};
              uint32_t v = kVals[rng() % std::size(kVals)];
              size_t at = rng() % (buf.size() - 3);
              std::memcpy(buf.data() + at, &v, 4);
            }
        }
      }
    } else {
      buf.resize(rng() % 512);
      for (auto& b : buf) b = uint8_t(rng());
    }
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
  }
  std::printf("fuzz driver: %zu seeds, %ld random inputs, no crash\n", seeds.size(), iterations);
  return 0;
}
