#include "export/web_config.h"

#include "core/text.h"
#include "core/yaml_shape.h"

#include <gnutls/gnutls.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "export/basic_auth.h"

namespace procwatch::web {

namespace {

struct Fail {
  std::string key;  // "tls_server_config.cert_file"; "" for the whole file
  std::string message;
};

[[noreturn]] void fail(std::string key, std::string message) {
  throw Fail{std::move(key), std::move(message)};
}

std::string what_is(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "nothing";
  }
}

// The map at `key` (an absent or null node is an empty map).
void need_map(const YAML::Node& n, const std::string& key) {
  if (n && !n.IsNull() && !n.IsMap()) fail(key, "expected a map, got " + what_is(n));
}

std::string scalar(const YAML::Node& n, const std::string& key) {
  if (n.IsNull()) return "";
  if (!n.IsScalar()) fail(key, "expected a string, got " + what_is(n));
  return n.Scalar();
}

// Map entries in file order with string keys.
std::vector<std::pair<std::string, YAML::Node>> entries(const YAML::Node& n,
                                                        const std::string& key) {
  std::vector<std::pair<std::string, YAML::Node>> out;
  if (!n || n.IsNull()) return out;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar())
      fail(key, "keys must be strings, got " + what_is(kv.first));
    out.emplace_back(kv.first.Scalar(), kv.second);
  }
  return out;
}

std::string join(const std::string& a, const std::string& b) { return a + "." + b; }

std::string resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

struct GnutlsCred {
  gnutls_certificate_credentials_t c = nullptr;
  GnutlsCred() { gnutls_certificate_allocate_credentials(&c); }
  ~GnutlsCred() {
    if (c) gnutls_certificate_free_credentials(c);
  }
};

gnutls_datum_t datum(const std::string& s) {
  return gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
                        unsigned(s.size())};
}

int version_rank(std::string_view v) {
  if (v == "TLS10") return 0;
  if (v == "TLS11") return 1;
  if (v == "TLS12") return 2;
  if (v == "TLS13") return 3;
  return -1;
}

