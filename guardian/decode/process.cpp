// Process decoder: signals, ptrace, cross-process memory and descriptors, pidfds and
// prlimit are allowed on processes of the session and refused (EPERM) on anyone else.
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "decode/impl.hpp"

namespace guardian::decode {

using policy::Category;
using policy::Op;

Response Handler::Impl::process(Ctx& c) {
  Response out;
  policy::Request req;
  req.category = Category::process;
  req.op = Op::signal;
  pid_t target = 0;
  bool check = true;
  switch (c.n.nr) {
    case SYS_kill: {
      auto pid = static_cast<pid_t>(c.arg(0));
      if (c.iarg(1) == 0) return cont();  // signal 0 only probes existence
      if (pid == -1) {                     // every process we may signal: never
        addr_text = "pid:-1";
        return local(c, req, false, EPERM, "pid:-1", out) ? cont() : std::move(out);
      }
      // A process group is the session's when its leader is (a group cannot span sessions
      // unless an outsider joins it, which needs setpgid from inside that session).
      target = pid > 0 ? pid : pid == 0 ? ::getpgid(c.tgid) : -pid;
      break;
    }
    case SYS_tkill: target = static_cast<pid_t>(c.arg(0)); check = c.iarg(1) != 0; break;
    case SYS_tgkill: target = static_cast<pid_t>(c.arg(1)); check = c.iarg(2) != 0; break;
    case SYS_rt_sigqueueinfo: target = static_cast<pid_t>(c.arg(0)); break;
    case SYS_rt_tgsigqueueinfo: target = static_cast<pid_t>(c.arg(1)); break;
    case SYS_pidfd_send_signal:
    case SYS_pidfd_getfd:
    case 440: {  // process_madvise
      if (c.n.nr != SYS_pidfd_send_signal) req.op = Op::trace;
      auto fd = c.t.take_fd(c.iarg(0));
      if (!fd) return cont();  // not a descriptor: the kernel says EBADF
      target = pidfd_pid(fd.value().get());
      if (target <= 0) return cont();  // not a pidfd (or the process is gone): kernel answers
      break;
    }
    case SYS_ptrace:
      if (c.arg(0) == PTRACE_TRACEME) {  // the parent is in the session
        Response r = cont();
        r.release_trace = c.n.tid;
        return r;
      }
      req.op = Op::trace;
      target = static_cast<pid_t>(c.arg(1));
      break;
    case SYS_process_vm_readv:
    case SYS_process_vm_writev:
      req.op = Op::trace;
      target = static_cast<pid_t>(c.arg(0));
      break;
    case SYS_pidfd_open:
      req.op = Op::trace;
      target = static_cast<pid_t>(c.arg(0));
      break;
    case SYS_prlimit64:
      // Reading limits, or setting one's own, is harmless; setting an outsider's is not.
      if (c.arg(0) == 0 || c.arg(2) == 0) return cont();
      req.op = Op::other;
      target = static_cast<pid_t>(c.arg(0));
      break;
    default: return error(ENOSYS);
  }
  if (!check) return cont();
  addr_text = "pid:" + std::to_string(target);
  bool inside = target > 0 && (target == c.tgid || target == c.n.tid || session.in_session(target));
  // kill(-PGID): the group, which may outlive its leader.
  pid_t probe = c.n.nr == SYS_kill && c.iarg(0) < -1 ? -target : target;
  if (!inside && target > 0 && ::kill(probe, 0) != 0 && errno == ESRCH) {
    // Gone (a pool worker its own parent already reaped): the kernel says ESRCH before it
    // asks about permission. No signal is sent either way, and signal 0 tells a tracee as
    // much, so nothing is decided or logged for it.
    return error(ESRCH);
  }
  if (!local(c, req, inside, EPERM, addr_text, out)) return out;
  Response r = cont();
  // Becoming a tracer of a session process: the backend hands it over (see Response).
  if (c.n.nr == SYS_ptrace && (c.arg(0) == PTRACE_ATTACH || c.arg(0) == PTRACE_SEIZE))
    r.release_trace = target;
  return r;
}

}  // namespace guardian::decode
