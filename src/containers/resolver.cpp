#include "containers/resolver.h"
#include "core/text.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace procwatch::containers {
namespace {

using nlohmann::json;

constexpr size_t kMaxDirEntries = 65536;



// The whole file when it is a regular file of at most max bytes; nullopt otherwise.
std::optional<std::string> read_bounded(const std::string& path, size_t max) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || size_t(st.st_size) > max) {
    ::close(fd);
    return std::nullopt;
  }
  std::string out;
  out.resize(size_t(st.st_size) + 1);
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    got += size_t(n);
  }
  ::close(fd);
  if (got > max) return std::nullopt;  // grew while read
  out.resize(got);
  return out;
}

std::optional<json> read_json(const std::string& path, size_t max) {
  auto text = read_bounded(path, max);
  if (!text) return std::nullopt;
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string str_at(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string first_name(const json& obj) {
  if (!obj.is_object()) return {};
  auto it = obj.find("names");
  if (it == obj.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) return {};
  return (*it)[0].get<std::string>();
}

// Names of the entries of dir (not . and ..), at most kMaxDirEntries.
std::vector<std::string> list_dir(const std::string& dir, bool dirs_only) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    if (dirs_only && e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    out.emplace_back(n);
    if (out.size() >= kMaxDirEntries) break;
  }
  ::closedir(d);
  return out;
}

}  // namespace

bool parse_k8s_name(std::string_view full, ContainerNames* out) {
  if (!full.starts_with("k8s_")) return false;
  std::string_view rest = full.substr(4);
  std::string_view parts[5];
  for (int i = 0; i < 5; ++i) {
    const size_t us = rest.find('_');
    if (i < 4 && us == std::string_view::npos) return false;
    parts[i] = rest.substr(0, us);
    rest = us == std::string_view::npos ? std::string_view{} : rest.substr(us + 1);
    if (parts[i].empty()) return false;
  }
  // k8s_<container>_<pod>_<namespace>_<uid>_<attempt>
  out->name = std::string(parts[0]);
  out->pod = std::string(parts[1]);
  out->pod_namespace = std::string(parts[2]);
  return true;
}

ContainerResolver::ContainerResolver(ResolverOptions opts) : opts_(std::move(opts)) {}

size_t ContainerResolver::cache_size() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

uint64_t ContainerResolver::lookups() const {
  std::lock_guard lock(mu_);
  return lookups_;
}

ContainerNames ContainerResolver::resolve(const std::string& id, const std::string& runtime,
                                          const std::string& pod_uid) {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  ContainerNames names = lookup(id, runtime, pod_uid);
  std::lock_guard lock(mu_);
  ++lookups_;
  if (cache_.size() >= opts_.max_entries) cache_.clear();
  cache_.emplace(id, names);
  return names;
}

void ContainerResolver::fill(ProcInfo& info) {
  if (info.container_id.empty()) return;
  ContainerNames n = resolve(info.container_id, info.container_runtime, info.pod_uid);
  info.container_name = std::move(n.name);
  info.image = std::move(n.image);
  info.pod = std::move(n.pod);
  info.pod_namespace = std::move(n.pod_namespace);
  if (!n.runtime.empty()) info.container_runtime = std::move(n.runtime);
}

ContainerNames ContainerResolver::lookup(const std::string& id, const std::string& runtime,
                                         const std::string& pod_uid) const {
  ContainerNames out;
  out.runtime = runtime;
  if (!is_lower_hex64(id)) {
    // LXC and systemd-nspawn: the cgroup carries the name itself.
    if (runtime == "lxc" || runtime == "systemd-nspawn") out.name = id;
    return out;
  }
  const bool found = (runtime != "docker" && from_containers_storage(id, &out)) ||
                     (runtime != "podman" && runtime != "cri-o" && from_docker(id, &out));
  (void)found;
  if (!pod_uid.empty()) from_kubelet_logs(id, pod_uid, &out);
  return out;
}

