#include "export/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace procwatch::http {

namespace {

constexpr const char* kRealmHeader = "Basic realm=\"procwatch\"";

bool parse_port(std::string_view s, int* port) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  const unsigned long v = std::strtoul(std::string(s).c_str(), nullptr, 10);
  if (v > 65535) return false;
  *port = int(v);
  return true;
}

Error bad_address(std::string_view addr, const char* why) {
  return make_error("bad listen address \"" + std::string(addr) + "\" (" + why + ")");
}

Error listen_error(const std::string& listen_address, int err, const std::string& fallback) {
  return make_error(
      "cannot listen on " + listen_address + ": " + (err ? std::strerror(err) : fallback), err);
}

bool have_ipv6() {
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  close(fd);
  return true;
}

// Resolves the parsed address to one socket address. 0 or an errno-like code (EADDRNOTAVAIL
// for a host name that does not resolve).
int resolve(const ListenAddress& la, sockaddr_storage* ss, socklen_t* len) {
  std::memset(ss, 0, sizeof *ss);
  if (la.host.empty() || la.host == "::" || la.host == "0.0.0.0") {
    if (la.host != "0.0.0.0" && have_ipv6()) {
      auto* a6 = reinterpret_cast<sockaddr_in6*>(ss);
      a6->sin6_family = AF_INET6;
      a6->sin6_addr = in6addr_any;
      a6->sin6_port = htons(uint16_t(la.port));
      *len = sizeof *a6;
      return 0;
    }
    if (la.host == "::") return EAFNOSUPPORT;
    auto* a4 = reinterpret_cast<sockaddr_in*>(ss);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    a4->sin_port = htons(uint16_t(la.port));
    *len = sizeof *a4;
    return 0;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(la.port);
  if (getaddrinfo(la.host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr)
    return EADDRNOTAVAIL;
  std::memcpy(ss, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

// A bound, listening, non-blocking socket in *fd, or the errno of what failed.
int open_listener(const ListenAddress& la, int* fd) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (int err = resolve(la, &ss, &len)) return err;
  const int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return errno;
  const int one = 1, zero = 0;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // [::] takes IPv4 too (as Go's net.Listen does); [::1] is IPv6 only anyway.
  if (ss.ss_family == AF_INET6) setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (bind(s, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(s, 256) != 0) {
    const int err = errno;
    close(s);
    return err;
  }
  *fd = s;
  return 0;
}

int bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// What MHD said last while starting (e.g. a certificate it refused); quiet otherwise.
thread_local std::string* start_log = nullptr;
void mhd_log(void*, const char* fmt, va_list ap) {
  if (start_log == nullptr) return;
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == '.')) line.pop_back();
  *start_log = line;
}

// The raw request target, kept per request for its query string; a POST's body as it arrives.
struct RequestState {
  std::string uri;
  bool post_started = false;  // the headers were checked; the body is being read
  bool too_large = false;
  std::string body;
};

bool is_loopback(MHD_Connection* c) {
  const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci == nullptr || ci->client_addr == nullptr) return false;
  const sockaddr* sa = ci->client_addr;
  if (sa->sa_family == AF_INET) {
    sockaddr_in a4;
    std::memcpy(&a4, sa, sizeof a4);
    return (ntohl(a4.sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 a6;
    std::memcpy(&a6, sa, sizeof a6);
    if (IN6_IS_ADDR_LOOPBACK(&a6.sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr) && a6.sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

void free_body(void* cls) { delete static_cast<std::string*>(cls); }

}  // namespace

struct ServerCallbacks {
  static void* on_uri(void*, const char* uri, MHD_Connection*) {
    return new RequestState{uri ? uri : ""};
  }

  static void on_completed(void*, MHD_Connection*, void** con_cls,
                           MHD_RequestTerminationCode) {
    delete static_cast<RequestState*>(*con_cls);
    *con_cls = nullptr;
  }

  // Before the TLS handshake: ask for (or insist on) a client certificate.
  static void on_connection(void* cls, MHD_Connection* c, void**,
                            MHD_ConnectionNotificationCode toe) {
    const auto* self = static_cast<const Server*>(cls);
    if (toe != MHD_CONNECTION_NOTIFY_STARTED || !self->options_.tls) return;
    const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == nullptr || ci->tls_session == nullptr) return;
    auto s = static_cast<gnutls_session_t>(ci->tls_session);
    switch (self->options_.tls->client_auth) {
      case ClientAuth::kNone:
        break;
      case ClientAuth::kRequest:
      case ClientAuth::kVerifyIfGiven:
        gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
        break;
      case ClientAuth::kRequireAny:
      case ClientAuth::kRequireAndVerify:
        gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
        break;
    }
  }

  static bool client_cert_ok(const Server& self, MHD_Connection* c) {
    if (!self.options_.tls) return true;
    const ClientAuth policy = self.options_.tls->client_auth;
    if (policy == ClientAuth::kNone || policy == ClientAuth::kRequest) return true;
    const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == nullptr || ci->tls_session == nullptr) return false;
    auto s = static_cast<gnutls_session_t>(ci->tls_session);
    unsigned n = 0;
    const bool given = gnutls_certificate_get_peers(s, &n) != nullptr && n > 0;
    if (policy == ClientAuth::kRequireAny) return given;
    if (!given) return policy == ClientAuth::kVerifyIfGiven;
    unsigned status = 0;
    return gnutls_certificate_verify_peers2(s, &status) == GNUTLS_E_SUCCESS && status == 0;
  }

  static MHD_Result respond(MHD_Connection* c, Response r, const Access& a, bool challenge) {
    auto* body = new std::string(std::move(r.body));
    MHD_Response* resp = MHD_create_response_from_buffer_with_free_callback_cls(
        body->size(), body->data(), &free_body, body);
    if (resp == nullptr) {
      delete body;
      return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
    if (challenge) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, kRealmHeader);
    for (const auto& [k, v] : a.headers) MHD_add_response_header(resp, k.c_str(), v.c_str());
    const MHD_Result ret = MHD_queue_response(c, unsigned(r.status), resp);
    MHD_destroy_response(resp);
    return ret;
  }

  static MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method,
                               const char*, const char* upload_data, size_t* upload_size,
                               void** con_cls) {
    const auto* self = static_cast<const Server*>(cls);
    auto* st = static_cast<RequestState*>(*con_cls);
    const std::string path = url ? url : "";
    auto post = self->posts_.find(path);
    const bool is_post = method != nullptr && std::strcmp(method, "POST") == 0 &&
                         post != self->posts_.end() && st != nullptr;
    if (*upload_size != 0) {
      // A POST body on its way in (bounded); any other body nobody asked for is dropped.
      if (is_post && st->post_started && !st->too_large) {
        if (st->body.size() + *upload_size > post->second.max_body) {
          st->too_large = true;
          st->body.clear();
        } else {
          st->body.append(upload_data, *upload_size);
        }
      }
      *upload_size = 0;
      return MHD_YES;
    }
    const std::shared_ptr<const Access> access = self->access();
    Request req;
    req.method = method ? method : "";
    req.path = path;
    req.loopback = is_loopback(c);
    if (st != nullptr) {
      const size_t q = st->uri.find('?');
      if (q != std::string::npos) req.query = st->uri.substr(q + 1);
    }
    if (is_post && st->post_started) {  // the whole body is in: answer
      if (st->too_large)
        return respond(c,
                       {413, "text/plain; charset=utf-8",
                        "request body larger than " + std::to_string(post->second.max_body) +
                            " bytes\n"},
                       *access, false);
      req.body = std::move(st->body);
      req.authenticated = access->users && !access->users->empty();
      return respond(c, call(post->second.handler, req), *access, false);
    }
    const bool head = req.method == "HEAD";
    if (!client_cert_ok(*self, c))
      return respond(c, {403, "text/plain; charset=utf-8", "client certificate required\n"},
                     *access, false);
    if (access->users && !access->users->empty()) {
      char* pass = nullptr;
      char* user = MHD_basic_auth_get_username_password(c, &pass);
      const bool ok = user != nullptr && pass != nullptr && access->users->check(user, pass);
      if (pass) {
        explicit_bzero(pass, std::strlen(pass));
        MHD_free(pass);
      }
      if (user) MHD_free(user);
      if (!ok)
        return respond(c, {401, "text/plain; charset=utf-8", "unauthorized\n"}, *access, true);
      req.authenticated = true;
    }
    if (is_post) {  // checked before the body is read; the next calls bring it
      st->post_started = true;
      return MHD_YES;
    }
    auto it = self->handlers_.find(req.path);
    if (it == self->handlers_.end()) {
      if (post != self->posts_.end())
        return respond(c, {405, "text/plain; charset=utf-8", "method not allowed (POST)\n"},
                       *access, false);
      return respond(c, {404, "text/plain; charset=utf-8", "not found\n"}, *access, false);
    }
    if (req.method != "GET" && !head)
      return respond(c, {405, "text/plain; charset=utf-8", "method not allowed\n"}, *access,
                     false);
    return respond(c, call(it->second, req), *access, false);
  }

  static Response call(const Handler& h, const Request& req) {
    try {
      return h(req);
    } catch (const std::exception& e) {  // never let an exception cross into MHD's C code
      return Response{500, "text/plain; charset=utf-8",
                      std::string("internal error: ") + e.what() + "\n"};
    }
  }
};

Result<ListenAddress> parse_listen_address(std::string_view addr) {
  const char* form = "expected [host]:port, e.g. :9501, 127.0.0.1:9501 or [::1]:9501";
  const size_t colon = addr.rfind(':');
  ListenAddress la;
  if (colon == std::string_view::npos || !parse_port(addr.substr(colon + 1), &la.port))
    return bad_address(addr, form);
  std::string_view host = addr.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad_address(addr, form);
    host = host.substr(1, host.size() - 2);
    in6_addr a6;
    if (!inet_pton(AF_INET6, std::string(host).c_str(), &a6))
      return bad_address(addr, "not an IPv6 address in brackets");
  } else if (host.find_first_of(":,[] ") != std::string_view::npos) {
    return bad_address(addr, "write IPv6 addresses as [addr]:port");
  }
  la.host = std::string(host);
  return la;
}

Result<bool> check_listen_address(const std::string& listen_address) {
  auto la = parse_listen_address(listen_address);
  if (!la) return la.error();
  int fd = -1;
  if (int err = open_listener(*la, &fd)) return listen_error(listen_address, err, "");
  close(fd);
  return true;
}

Server::~Server() { stop(); }

void Server::handle(std::string path, Handler handler) {
  handlers_[std::move(path)] = std::move(handler);
}

void Server::handle_post(std::string path, Handler handler, size_t max_body) {
  posts_[std::move(path)] = PostRoute{std::move(handler), max_body};
}

void Server::set_access(Access access) {
  auto next = std::make_shared<const Access>(std::move(access));
  std::lock_guard lock(access_mu_);
  access_ = std::move(next);
}

std::shared_ptr<const Access> Server::access() const {
  std::lock_guard lock(access_mu_);
  return access_;
}

Result<bool> Server::start(const std::string& listen_address, const ServerOptions& options) {
  stop();
  auto la = parse_listen_address(listen_address);
  if (!la) return la.error();
  int fd = -1;
  if (int err = open_listener(*la, &fd)) return listen_error(listen_address, err, "");
  options_ = options;
  if (options_.threads < 1) options_.threads = 1;

  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
  // The logger first: options are applied in order, and later ones may log.
  std::vector<MHD_OptionItem> opts = {
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&mhd_log), nullptr},
      {MHD_OPTION_LISTEN_SOCKET, fd, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, intptr_t(options_.connection_limit), nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, intptr_t(options_.per_ip_limit), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, intptr_t(options_.timeout_s), nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, intptr_t(options_.request_memory), nullptr},
      {MHD_OPTION_URI_LOG_CALLBACK, reinterpret_cast<intptr_t>(&ServerCallbacks::on_uri), this},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&ServerCallbacks::on_completed),
       this},
  };
  if (options_.threads > 1) opts.push_back({MHD_OPTION_THREAD_POOL_SIZE, options_.threads, nullptr});
  if (options_.tls) {
    const TlsOptions& t = *options_.tls;
    flags |= MHD_USE_TLS;
    opts.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(t.key_pem.c_str())});
    opts.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(t.cert_pem.c_str())});
    if (!t.ca_pem.empty())
      opts.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(t.ca_pem.c_str())});
    opts.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(t.priorities.c_str())});
    if (t.client_auth != ClientAuth::kNone)
      opts.push_back({MHD_OPTION_NOTIFY_CONNECTION,
                      reinterpret_cast<intptr_t>(&ServerCallbacks::on_connection), this});
  }
  opts.push_back({MHD_OPTION_END, 0, nullptr});

  std::string said;
  start_log = &said;
  daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &ServerCallbacks::on_request, this,
                             MHD_OPTION_ARRAY, opts.data(), MHD_OPTION_END);
  start_log = nullptr;
  if (daemon_ == nullptr) {
    if (fcntl(fd, F_GETFD) != -1) close(fd);
    return listen_error(listen_address, 0, said.empty() ? "HTTP server did not start" : said);
  }
  port_ = bound_port(fd);
  return true;
}

void Server::stop() {
  if (daemon_) MHD_stop_daemon(daemon_);  // closes the listening socket too
  daemon_ = nullptr;
  port_ = 0;
}

}  // namespace procwatch::http
