#include "http_client/http_client.h"

// Plain declarations: the calls below go through pointers from dlsym.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <memory>
#include <mutex>

namespace procwatch::http_client {

namespace {

// libcurl is loaded on the first request, not linked: `serve` must not map OpenSSL (its TLS is
// GnuTLS; tests/integration/test_web.py checks /proc/PID/maps), nor carry curl's LDAP, Kerberos
// and SSH libraries. The GnuTLS build of libcurl is preferred, then the OpenSSL one.
struct Curl {
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
  std::string error;  // why it could not be loaded; empty when loaded
};

template <typename F>
bool bind(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

Curl load_curl() {
  Curl c;
  void* lib = nullptr;
  for (const char* soname : {"libcurl-gnutls.so.4", "libcurl.so.4"}) {
    lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (lib) break;
  }
  if (!lib) {
    c.error = "cannot load libcurl (libcurl-gnutls.so.4 or libcurl.so.4; Debian: libcurl3-gnutls)";
    return c;
  }
  const bool ok = bind(lib, "curl_global_init", c.global_init) &&
                  bind(lib, "curl_easy_init", c.easy_init) &&
                  bind(lib, "curl_easy_setopt", c.easy_setopt) &&
                  bind(lib, "curl_easy_perform", c.easy_perform) &&
                  bind(lib, "curl_easy_getinfo", c.easy_getinfo) &&
                  bind(lib, "curl_easy_cleanup", c.easy_cleanup) &&
                  bind(lib, "curl_easy_strerror", c.easy_strerror) &&
                  bind(lib, "curl_slist_append", c.slist_append) &&
                  bind(lib, "curl_slist_free_all", c.slist_free_all);
  if (!ok) {
    c.error = "libcurl lacks a function procwatch needs";
    return c;
  }
  if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) c.error = "curl_global_init failed";
  return c;  // the library stays loaded for the life of the process
}

const Curl& curl() {
  static const Curl c = load_curl();  // thread-safe once
  return c;
}

struct Sink {
  Response* out;
  size_t max_bytes;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t len = size * n;
  if (sink->out->body.size() + len > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  sink->out->body.append(data, len);
  return len;
}

// Keeps the last status line: after a 100 Continue or a proxy's reply comes the real one.
size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t len = size * n;
  std::string line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    sink->out->status_line = std::move(line);
  }
  return len;
}

}  // namespace

bool is_http_url(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

std::string redact_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const size_t host_start = scheme_end + 3;
  const size_t path = url.find_first_of("/?#", host_start);
  const size_t at = url.rfind('@', path == std::string::npos ? url.size() : path);
  if (at == std::string::npos || at < host_start) return url;
  const size_t colon = url.find(':', host_start);
  if (colon == std::string::npos || colon > at) return url;  // user name only
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Result<Response> get(const std::string& url, const GetOptions& options) {
  return request("GET", url, {}, {}, options);
}

Result<Response> request(std::string_view method, const std::string& url, const std::string& body,
                         const std::string& content_type, const GetOptions& options) {
  if (method != "GET" && method != "POST") return make_error("unsupported HTTP method");
  const Curl& lib = curl();
  if (!lib.error.empty()) return make_error(lib.error);
  std::unique_ptr<CURL, void (*)(CURL*)> handle(lib.easy_init(), lib.easy_cleanup);
  if (!handle) return make_error("cannot start an HTTP request (curl_easy_init failed)");
  CURL* h = handle.get();
  Response resp;
  Sink sink{&resp, options.max_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  if (!options.accept.empty())
    headers = lib.slist_append(headers, ("Accept: " + options.accept).c_str());
  if (method == "POST" && !content_type.empty())
    headers = lib.slist_append(headers, ("Content-Type: " + content_type).c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers_owner(headers, lib.slist_free_all);

  lib.easy_setopt(h, CURLOPT_URL, url.c_str());
  lib.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  lib.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  lib.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM games: callers may own SIGALRM
  lib.easy_setopt(h, CURLOPT_TIMEOUT_MS, options.timeout_ms);
  lib.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  lib.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  lib.easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  lib.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  lib.easy_setopt(h, CURLOPT_HEADERDATA, &sink);
  lib.easy_setopt(h, CURLOPT_USERAGENT, "procwatch");
  // Fewer, larger reads: a /metrics body is megabytes (the default buffer is 16 KiB).
  lib.easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (headers) lib.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (method == "POST") {
    lib.easy_setopt(h, CURLOPT_POST, 1L);
    lib.easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    lib.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
  }
  if (!options.user.empty() || !options.password.empty()) {
    lib.easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    lib.easy_setopt(h, CURLOPT_USERNAME, options.user.c_str());
    lib.easy_setopt(h, CURLOPT_PASSWORD, options.password.c_str());
  }
  if (!options.ca_file.empty()) lib.easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  if (options.insecure) {
    lib.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    lib.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  const CURLcode rc = lib.easy_perform(h);
  if (sink.too_large)
    return make_error("response larger than " + std::to_string(options.max_bytes) + " bytes");
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : lib.easy_strerror(rc);
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    return make_error(why);
  }
  lib.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  char* ct = nullptr;
  if (lib.easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) resp.content_type = ct;
  return resp;
}

}  // namespace procwatch::http_client