bool ContainerResolver::from_containers_storage(const std::string& id,
                                                ContainerNames* out) const {
  if (opts_.podman_root.empty()) return false;
  auto all = read_json(opts_.podman_root + "/overlay-containers/containers.json",
                       opts_.max_file_bytes);
  if (!all || !all->is_array()) return false;
  const json* entry = nullptr;
  for (const json& c : *all) {
    if (str_at(c, "id") == id) {
      entry = &c;
      break;
    }
  }
  if (entry == nullptr) return false;
  // metadata is a JSON document in a string: podman's has name and image-name, CRI-O's also
  // pod-name and pod-id.
  json meta;
  if (std::string m = str_at(*entry, "metadata"); !m.empty()) {
    meta = json::parse(m, nullptr, false);
    if (meta.is_discarded()) meta = json();
  }
  const std::string name = first_name(*entry);
  const bool cri = parse_k8s_name(name, out) || !str_at(meta, "pod-name").empty();
  out->runtime = cri ? "cri-o" : "podman";
  if (!cri) out->name = !name.empty() ? name : str_at(meta, "name");
  if (out->pod.empty()) out->pod = str_at(meta, "pod-name");
  out->image = str_at(meta, "image-name");
  if (out->image.empty()) {
    const std::string image_id = str_at(*entry, "image");
    if (!image_id.empty()) {
      auto images = read_json(opts_.podman_root + "/overlay-images/images.json",
                              opts_.max_file_bytes);
      if (images && images->is_array()) {
        for (const json& im : *images) {
          if (str_at(im, "id") == image_id) {
            out->image = first_name(im);
            break;
          }
        }
      }
      if (out->image.empty()) out->image = image_id.substr(0, 12);
    }
  }
  return true;
}

bool ContainerResolver::from_docker(const std::string& id, ContainerNames* out) const {
  if (opts_.docker_root.empty()) return false;
  auto cfg = read_json(opts_.docker_root + "/containers/" + id + "/config.v2.json",
                       opts_.max_file_bytes);
  if (!cfg || !cfg->is_object()) return false;
  out->runtime = "docker";
  std::string name = str_at(*cfg, "Name");
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  const json* config = nullptr;
  if (auto it = cfg->find("Config"); it != cfg->end() && it->is_object()) config = &*it;
  if (config != nullptr) {
    out->image = str_at(*config, "Image");
    if (auto l = config->find("Labels"); l != config->end() && l->is_object()) {
      out->name = str_at(*l, "io.kubernetes.container.name");
      out->pod = str_at(*l, "io.kubernetes.pod.name");
      out->pod_namespace = str_at(*l, "io.kubernetes.pod.namespace");
    }
  }
  if (out->name.empty() && !parse_k8s_name(name, out)) out->name = name;
  return true;
}

void ContainerResolver::from_kubelet_logs(const std::string& id, const std::string& pod_uid,
                                          ContainerNames* out) const {
  if (opts_.pods_log_root.empty()) return;
  if (!out->name.empty() && !out->pod.empty() && !out->pod_namespace.empty()) return;
  // <namespace>_<pod>_<uid>: neither a namespace nor a pod name may contain '_'.
  std::string pod_dir;
  for (const std::string& d : list_dir(opts_.pods_log_root, true)) {
    if (!d.ends_with("_" + pod_uid)) continue;
    const size_t first = d.find('_');
    const size_t last = d.size() - pod_uid.size() - 1;
    if (first == std::string::npos || first >= last) continue;
    if (out->pod_namespace.empty()) out->pod_namespace = d.substr(0, first);
    if (out->pod.empty()) out->pod = d.substr(first + 1, last - first - 1);
    pod_dir = opts_.pods_log_root + "/" + d;
    break;
  }
  if (pod_dir.empty() || !out->name.empty()) return;
  // The kubelet's links <pod>_<namespace>_<container>-<id>.log name the container by id.
  if (!opts_.containers_log_root.empty()) {
    const std::string prefix = out->pod + "_" + out->pod_namespace + "_";
    const std::string suffix = "-" + id + ".log";
    for (const std::string& f : list_dir(opts_.containers_log_root, false)) {
      if (f.starts_with(prefix) && f.ends_with(suffix) &&
          f.size() > prefix.size() + suffix.size()) {
        out->name = f.substr(prefix.size(), f.size() - prefix.size() - suffix.size());
        return;
      }
    }
  }
  // Without them, a pod with one container directory names it.
  std::vector<std::string> containers = list_dir(pod_dir, true);
  if (containers.size() == 1) out->name = containers[0];
}

}  // namespace procwatch::containers
