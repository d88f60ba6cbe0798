// NetlinkSocket: the system calls of the proc connector and nothing else (no decoding).
// Owns one fd; movable, not copyable; not thread-safe (one reader thread uses it).
// Every failure is an Error{message, errno}; ENOBUFS from a receive keeps errnum == ENOBUFS.
#pragma once

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/result.h"
#include "sources/netlink/wait_fds.h"

namespace procwatch::netlink {

struct SocketOptions {
  size_t rcvbuf_bytes = size_t{64} << 20;  // asked for; the kernel may give something else
  // Drop single messages silently when the buffer is full instead of ENOBUFS + congestion;
  // see netlink_source.cpp for why this is the default.
  bool no_enobufs = true;
};

// Preallocated buffers for one recvmmsg call.
class RecvBatch {
 public:
  explicit RecvBatch(size_t count = 64, size_t bytes_each = 2048);
  RecvBatch(const RecvBatch&) = delete;
  RecvBatch& operator=(const RecvBatch&) = delete;

  size_t capacity() const { return hdrs_.size(); }
  size_t size() const { return filled_; }  // datagrams received by the last recv_batch
  std::span<const std::byte> datagram(size_t i) const;
  bool truncated(size_t i) const;        // MSG_TRUNC: the datagram was larger than its buffer
  uint32_t sender_port(size_t i) const;  // nl_pid of the sender; the kernel is 0

 private:
  friend class NetlinkSocket;
  void prepare();  // resets lengths before each call

  size_t bytes_each_;
  size_t filled_ = 0;
  std::vector<std::byte> storage_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> hdrs_;
  std::vector<sockaddr_nl> addrs_;  // sender of each message
};


class NetlinkSocket {
 public:
  // socket(NETLINK_CONNECTOR) + receive buffer + NETLINK_NO_ENOBUFS + bind to CN_IDX_PROC.
  static Result<NetlinkSocket> open(const SocketOptions& opts = {});

  NetlinkSocket(NetlinkSocket&& other) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&& other) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  ~NetlinkSocket();  // close()

  // Sends PROC_CN_MCAST_LISTEN. event_mask 0: the 4-byte form, all events, which keeps
  // per-CPU sequence numbers gap-free. Otherwise the 8-byte proc_input form (Linux 6.6+), which
  // makes the kernel send this socket only events whose `what` is in the mask; older kernels
  // ignore it and the socket gets whatever the group gets. `nonce` goes into cn_msg.ack; the
  // kernel's ack carries nonce + 1.
  Result<bool> subscribe(uint32_t nonce = 0, uint32_t event_mask = 0);
  // Sends PROC_CN_MCAST_IGNORE (close() does this when subscribed).
  Result<bool> unsubscribe();
  // Unsubscribes if needed and closes. Idempotent.
  void close();

  // Waits up to timeout_ms (wait_readable; 0 or less = not at all) for data, then receives up to
  // batch.capacity() datagrams without blocking. Returns the number received (0 on timeout,
  // EINTR or an empty socket).
  Result<size_t> recv_batch(RecvBatch& batch, int timeout_ms);

  // The kernel's count of messages dropped for this socket since it was opened (buffer full),
  // from getsockopt(SO_MEMINFO) (Linux 4.12+); a u32 that wraps.
  Result<uint32_t> drops() const;

  int fd() const { return fd_; }
  bool subscribed() const { return subscribed_; }
  size_t rcvbuf_bytes() const { return rcvbuf_bytes_; }  // from getsockopt(SO_RCVBUF)
  bool rcvbuf_forced() const { return rcvbuf_forced_; }  // SO_RCVBUFFORCE worked
  bool no_enobufs() const { return no_enobufs_; }        // NETLINK_NO_ENOBUFS is set

 private:
  explicit NetlinkSocket(int fd) : fd_(fd) {}
  Result<bool> send_op(uint32_t op, uint32_t nonce, uint32_t event_mask = 0);

  int fd_ = -1;
  bool subscribed_ = false;
  size_t rcvbuf_bytes_ = 0;
  bool rcvbuf_forced_ = false;
  bool no_enobufs_ = false;
  uint32_t send_seq_ = 0;
};

}  // namespace procwatch::netlink
