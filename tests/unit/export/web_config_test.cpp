#include "export/web_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace procwatch::web {
namespace {

// A self-signed P-256 certificate for CN=localhost (valid until 2126), its key, and a key that
// does not match it.
constexpr const char* kCert = R"(-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIUOZOzeWA6PutpjOmRKPSg1kpJhqYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMTEyMTEyNVoYDzIxMjYxMTA3
MTIxMTI1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQa6LNRRQb2NPRGx6oj6+C64UGbmX6FRD9b/XgCcQ6ywXPa/sGRPbE9
2XXgDvPF4HPh7HO0l8EJN8S0rTZHPzcGo1MwUTAdBgNVHQ4EFgQU4nHft2muHfHC
4jQtI6U0njVmWoowHwYDVR0jBBgwFoAU4nHft2muHfHC4jQtI6U0njVmWoowDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAjD8AC2nGmYRS6cM/TpeE
qf0fpD+SSjh8PokG+/3brfUCIQCPEy76admHDBYM7h1MHvcDOCeTFqCQF1t0pjQv
qXsHfw==
-----END CERTIFICATE-----
)";
constexpr const char* kKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfWzgC/yiXBMckipZ
CiDBxN3VvdZkbuYhGgAEunm1juWhRANCAAQa6LNRRQb2NPRGx6oj6+C64UGbmX6F
RD9b/XgCcQ6ywXPa/sGRPbE92XXgDvPF4HPh7HO0l8EJN8S0rTZHPzcG
-----END PRIVATE KEY-----
)";
constexpr const char* kOtherKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdfEHnCGTPPYGBgPN
FQofIVpubK6Jmuo8MKif8WI8EwyhRANCAAQOKSi7Gjh6DlTpeXX7aNVybzG6X8Os
Aa+5HEkXAvukfRV7uyF5lm/CDrZYUUGfZrphIFiGxfpRgvcJYyeRFi0F
-----END PRIVATE KEY-----
)";
// htpasswd -nbBC 10 prometheus s3cret-pass
constexpr const char* kHash = "$2y$10$/ylqEOB8seHwk0cHHv04kO6DAlfPhp3EGguCtoF8krNT2GqVi8jnO";

// Files the parser may read, by resolved path.
const std::map<std::string, std::string>& files() {
  static const std::map<std::string, std::string> f = {
      {"/etc/pw/c.pem", kCert},    {"/etc/pw/k.pem", kKey},    {"/etc/pw/other.key", kOtherKey},
      {"/etc/pw/ca.pem", kCert},   {"/abs/c.pem", kCert},      {"/etc/pw/empty.pem", ""},
      {"/etc/pw/junk.pem", "not a certificate\n"},
  };
  return f;
}

Result<WebConfig> parse(const std::string& text) {
  return parse_web_config(text, "web.yml", "/etc/pw", [](const std::string& path) -> Result<std::string> {
    auto it = files().find(path);
    if (it == files().end()) return make_error("No such file or directory", 2);
    return it->second;
  });
}

