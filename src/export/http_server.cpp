#include "export/http_server.h"

#include <civetweb.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace procwatch::http {

namespace {

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return std::strtoul(std::string(s).c_str(), nullptr, 10) <= 65535;
}

void send(mg_connection* conn, const Response& r, bool head) {
  mg_response_header_start(conn, r.status);
  mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
  const std::string len = std::to_string(r.body.size());
  mg_response_header_add(conn, "Content-Length", len.c_str(), -1);
  mg_response_header_send(conn);
  if (!head && !r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

// CivetWeb only says "Failed to setup server ports"; binding the same address ourselves tells
// why (EADDRINUSE, EACCES, EADDRNOTAVAIL). 0 when it binds, or the address does not resolve.
int bind_errno(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[') h = h.substr(1, h.size() - 2);
  if (getaddrinfo(h.empty() ? nullptr : h.c_str(), port.c_str(), &hints, &res) != 0) return 0;
  int err = 0;
  for (addrinfo* ai = res; ai && !err; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as CivetWeb does
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) err = errno;
    close(fd);
    if (h.empty()) break;  // ":port" listens on IPv4 only
  }
  freeaddrinfo(res);
  return err;
}

// CivetWeb would otherwise write its own messages; start() reports errors itself.
int quiet_log(const mg_connection*, const char*) { return 1; }

}  // namespace

Result<std::string> civetweb_listening_ports(std::string_view addr) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || !all_digits(addr.substr(colon + 1)))
    return make_error("bad listen address \"" + std::string(addr) +
                      "\" (expected [host]:port, e.g. :9501 or 127.0.0.1:9501)");
  const std::string_view host = addr.substr(0, colon);
  const std::string_view port = addr.substr(colon + 1);
  if (host.empty()) return std::string(port);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      return make_error("bad listen address \"" + std::string(addr) + "\"");
    return std::string(addr);
  }
  if (host.find_first_of(":,[] ") != std::string_view::npos)
    return make_error("bad listen address \"" + std::string(addr) +
                      "\" (write IPv6 addresses as [addr]:port)");
  return std::string(addr);
}

namespace {
Error listen_error(const std::string& listen_address, int err, const char* fallback) {
  return make_error("cannot listen on " + listen_address + ": " +
                        (err ? std::strerror(err) : fallback),
                    err);
}
}  // namespace

Result<bool> check_listen_address(const std::string& listen_address) {
  auto ports = civetweb_listening_ports(listen_address);
  if (!ports) return ports.error();
  const size_t colon = listen_address.rfind(':');
  const int err = bind_errno(listen_address.substr(0, colon), listen_address.substr(colon + 1));
  if (err) return listen_error(listen_address, err, "");
  return true;
}

Server::~Server() { stop(); }

void Server::handle(std::string path, Handler handler) {
  handlers_[std::move(path)] = std::move(handler);
}

Result<bool> Server::start(const std::string& listen_address, int threads) {
  auto ports = civetweb_listening_ports(listen_address);
  if (!ports) return ports.error();
  const std::string nthreads = std::to_string(threads < 1 ? 1 : threads);
  const char* options[] = {"listening_ports",
                           ports->c_str(),
                           "num_threads",
                           nthreads.c_str(),
                           "enable_keep_alive",
                           "yes",
                           "request_timeout_ms",
                           "10000",
                           nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = quiet_log;
  mg_init_data init{&callbacks, this, options};
  char text[256] = {0};
  unsigned code = 0;
  mg_error_data error{&code, text, sizeof text};
  ctx_ = mg_start2(&init, &error);
  if (!ctx_) {
    const size_t colon = listen_address.rfind(':');
    const int err = bind_errno(listen_address.substr(0, colon), listen_address.substr(colon + 1));
    return listen_error(listen_address, err, text[0] ? text : "CivetWeb did not start");
  }
  // One catch-all handler: exact-path lookup here keeps CivetWeb's prefix matching out of it.
  mg_set_request_handler(ctx_, "/", &Server::dispatch, this);
  mg_server_port sp[4]{};
  if (mg_get_server_ports(ctx_, 4, sp) > 0) port_ = sp[0].port;
  return true;
}

void Server::stop() {
  if (ctx_) mg_stop(ctx_);
  ctx_ = nullptr;
}

int Server::dispatch(mg_connection* conn, void* cbdata) {
  const auto* self = static_cast<const Server*>(cbdata);
  const mg_request_info* ri = mg_get_request_info(conn);
  Request req;
  req.method = ri->request_method ? ri->request_method : "";
  req.path = ri->local_uri ? ri->local_uri : "";
  req.query = ri->query_string ? ri->query_string : "";
  const bool head = req.method == "HEAD";
  auto it = self->handlers_.find(req.path);
  if (it == self->handlers_.end()) {
    send(conn, Response{404, "text/plain; charset=utf-8", "not found\n"}, head);
  } else if (req.method != "GET" && !head) {
    send(conn, Response{405, "text/plain; charset=utf-8", "method not allowed\n"}, false);
  } else {
    Response r;
    try {
      r = it->second(req);
    } catch (const std::exception& e) {  // never let an exception cross into CivetWeb's C code
      r = Response{500, "text/plain; charset=utf-8",
                   std::string("internal error: ") + e.what() + "\n"};
    }
    send(conn, r, head);
  }
  return 1;  // handled; CivetWeb closes or keeps the connection per keep-alive
}

}  // namespace procwatch::http
