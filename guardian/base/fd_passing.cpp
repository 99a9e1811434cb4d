#include "base/fd_passing.hpp"

#include <cstring>

namespace guardian::base {

ssize_t send_fd(int sock, int fd, const sockaddr* to, socklen_t to_len, int flags) {
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr m {};
  m.msg_name = const_cast<sockaddr*>(to);
  m.msg_namelen = to ? to_len : 0;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return ::sendmsg(sock, &m, flags);
}

}  // namespace guardian::base
