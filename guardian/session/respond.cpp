// One path for carrying out a decode::Response (see respond.hpp).
#include "session/respond.hpp"

#include <fcntl.h>

#include <signal.h>

#include <cerrno>

namespace guardian::session {

bool apply_response(Responder& to, const decode::Notification& n, const decode::Response& r,
                    pid_t tgid) {
  using K = decode::Response::Kind;
  switch (r.kind) {
    case K::cont:
      return r.redirect.nr >= 0 ? to.redirect(n, r.redirect) : to.cont(n);
    case K::error:
      // A decoder that forgot the errno still denies.
      return to.fail(n, r.err > 0 ? r.err : EACCES);
    case K::value:
      return to.value(n, r.value);
    case K::inject_fd:
      if (!r.fd) return to.fail(n, EBADF);
      // Without ADDFD (ptrace) the handler normally answers cont itself; should an
      // inject_fd reach such a backend, the decision stands and the kernel opens.
      if (!to.can_inject()) return r.install ? to.inject_fd(n, r.fd.get(), r.cloexec) : to.cont(n);
      // The kernel cannot inject O_PATH files (ADDFD uses fget, which skips them). An
      // O_PATH descriptor gives no access to data, and a reopen through /proc/self/fd is
      // itself an open we decide: let the kernel perform this one.
      if (!r.fd_not_opath && (fcntl(r.fd.get(), F_GETFL) & O_PATH)) return to.cont(n);
      return to.inject_fd(n, r.fd.get(), r.cloexec);
    case K::kill:
      return to.kill(n, tgid > 0 ? tgid : n.tid);
    case K::defer:
      return true;
  }
  return to.fail(n, EACCES);  // unreachable: every kind is handled above
}

bool NotifResponder::kill(const decode::Notification& n, pid_t tgid) {
  // The decoder may have skipped NOTIF_ID_VALID (Handler::Impl::valid): prove that the
  // thread is still in this call before killing anyone on what was read from it.
  if (!l_.id_valid(n.id)) return false;
  ::kill(tgid, SIGKILL);
  return l_.send_error(n.id, EPERM);
}

}  // namespace guardian::session
