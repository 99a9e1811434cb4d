// Passing a descriptor over a unix socket (SCM_RIGHTS).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

namespace guardian::base {

// One sendmsg of `fd` as SCM_RIGHTS on `sock`, with no data, to `to` (nullptr: the
// connected peer); `flags` as sendmsg's. Returns what sendmsg returns (errno set).
ssize_t send_fd(int sock, int fd, const sockaddr* to, socklen_t to_len, int flags);

}  // namespace guardian::base
