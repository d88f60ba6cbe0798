#include "export/basic_auth.h"

#include <crypt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <cstring>
#include <memory>

namespace procwatch::auth {

namespace {

// A valid bcrypt hash of a random password nobody knows: unknown users are checked against it.
constexpr const char* kDummyHash = "$2y$10$vGNtkqAMX9O9BJkXPsNjAewn091xC7jukxZwV7IznDN/93WTjkcAG";
constexpr size_t kMaxCached = 4096;

std::string digest(std::string_view user, std::string_view password, const std::string& hash) {
  std::string in;
  in.reserve(user.size() + password.size() + hash.size() + 2);
  in.append(user).push_back('\0');
  in.append(password).push_back('\0');
  in.append(hash);
  unsigned char out[32];
  if (gnutls_hash_fast(GNUTLS_DIG_SHA256, in.data(), in.size(), out) != 0) return {};
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool is_bcrypt_hash(std::string_view h) {
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return false;
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
  if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9') return false;
  const int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (size_t i = 7; i < h.size(); ++i) {
    const char c = h[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '/'))
      return false;
  }
  return true;
}

bool bcrypt_verify(std::string_view password, const std::string& hash) {
  if (!is_bcrypt_hash(hash)) return false;
  // crypt_rn stops at a NUL; a password with one cannot match what htpasswd hashed.
  if (password.find('\0') != std::string_view::npos) return false;
  const std::string pw(password);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(pw.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  const bool ok = out != nullptr && out[0] != '*' && constant_time_equal(out, hash);
  explicit_bzero(data.get(), sizeof(crypt_data));
  return ok;
}

bool BasicAuth::check(std::string_view user, std::string_view password) const {
  auto it = users_.find(std::string(user));
  const bool known = it != users_.end();
  const std::string h = known ? it->second : std::string(kDummyHash);
  const std::string key = digest(user, password, h);
  {
    std::lock_guard lock(mu_);
    if (known && !key.empty() && ok_.count(key)) return true;
    ++runs_;
  }
  const bool ok = bcrypt_verify(password, h) && known;
  if (ok && !key.empty()) {
    std::lock_guard lock(mu_);
    if (ok_.size() >= kMaxCached) ok_.clear();
    ok_.insert(key);
  }
  return ok;
}

size_t BasicAuth::bcrypt_runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

}  // namespace procwatch::auth
