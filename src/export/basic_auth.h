// HTTP basic authentication against bcrypt hashes, as exporter-toolkit's basic_auth_users.
// Hashes are verified with libxcrypt's crypt_rn ($2a$, $2b$, $2y$) and compared in constant
// time. A bcrypt check costs ~50 ms at cost 10, so successful (user, password, hash) triples are
// remembered by their SHA-256 and later checks of the same credentials are a hash lookup.
// check() is thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace procwatch::auth {

// Equal length and bytes, in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

// "$2a$", "$2b$" or "$2y$", two-digit cost 04..31, '$', 53 characters of bcrypt's base64.
bool is_bcrypt_hash(std::string_view hash);

// Whether `password` hashes to `hash` (no cache). False for a malformed hash.
bool bcrypt_verify(std::string_view password, const std::string& hash);

class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}
  bool empty() const { return users_.empty(); }
  // Unknown users cost a bcrypt check too, so timing does not tell which users exist.
  bool check(std::string_view user, std::string_view password) const;
  // For tests: how many bcrypt computations ran.
  size_t bcrypt_runs() const;

 private:
  std::map<std::string, std::string> users_;
  mutable std::mutex mu_;
  mutable std::unordered_set<std::string> ok_;  // SHA-256 of user \0 password \0 hash
  mutable size_t runs_ = 0;
};

}  // namespace procwatch::auth
