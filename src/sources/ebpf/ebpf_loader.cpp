#include "sources/ebpf/ebpf_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "procwatch.skel.h"

namespace procwatch::ebpf {

namespace {

// libbpf prints to stderr by default; keep its last warning to name the cause in our error.
std::mutex g_log_mu;
std::string g_last_log;

int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[512];
  int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
  if (n <= 0) return 0;
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  // The verifier log comes line by line; the "libbpf:" summary lines are the useful ones.
  if (line.rfind("libbpf:", 0) == 0) {
    std::lock_guard<std::mutex> lock(g_log_mu);
    g_last_log = line;
  }
  return 0;
}

std::string take_last_log() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  std::string s;
  s.swap(g_last_log);
  return s;
}

Error fail(const std::string& what, int err) {
  err = err < 0 ? -err : err;
  std::string msg =
      "ebpf: " + what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")";
  if (err == EPERM || err == EACCES)
    msg += "; needs root (CAP_BPF + CAP_PERFMON) and a kernel that allows tp_btf programs";
  std::string log = take_last_log();
  if (!log.empty()) msg += " [" + log + "]";
  return make_error(std::move(msg), err);
}

bool is_power_of_two(size_t v) { return v && !(v & (v - 1)); }

}  // namespace

struct EbpfLoader::Impl {
  procwatch_bpf* skel = nullptr;
  ring_buffer* rb = nullptr;
  RecordFn on_record;
  int lost_fd = -1;
  unsigned ncpus = 1;

  ~Impl() {
    if (rb) ring_buffer__free(rb);
    if (skel) procwatch_bpf__destroy(skel);
  }

  static int on_sample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    self->on_record(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
    return 0;
  }
};

EbpfLoader::EbpfLoader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EbpfLoader::~EbpfLoader() = default;

Result<std::unique_ptr<EbpfLoader>> EbpfLoader::create(const LoaderOptions& opts,
                                                       RecordFn on_record) {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(libbpf_log); });
  take_last_log();

  const long page = sysconf(_SC_PAGESIZE);
  if (!is_power_of_two(opts.ringbuf_bytes) || opts.ringbuf_bytes < size_t(page) ||
      opts.ringbuf_bytes > (size_t(1) << 30))
    return make_error("ebpf: ring buffer size " + std::to_string(opts.ringbuf_bytes) +
                          " must be a power of two between the page size and 1 GiB",
                      EINVAL);
  if (opts.max_args_bytes > 4096)
    return make_error("ebpf: max args bytes must be at most 4096", EINVAL);
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return make_error(
        "ebpf: kernel BTF (/sys/kernel/btf/vmlinux) not available; the eBPF "
        "source needs CONFIG_DEBUG_INFO_BTF (Linux 5.8+ recommended)",
        ENOENT);

  auto impl = std::make_unique<Impl>();
  impl->on_record = std::move(on_record);
  impl->skel = procwatch_bpf__open();
  if (!impl->skel) return fail("open skeleton", errno);
  impl->skel->rodata->max_args_bytes = opts.max_args_bytes;
  int err = bpf_map__set_max_entries(impl->skel->maps.events, uint32_t(opts.ringbuf_bytes));
  if (err) return fail("set ring buffer size", err);
  err = procwatch_bpf__load(impl->skel);
  if (err) return fail("load programs", err);
  err = procwatch_bpf__attach(impl->skel);
  if (err) return fail("attach tp_btf programs", err);

  impl->rb =
      ring_buffer__new(bpf_map__fd(impl->skel->maps.events), &Impl::on_sample, impl.get(), nullptr);
  if (!impl->rb) return fail("create ring buffer reader", errno);
  impl->lost_fd = bpf_map__fd(impl->skel->maps.lost);
  int n = libbpf_num_possible_cpus();
  impl->ncpus = n > 0 ? unsigned(n) : 1;
  return std::unique_ptr<EbpfLoader>(new EbpfLoader(std::move(impl)));
}

Result<int> EbpfLoader::poll(int timeout_ms) {
  int n = ring_buffer__poll(impl_->rb, timeout_ms);
  if (n == -EINTR) n = 0;
  if (n < 0) return fail("ring buffer poll", n);
  // Records submitted without a wakeup (below the kernel-side threshold) are not reported by
  // epoll: consume them on every timer tick too.
  int m = ring_buffer__consume(impl_->rb);
  if (m < 0) return fail("ring buffer consume", m);
  return n + m;
}

uint64_t EbpfLoader::lost_total() const {
  std::vector<uint64_t> per_cpu(impl_->ncpus, 0);
  uint32_t key = 0;
  if (bpf_map_lookup_elem(impl_->lost_fd, &key, per_cpu.data()) != 0) return 0;
  uint64_t sum = 0;
  for (uint64_t v : per_cpu) sum += v;
  return sum;
}

}  // namespace procwatch::ebpf
