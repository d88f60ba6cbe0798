// Benchmark workload: spawn COUNT short-lived processes of EXE from WORKERS threads as fast as
// possible (posix_spawn + waitpid), each with argv {EXE, "pw-<i>"} so a monitor's output can be
// checked for the exact exe and argv. Prints the elapsed wall time in seconds and the number of
// failed spawns on stdout, and the worker thread ids on stderr ("threads: TID...") so a driver
// can tell thread events of the spawner from its child processes (both have it as parent).
// Usage: spawner EXE COUNT WORKERS
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: spawner EXE COUNT WORKERS\n");
    return 2;
  }
  const std::string exe = argv[1];
  const long count = std::atol(argv[2]);
  const int workers = std::atoi(argv[3]);
  std::atomic<long> next{0}, failed{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<pid_t> tids(workers > 0 ? workers : 0);
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      tids[w] = gettid();
      for (long i = next++; i < count; i = next++) {
        std::string tag = "pw-" + std::to_string(i);
        char* args[] = {const_cast<char*>(exe.c_str()), tag.data(), nullptr};
        pid_t pid;
        if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, args, environ) != 0) {
          ++failed;
          continue;
        }
        int st;
        waitpid(pid, &st, 0);
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.6f %ld\n", secs, failed.load());
  std::fprintf(stderr, "threads:");
  for (pid_t t : tids) std::fprintf(stderr, " %d", int(t));
  std::fprintf(stderr, "\n");
  return failed ? 1 : 0;
}
