// Internals shared by the fast path's files (fastpath.cpp, fastpath_realpath.cpp): the
// buffers of one call and its claim on the ring. Not an interface.
#pragma once

#include <errno.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fastpath.hpp"
#include "fastpath_protocol.h"

namespace guardian::preload {

constexpr std::size_t kMax = 4096;  // PATH_MAX: longer paths are the supervisor's

// Errors after which the ordinary call must be made: the kernel refused the token call for
// a reason of its own (a symlink on the way: ELOOP; flags openat2 is stricter about than
// open: EINVAL; no openat2: ENOSYS...), not for a reason the program should see.
inline bool fall_back_on(int e) {
  switch (e) {
    case ELOOP: case EINVAL: case ENOSYS: case E2BIG: case EXDEV: case EAGAIN:
    case ENAMETOOLONG: case EFAULT: case EPERM:
      return true;
    default:
      return false;
  }
}

struct FastPath::Path {
  char abs[kMax];   // what the kernel is given: absolute, not normalised
  std::size_t abs_len = 0;
  char nbuf[kMax];  // normalised, when abs was not
  std::string_view norm;
  std::size_t cwd_len = 0;  // abs starts with the cwd (relative raw), this long
  const char* raw = nullptr;
  std::size_t raw_len = 0;
  std::int32_t pid = 0;  // 0: a record asks getpid() (decide() is not told it)
};

struct FastPath::Claim {
  gfast_slot* slot = nullptr;
  std::uint64_t pos = 0;
  std::uint32_t tid = 0;
  // When decide() returned false on a denial the shim may take itself (GFAST_P_DENY): its
  // errno and rule, for refuse_missing().
  bool denied = false;
  std::uint16_t err = 0;
  std::uint32_t rule = 0;
};

}  // namespace guardian::preload