TEST(WebConfig, EmptyFileIsPlainOpen) {
  for (const char* text : {"", "---\n", "# nothing\n", "tls_server_config:\nbasic_auth_users:\n"}) {
    auto c = parse(text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.error().message;
    EXPECT_FALSE(c->tls.has_value());
    EXPECT_TRUE(c->users.empty());
    EXPECT_TRUE(c->headers.empty());
  }
}

TEST(WebConfig, EveryKey) {
  auto c = parse(R"(
tls_server_config:
  cert_file: c.pem
  key_file: /etc/pw/k.pem
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
  min_version: TLS13
http_server_config:
  http2: yes
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
    x-content-type-options: nosniff
basic_auth_users:
  prometheus: )" + std::string(kHash) + "\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->tls.has_value());
  EXPECT_EQ(c->cert_file, "/etc/pw/c.pem");  // relative to the config file's folder
  EXPECT_EQ(c->key_file, "/etc/pw/k.pem");
  EXPECT_EQ(c->client_ca_file, "/etc/pw/ca.pem");
  EXPECT_EQ(c->tls->cert_pem, kCert);
  EXPECT_EQ(c->tls->key_pem, kKey);
  EXPECT_EQ(c->tls->ca_pem, kCert);
  EXPECT_EQ(c->tls->client_auth, http::ClientAuth::kRequireAndVerify);
  EXPECT_EQ(c->tls->priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
  ASSERT_EQ(c->headers.size(), 3u);
  EXPECT_EQ(c->headers[0], (std::pair<std::string, std::string>{"X-Frame-Options", "deny"}));
  EXPECT_EQ(c->headers[2].first, "X-Content-Type-Options");  // canonical spelling
  ASSERT_EQ(c->users.size(), 1u);
  EXPECT_EQ(c->users.at("prometheus"), kHash);
}

TEST(WebConfig, ClientAuthTypes) {
  struct Case {
    const char* type;
    bool with_ca;
    http::ClientAuth want;
  } cases[] = {
      {"NoClientCert", false, http::ClientAuth::kNone},
      {"RequestClientCert", false, http::ClientAuth::kRequest},
      {"RequestClientCert", true, http::ClientAuth::kRequest},
      {"RequireAnyClientCert", false, http::ClientAuth::kRequireAny},
      {"VerifyClientCertIfGiven", true, http::ClientAuth::kVerifyIfGiven},
      {"RequireAndVerifyClientCert", true, http::ClientAuth::kRequireAndVerify},
  };
  for (const auto& k : cases) {
    std::string text = "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n"
                       "  client_auth_type: " + std::string(k.type) + "\n";
    if (k.with_ca) text += "  client_ca_file: ca.pem\n";
    auto c = parse(text);
    ASSERT_TRUE(c.ok()) << k.type << ": " << c.error().message;
    EXPECT_EQ(c->tls->client_auth, k.want) << k.type;
    EXPECT_EQ(c->tls->priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");  // TLS12 default
  }
}

TEST(WebConfig, Priorities) {
  EXPECT_EQ(*tls_priorities("TLS12", ""), "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
  EXPECT_EQ(*tls_priorities("TLS13", "TLS13"), "NORMAL:-VERS-ALL:+VERS-TLS1.3");
  EXPECT_EQ(*tls_priorities("TLS10", "TLS12"),
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0");
  EXPECT_FALSE(tls_priorities("TLS13", "TLS12").ok());
  EXPECT_FALSE(tls_priorities("SSL3", "").ok());
}

// Every error names the file and the key.
TEST(WebConfig, Errors) {
  const std::string tls = "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n";
  struct Case {
    std::string text;
    const char* want;  // the whole message
  } cases[] = {
      {"- a\n", "web.yml: expected a map of tls_server_config, http_server_config and "
                "basic_auth_users, got a list"},
      {"tls_config: {}\n", "web.yml: tls_config: unknown key (expected tls_server_config, "
                           "http_server_config or basic_auth_users)"},
      {"tls_server_config: yes\n", "web.yml: tls_server_config: expected a map, got 'yes'"},
      {"tls_server_config:\n  cert_file: /x.pem\n  key_file: k.pem\n",
       "web.yml: tls_server_config.cert_file: cannot read /x.pem: No such file or directory"},
      {"tls_server_config:\n  cert_file: c.pem\n  key_file: nokey.pem\n",
       "web.yml: tls_server_config.key_file: cannot read /etc/pw/nokey.pem: No such file or "
       "directory"},
      {"tls_server_config:\n  key_file: k.pem\n",
       "web.yml: tls_server_config.cert_file: missing (needed with key_file)"},
      {"tls_server_config:\n  cert_file: c.pem\n",
       "web.yml: tls_server_config.key_file: missing (needed with cert_file)"},
      {"tls_server_config:\n  cert_file: [a]\n",
       "web.yml: tls_server_config.cert_file: expected a string, got a list"},
      {"tls_server_config:\n  cert_file: c.pem\n  key_file: other.key\n",
       "web.yml: tls_server_config.key_file: cannot use /etc/pw/other.key with /etc/pw/c.pem: "},
      {"tls_server_config:\n  cert_file: junk.pem\n  key_file: k.pem\n",
       "web.yml: tls_server_config.key_file: cannot use /etc/pw/k.pem with /etc/pw/junk.pem: "},
      {tls + "  client_auth_type: Sometimes\n",
       "web.yml: tls_server_config.client_auth_type: expected NoClientCert, RequestClientCert, "
       "RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert, got "
       "'Sometimes'"},
      {tls + "  client_ca_file: ca.pem\n",
       "web.yml: tls_server_config.client_ca_file: set without a client_auth_type that uses it"},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       "web.yml: tls_server_config.client_ca_file: missing (client_auth_type "
       "RequireAndVerifyClientCert needs it)"},
      {tls + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: nothere.pem\n",
       "web.yml: tls_server_config.client_ca_file: cannot read /etc/pw/nothere.pem: No such file "
       "or directory"},
      {tls + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: empty.pem\n",
       "web.yml: tls_server_config.client_ca_file: no certificate in /etc/pw/empty.pem"},
      {tls + "  min_version: TLS14\n",
       "web.yml: tls_server_config.min_version: expected TLS10, TLS11, TLS12 or TLS13, got "
       "'TLS14'"},
      {tls + "  max_version: SSL3\n",
       "web.yml: tls_server_config.max_version: expected TLS10, TLS11, TLS12 or TLS13, got "
       "'SSL3'"},
      {tls + "  min_version: TLS13\n  max_version: TLS12\n",
       "web.yml: tls_server_config.max_version: max_version is below min_version"},
      {tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
       "web.yml: tls_server_config.cipher_suites: not supported by procwatch"},
      {tls + "  certfile: c.pem\n",
       "web.yml: tls_server_config.certfile: unknown key (expected cert_file, key_file, "
       "client_auth_type, client_ca_file, min_version or max_version)"},
      {"http_server_config:\n  http2: maybe\n",
       "web.yml: http_server_config.http2: expected true or false, got 'maybe'"},
      {"http_server_config:\n  timeout: 1\n",
       "web.yml: http_server_config.timeout: unknown key (expected headers or http2)"},
      {"http_server_config:\n  headers: [a]\n",
       "web.yml: http_server_config.headers: expected a map, got a list"},
      {"http_server_config:\n  headers:\n    Authorization: x\n",
       "web.yml: http_server_config.headers.Authorization: this header cannot be configured "
       "(allowed: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
       "X-XSS-Protection, Content-Security-Policy)"},
      {"http_server_config:\n  headers:\n    Content-Type: text/html\n",
       "web.yml: http_server_config.headers.Content-Type: this header cannot be configured "
       "(allowed: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
       "X-XSS-Protection, Content-Security-Policy)"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       "web.yml: http_server_config.headers.X-Frame-Options: expected deny or sameorigin, got "
       "'allow'"},
      {"http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
       "web.yml: http_server_config.headers.X-Content-Type-Options: expected nosniff, got "
       "'sniff'"},
      {"http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a=b\"\n",
       "web.yml: http_server_config.headers.X-XSS-Protection: control character in value"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: deny\n    x-frame-options: deny\n",
       "web.yml: http_server_config.headers.x-frame-options: given twice"},
      {"basic_auth_users: [a]\n", "web.yml: basic_auth_users: expected a map, got a list"},
      {"basic_auth_users:\n  alice: wonderland\n",
       "web.yml: basic_auth_users.alice: not a bcrypt hash (make one with: htpasswd -nBC 10 "
       "alice)"},
      {"basic_auth_users:\n  alice:\n",
       "web.yml: basic_auth_users.alice: not a bcrypt hash (make one with: htpasswd -nBC 10 "
       "alice)"},
      {"basic_auth_users:\n  \"a:b\": " + std::string(kHash) + "\n",
       "web.yml: basic_auth_users.a:b: a user name must be non-empty and without ':'"},
      {"basic_auth_users:\n  alice: {a: b}\n",
       "web.yml: basic_auth_users.alice: expected a string, got a map"},
      {"tls_server_config: [\n", "web.yml:2: end of sequence flow not found"},
  };
  for (const auto& k : cases) {
    auto c = parse(k.text);
    ASSERT_FALSE(c.ok()) << k.text;
    EXPECT_EQ(c.error().message.rfind(k.want, 0), 0u) << k.text << "\n got: " << c.error().message;
    EXPECT_EQ(c.error().message.find('\n'), std::string::npos) << c.error().message;
  }
}

TEST(WebConfig, LoadNamesTheFile) {
  auto c = load_web_config("/nonexistent/web.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "/nonexistent/web.yml: cannot read: No such file or directory");
}

TEST(WebConfig, AccessOf) {
  auto c = parse("basic_auth_users:\n  prometheus: " + std::string(kHash) +
                 "\nhttp_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const http::Access a = access_of(*c);
  ASSERT_TRUE(a.users);
  EXPECT_TRUE(a.users->check("prometheus", "s3cret-pass"));
  EXPECT_FALSE(a.users->check("prometheus", "s3cret-pasS"));
  ASSERT_EQ(a.headers.size(), 1u);
  EXPECT_FALSE(access_of(WebConfig{}).users);
}

}  // namespace
}  // namespace procwatch::web

namespace procwatch::web {
namespace {

// Found by the web config fuzz target: yaml-cpp's message quoted a raw newline from the file.
TEST(WebConfigErrors, YamlErrorsStayOnOneLine) {
  const FileReader none = [](const std::string& p) -> Result<std::string> {
    return make_error(p + ": missing");
  };
  auto r = parse_web_config("basic_auth_users:\n  u: \"\\\n\"\n", "web\x1b.yml", "/", none);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.rfind("web\\x1b.yml:", 0), 0u) << r.error().message;
}

}  // namespace
}  // namespace procwatch::web

namespace procwatch::web {
namespace {

TEST(WebConfigErrors, BoundsOnTheFileAndWhatItNames) {
  const FileReader none = [](const std::string& p) -> Result<std::string> {
    return make_error(p + ": missing");
  };
  auto deep = parse_web_config("x: " + std::string(40, '[') + std::string(40, ']') + "\n",
                               "web.yml", "/", none);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("nested deeper than 32 levels"), std::string::npos);
  auto big = parse_web_config(std::string((1 << 20) + 1, '#'), "web.yml", "/", none);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("larger than 1 MiB"), std::string::npos);
  auto two = parse_web_config("basic_auth_users: {}\n---\nx: 1\n", "web.yml", "/", none);
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("web.yml:2: a second YAML document"), std::string::npos)
      << two.error().message;
  auto zero = read_whole_file("/dev/zero");  // a named file that never ends
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, "larger than 1 MiB");
}

}  // namespace
}  // namespace procwatch::web