// exporter-toolkit's allowed extra headers and, where it restricts them, their values.
const std::map<std::string, std::vector<std::string>>& allowed_headers() {
  static const std::map<std::string, std::vector<std::string>> m = {
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  return m;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

class Parser {
 public:
  Parser(const std::string& dir, const FileReader& read) : dir_(dir), read_(read) {}

  WebConfig parse(const YAML::Node& root) {
    WebConfig c;
    if (!root || root.IsNull()) return c;
    if (!root.IsMap()) fail("", "expected a map of tls_server_config, http_server_config and "
                                "basic_auth_users, got " + what_is(root));
    for (const auto& [k, v] : entries(root, "")) {
      if (k == "tls_server_config")
        parse_tls(v, c);
      else if (k == "http_server_config")
        parse_http(v, c);
      else if (k == "basic_auth_users")
        parse_users(v, c);
      else
        fail(k, "unknown key (expected tls_server_config, http_server_config or "
                "basic_auth_users)");
    }
    return c;
  }

 private:
  std::string read_file(const std::string& key, const std::string& path) {
    auto r = read_(path);
    if (!r) fail(key, "cannot read " + path + ": " + r.error().message);
    return std::move(*r);
  }

  void parse_tls(const YAML::Node& n, WebConfig& c) {
    const std::string k = "tls_server_config";
    need_map(n, k);
    std::string cert, key, auth, ca, min_v = "TLS12", max_v = "TLS13";
    for (const auto& [name, v] : entries(n, k)) {
      const std::string key_name = join(k, name);
      if (name == "cert_file")
        cert = scalar(v, key_name);
      else if (name == "key_file")
        key = scalar(v, key_name);
      else if (name == "client_auth_type")
        auth = scalar(v, key_name);
      else if (name == "client_ca_file")
        ca = scalar(v, key_name);
      else if (name == "min_version" || name == "max_version") {
        const std::string s = scalar(v, key_name);
        if (version_rank(s) < 0)
          fail(key_name, "expected TLS10, TLS11, TLS12 or TLS13, got '" + s + "'");
        (name == "min_version" ? min_v : max_v) = s;
      } else if (name == "cert" || name == "key" || name == "cipher_suites" ||
                 name == "curve_preferences" || name == "prefer_server_cipher_suites" ||
                 name == "client_allowed_sans")
        fail(key_name, "not supported by procwatch");
      else
        fail(key_name, "unknown key (expected cert_file, key_file, client_auth_type, "
                       "client_ca_file, min_version or max_version)");
    }
    if (cert.empty() && key.empty() && auth.empty() && ca.empty()) return;  // plain HTTP
    if (cert.empty()) fail(join(k, "cert_file"), "missing (needed with key_file)");
    if (key.empty()) fail(join(k, "key_file"), "missing (needed with cert_file)");
    http::TlsOptions t;
    static const std::map<std::string, http::ClientAuth> kAuth = {
        {"", http::ClientAuth::kNone},
        {"NoClientCert", http::ClientAuth::kNone},
        {"RequestClientCert", http::ClientAuth::kRequest},
        {"RequireAnyClientCert", http::ClientAuth::kRequireAny},
        {"VerifyClientCertIfGiven", http::ClientAuth::kVerifyIfGiven},
        {"RequireAndVerifyClientCert", http::ClientAuth::kRequireAndVerify},
    };
    auto a = kAuth.find(auth);
    if (a == kAuth.end())
      fail(join(k, "client_auth_type"),
           "expected NoClientCert, RequestClientCert, RequireAnyClientCert, "
           "VerifyClientCertIfGiven or RequireAndVerifyClientCert, got '" + auth + "'");
    t.client_auth = a->second;
    const bool verifies = t.client_auth == http::ClientAuth::kVerifyIfGiven ||
                          t.client_auth == http::ClientAuth::kRequireAndVerify;
    if (!ca.empty() && t.client_auth == http::ClientAuth::kNone)
      fail(join(k, "client_ca_file"), "set without a client_auth_type that uses it");
    if (ca.empty() && verifies)
      fail(join(k, "client_ca_file"), "missing (client_auth_type " + auth + " needs it)");
    auto prio = tls_priorities(min_v, max_v);
    if (!prio) fail(join(k, "max_version"), prio.error().message);
    t.priorities = *prio;

    c.cert_file = resolve(dir_, cert);
    c.key_file = resolve(dir_, key);
    t.cert_pem = read_file(join(k, "cert_file"), c.cert_file);
    t.key_pem = read_file(join(k, "key_file"), c.key_file);
    GnutlsCred cred;
    const gnutls_datum_t cd = datum(t.cert_pem), kd = datum(t.key_pem);
    if (int rc = gnutls_certificate_set_x509_key_mem2(cred.c, &cd, &kd, GNUTLS_X509_FMT_PEM,
                                                      nullptr, 0);
        rc < 0)
      fail(join(k, "key_file"), "cannot use " + c.key_file + " with " + c.cert_file + ": " +
                                    gnutls_strerror(rc));
    if (!ca.empty()) {
      c.client_ca_file = resolve(dir_, ca);
      t.ca_pem = read_file(join(k, "client_ca_file"), c.client_ca_file);
      const gnutls_datum_t cad = datum(t.ca_pem);
      const int n = gnutls_certificate_set_x509_trust_mem(cred.c, &cad, GNUTLS_X509_FMT_PEM);
      if (n <= 0)
        fail(join(k, "client_ca_file"),
             "no certificate in " + c.client_ca_file + (n < 0 ? std::string(": ") +
                                                                    gnutls_strerror(n)
                                                              : std::string()));
    }
    c.tls = std::move(t);
  }

  void parse_http(const YAML::Node& n, WebConfig& c) {
    const std::string k = "http_server_config";
    need_map(n, k);
    for (const auto& [name, v] : entries(n, k)) {
      const std::string key_name = join(k, name);
      if (name == "http2") {
        const std::string s = scalar(v, key_name);
        bool b = false;
        if (!YAML::convert<bool>::decode(v, b))
          fail(key_name, "expected true or false, got '" + s + "'");
      } else if (name == "headers") {
        need_map(v, key_name);
        std::set<std::string> seen;
        for (const auto& [h, hv] : entries(v, key_name)) {
          const std::string hk = join(key_name, h);
          const std::string value = scalar(hv, hk);
          const std::map<std::string, std::vector<std::string>>& allowed = allowed_headers();
          auto it = allowed.end();
          for (auto a = allowed.begin(); a != allowed.end(); ++a)
            if (lower(a->first) == lower(h)) it = a;
          if (it == allowed.end())
            fail(hk, "this header cannot be configured (allowed: Strict-Transport-Security, "
                     "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
                     "Content-Security-Policy)");
          if (!seen.insert(it->first).second) fail(hk, "given twice");
          for (char ch : value)
            if ((unsigned char)ch < 0x20 || ch == 0x7f) fail(hk, "control character in value");
          if (!it->second.empty()) {
            bool ok = false;
            std::string list;
            for (const std::string& a : it->second) {
              ok = ok || a == value;
              list += (list.empty() ? "" : " or ") + a;
            }
            if (!ok) fail(hk, "expected " + list + ", got '" + value + "'");
          }
          c.headers.emplace_back(it->first, value);
        }
      } else {
        fail(key_name, "unknown key (expected headers or http2)");
      }
    }
  }

  void parse_users(const YAML::Node& n, WebConfig& c) {
    const std::string k = "basic_auth_users";
    need_map(n, k);
    for (const auto& [user, v] : entries(n, k)) {
      const std::string key_name = join(k, user);
      if (user.empty() || user.find(':') != std::string::npos)
        fail(key_name, "a user name must be non-empty and without ':'");
      const std::string hash = scalar(v, key_name);
      if (!auth::is_bcrypt_hash(hash))
        fail(key_name, "not a bcrypt hash (make one with: htpasswd -nBC 10 " + user + ")");
      c.users[user] = hash;
    }
  }

  const std::string& dir_;
  const FileReader& read_;
};

}  // namespace

Result<std::string> read_whole_file(const std::string& path) {
  // The web config and the PEM files it names: 1 MiB is far above any of them, and a path
  // such as /dev/zero must not read for ever.
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(std::strerror(errno), errno);
  std::string text(kYamlMaxBytes + 1, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  if (in.bad()) return make_error(std::strerror(errno), errno);
  text.resize(size_t(in.gcount()));
  if (text.size() > kYamlMaxBytes) return make_error("larger than 1 MiB");
  return text;
}

Result<std::string> tls_priorities(std::string_view min_version, std::string_view max_version) {
  const int lo = version_rank(min_version.empty() ? "TLS12" : min_version);
  const int hi = version_rank(max_version.empty() ? "TLS13" : max_version);
  if (lo < 0 || hi < 0) return make_error("expected TLS10, TLS11, TLS12 or TLS13");
  if (lo > hi) return make_error("max_version is below min_version");
  static const char* kNames[] = {"+VERS-TLS1.0", "+VERS-TLS1.1", "+VERS-TLS1.2", "+VERS-TLS1.3"};
  std::string p = "NORMAL:-VERS-ALL";
  for (int v = hi; v >= lo; --v) p += std::string(":") + kNames[v];
  return p;
}

Result<WebConfig> parse_web_config(std::string_view text, const std::string& name,
                                   const std::string& dir, const FileReader& read) {
  if (text.size() > kYamlMaxBytes)
    return make_error(escape_control(name) + ": larger than 1 MiB (expected a web config)");
  try {
    const std::string whole(text);
    const YamlShape shape(whole);
    if (shape.too_much)
      return make_error(escape_control(name + ":" + std::to_string(shape.where.line + 1) + ": " +
                                       shape.what));
    if (shape.documents > 1)
      return make_error(escape_control(name + ":" + std::to_string(shape.second.line + 1) +
                                       ": a second YAML document (expected one)"));
    const YAML::Node root = YAML::Load(whole);
    return Parser(dir, read).parse(root);
  } catch (const Fail& f) {
    // One line whatever the file holds: keys, values and yaml-cpp's messages quote its text.
    return make_error(escape_control(name + ": " + (f.key.empty() ? "" : f.key + ": ") +
                                     f.message));
  } catch (const YAML::Exception& e) {
    return make_error(
        escape_control(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg));
  }
}

Result<WebConfig> load_web_config(const std::string& path) {
  auto text = read_whole_file(path);
  if (!text) return make_error(escape_control(path + ": cannot read: " + text.error().message));
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash == 0 ? 1 : slash);
  return parse_web_config(*text, path, dir, read_whole_file);
}

http::Access access_of(const WebConfig& c) {
  http::Access a;
  if (!c.users.empty()) a.users = std::make_shared<const auth::BasicAuth>(c.users);
  a.headers = c.headers;
  return a;
}

}  // namespace procwatch::web
