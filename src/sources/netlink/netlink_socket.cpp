#include "sources/netlink/netlink_socket.h"

#include <linux/sock_diag.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "sources/netlink/sys_error.h"

namespace procwatch::netlink {

RecvBatch::RecvBatch(size_t count, size_t bytes_each)
    : bytes_each_(bytes_each < 64 ? 64 : bytes_each),
      storage_((count ? count : 1) * bytes_each_),
      iov_(count ? count : 1),
      hdrs_(count ? count : 1),
      addrs_(count ? count : 1) {
  prepare();
}

void RecvBatch::prepare() {
  filled_ = 0;
  for (size_t i = 0; i < hdrs_.size(); ++i) {
    iov_[i].iov_base = storage_.data() + i * bytes_each_;
    iov_[i].iov_len = bytes_each_;
    hdrs_[i] = mmsghdr{};
    hdrs_[i].msg_hdr.msg_iov = &iov_[i];
    hdrs_[i].msg_hdr.msg_iovlen = 1;
    hdrs_[i].msg_hdr.msg_name = &addrs_[i];
    hdrs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_nl);
    addrs_[i] = sockaddr_nl{};
  }
}

std::span<const std::byte> RecvBatch::datagram(size_t i) const {
  if (i >= filled_) return {};
  const size_t len = hdrs_[i].msg_len < bytes_each_ ? hdrs_[i].msg_len : bytes_each_;
  return {storage_.data() + i * bytes_each_, len};
}

bool RecvBatch::truncated(size_t i) const {
  return i < filled_ && (hdrs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

uint32_t RecvBatch::sender_port(size_t i) const { return i < filled_ ? addrs_[i].nl_pid : 0; }

Result<NetlinkSocket> NetlinkSocket::open(const SocketOptions& opts) {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) return sys_error("socket(NETLINK_CONNECTOR)");
  NetlinkSocket sock(fd);

  // SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; SO_RCVBUF is capped.
  const int want = opts.rcvbuf_bytes > size_t{INT_MAX / 2} ? INT_MAX / 2 : int(opts.rcvbuf_bytes);
  if (want > 0) {
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) == 0) {
      sock.rcvbuf_forced_ = true;
    } else if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want)) != 0) {
      return sys_error("setsockopt(SO_RCVBUF)");
    }
  }
  int got = 0;
  socklen_t got_len = sizeof(got);
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &got_len) != 0)
    return sys_error("getsockopt(SO_RCVBUF)");
  sock.rcvbuf_bytes_ = got > 0 ? size_t(got) : 0;

  if (opts.no_enobufs) {
    const int one = 1;
    if (::setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one)) != 0)
      return sys_error("setsockopt(NETLINK_NO_ENOBUFS)");
    sock.no_enobufs_ = true;
  }

  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_pid = 0;  // let the kernel pick the port id
  addr.nl_groups = CN_IDX_PROC;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
    return sys_error("bind(CN_IDX_PROC)");
  return sock;
}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept { *this = std::move(other); }

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    subscribed_ = std::exchange(other.subscribed_, false);
    rcvbuf_bytes_ = other.rcvbuf_bytes_;
    rcvbuf_forced_ = other.rcvbuf_forced_;
    no_enobufs_ = other.no_enobufs_;
    send_seq_ = other.send_seq_;
  }
  return *this;
}

NetlinkSocket::~NetlinkSocket() { close(); }

void NetlinkSocket::close() {
  if (fd_ < 0) return;
  // The kernel keeps a global listener count; leaving it raised keeps it generating events.
  if (subscribed_) (void)unsubscribe();
  ::close(fd_);
  fd_ = -1;
}

Result<bool> NetlinkSocket::send_op(uint32_t op, uint32_t nonce, uint32_t event_mask) {
  if (fd_ < 0) return Error{"netlink: socket is closed", EBADF};
  // struct proc_input {mcast_op; event_type} of Linux 6.6, absent from Debian 12's headers.
  const uint32_t payload[2] = {op, event_mask};
  const size_t payload_len = event_mask != 0 ? sizeof(payload) : sizeof(op);
  constexpr size_t kMaxLen = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(payload));
  const size_t len = NLMSG_LENGTH(sizeof(cn_msg) + payload_len);
  nlmsghdr nlh{};
  nlh.nlmsg_len = len;
  nlh.nlmsg_type = NLMSG_DONE;
  nlh.nlmsg_seq = send_seq_;
  cn_msg cn{};
  cn.id.idx = CN_IDX_PROC;
  cn.id.val = CN_VAL_PROC;
  cn.seq = send_seq_++;
  cn.ack = nonce;
  cn.len = uint16_t(payload_len);
  std::byte buf[kMaxLen] = {};
  std::memcpy(buf, &nlh, sizeof(nlh));
  std::memcpy(buf + NLMSG_HDRLEN, &cn, sizeof(cn));
  std::memcpy(buf + NLMSG_HDRLEN + sizeof(cn), payload, payload_len);

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd_, buf, len, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return sys_error(op == PROC_CN_MCAST_LISTEN ? "send(PROC_CN_MCAST_LISTEN)"
                                                : "send(PROC_CN_MCAST_IGNORE)");
  return true;
}

Result<bool> NetlinkSocket::subscribe(uint32_t nonce, uint32_t event_mask) {
  auto r = send_op(PROC_CN_MCAST_LISTEN, nonce, event_mask);
  if (r) subscribed_ = true;
  return r;
}

Result<bool> NetlinkSocket::unsubscribe() {
  if (!subscribed_) return true;
  subscribed_ = false;
  return send_op(PROC_CN_MCAST_IGNORE, 0);
}

Result<uint32_t> NetlinkSocket::drops() const {
  uint32_t mem[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof mem;
  if (::getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0) {
    return Error{"netlink: getsockopt(SO_MEMINFO)", errno};
  }
  if (len < socklen_t((SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))) {
    return Error{"netlink: SO_MEMINFO without a drop counter", ENOTSUP};
  }
  return mem[SK_MEMINFO_DROPS];
}

Result<size_t> NetlinkSocket::recv_batch(RecvBatch& batch, int timeout_ms) {
  batch.prepare();
  if (fd_ < 0) return Error{"netlink: socket is closed", EBADF};
  if (timeout_ms > 0) {
    auto ready = wait_readable({fd_}, int64_t{timeout_ms} * 1'000'000);
    if (!ready) return ready.error();
    if (*ready == 0) return size_t{0};
  }
  // POLLERR (a pending ENOBUFS) is reported by recvmmsg itself.
  const int n =
      ::recvmmsg(fd_, batch.hdrs_.data(), unsigned(batch.hdrs_.size()), MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return size_t{0};
    if (errno == ENOBUFS) {
      return Error{"netlink: receive buffer overrun, the kernel dropped messages (ENOBUFS)",
                   ENOBUFS};
    }
    return sys_error("recvmmsg");
  }
  batch.filled_ = size_t(n);
  return size_t(n);
}

}  // namespace procwatch::netlink
