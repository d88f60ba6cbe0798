#include "core/user_names.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace procwatch {

std::optional<std::string> system_user_name(uint32_t uid) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size_t(size > 0 ? size : 16384));
  passwd pw{};
  passwd* result = nullptr;
  int rc;
  while ((rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &result)) == ERANGE &&
         buf.size() < (1u << 20)) {
    buf.resize(buf.size() * 2);
  }
  if (rc != 0 || result == nullptr || result->pw_name == nullptr) return std::nullopt;
  return std::string(result->pw_name);
}

UserNameCache::UserNameCache(size_t capacity, Lookup lookup, std::chrono::seconds miss_ttl)
    : capacity_(capacity > 0 ? capacity : 1),
      lookup_(lookup ? std::move(lookup) : Lookup(&system_user_name)),
      miss_ttl_(miss_ttl) {}

UserNameCache& UserNameCache::shared() {
  static UserNameCache cache;  // never destroyed before its last user: threads end first
  return cache;
}

std::optional<std::string> UserNameCache::find(uint32_t uid) {
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(uid);
    if (it != entries_.end() && (it->second.name || now - it->second.looked_up < miss_ttl_)) {
      return it->second.name;
    }
    ++lookups_;
  }
  std::optional<std::string> name = lookup_(uid);  // may block: outside the lock
  std::lock_guard lock(mu_);
  auto [it, fresh] = entries_.try_emplace(uid);
  it->second = Entry{name, now};
  if (fresh) {
    order_.push_back(uid);
    while (entries_.size() > capacity_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }
  return name;
}

std::string UserNameCache::name_or_number(uint32_t uid) {
  std::optional<std::string> name = find(uid);
  return name ? std::move(*name) : std::to_string(uid);
}

size_t UserNameCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

uint64_t UserNameCache::lookups() const {
  std::lock_guard lock(mu_);
  return lookups_;
}

}  // namespace procwatch
