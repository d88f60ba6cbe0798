// Error from errno for the netlink module's system-call shims.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

#include "core/result.h"

namespace procwatch::netlink {

inline Error sys_error(const char* what) {
  const int e = errno;
  return Error{std::string("netlink: ") + what + ": " + std::strerror(e), e};
}

}  // namespace procwatch::netlink
