// ptrace backend: installing a descriptor the supervisor opened into a held thread (what
// seccomp's ADDFD does), by running a short sequence of system calls in that thread.
#include "session/ptrace_scratch.hpp"

#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/user.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "base/fd_passing.hpp"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace guardian::session {

namespace {

bool is_error(unsigned long long rax) {
  return static_cast<long long>(rax) < 0 && static_cast<long long>(rax) >= -4095;
}

// Sends `fd` to the datagram socket `sock` (the supervisor's duplicate of the thread's
// receiving socket): the socket is given an autobound abstract name, known to nobody else,
// and the descriptor goes there as SCM_RIGHTS in an empty datagram.
bool send_to(int sock, int fd) {
  sa_family_t fam = AF_UNIX;
  if (::bind(sock, reinterpret_cast<const sockaddr*>(&fam), sizeof fam) != 0) return false;
  sockaddr_un to {};
  socklen_t len = sizeof to;
  if (::getsockname(sock, reinterpret_cast<sockaddr*>(&to), &len) != 0) return false;
  UniqueFd out(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!out) return false;
  return base::send_fd(out.get(), fd, reinterpret_cast<const sockaddr*>(&to), len, MSG_DONTWAIT) == 0;
}

// The thread's descriptor `fd`, duplicated here (pidfd_getfd); invalid on failure.
UniqueFd take(pid_t tid, int fd) {
  int pfd = static_cast<int>(syscall(SYS_pidfd_open, tid, PIDFD_THREAD));
  if (pfd < 0) pfd = static_cast<int>(syscall(SYS_pidfd_open, tid, 0));
  if (pfd < 0) return UniqueFd();
  UniqueFd pidfd(pfd);
  return UniqueFd(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
}

}  // namespace

// Why this is safe: every call below runs in the thread itself with its own rights (under
// its Landlock domain and filters), on descriptors it makes or gets; the one thing it gets
// is the file the handler decided it may have. Signals are blocked meanwhile, so no
// handler sees our registers; a thread of the process that races on these descriptor
// numbers can only confuse its own process.
bool ScratchPages::install_fd(pid_t tid, int local_fd, bool cloexec, long& result) {
  struct user_regs_struct saved {};
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &saved) != 0) return false;
  std::uint64_t old_mask = 0, all = ~0ULL;
  bool masked = ptrace(PTRACE_GETSIGMASK, tid, sizeof old_mask, &old_mask) == 0 &&
                ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all) == 0;
  bool first = true;
  // Runs nr(a, b, c, d) in the thread and leaves it at that call's exit stop. The first
  // call takes the place of the held one; each later one backs over the `syscall`
  // instruction (2 bytes) and makes it again.
  auto call = [&](long nr, unsigned long long a, unsigned long long b, unsigned long long c,
                  unsigned long long d, long long& ret) {
    struct user_regs_struct regs = saved;
    regs.orig_rax = static_cast<unsigned long long>(nr);
    regs.rdi = a;
    regs.rsi = b;
    regs.rdx = c;
    regs.r10 = d;
    int stops = 1;
    if (!first) {
      regs.rip = saved.rip - 2;
      regs.rax = static_cast<unsigned long long>(nr);
      stops = 2;  // its entry, then its exit
    }
    first = false;
    if (ptrace(PTRACE_SETREGS, tid, nullptr, &regs) != 0) return false;
    for (int s = 0; s < stops; ++s)
      if (ptrace(PTRACE_SYSCALL, tid, nullptr, nullptr) != 0 || !wait_syscall_stop(tid)) return false;
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return false;
    ret = static_cast<long long>(regs.rax);
    return true;
  };
  long long sock = 0, got = 0, ignored = 0;
  result = -EACCES;
  // 1. A datagram socket of its own, at the lowest free number: the number the open it
  // stands for would have returned (EMFILE here is that open's EMFILE).
  if (!call(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, 0, sock)) return false;
  bool ok = !is_error(static_cast<unsigned long long>(sock));
  if (!ok) result = sock;
  // 2. The descriptor goes to that socket; 3. the thread receives it, into a message
  // header below its stack's red zone (memory no code may rely on across a call).
  if (ok) {
    ok = false;
    std::uint64_t at = ((saved.rsp - 128 - 256) & ~std::uint64_t{15});
    struct Msg {
      msghdr m;
      alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
    } msg {};
    msg.m.msg_control = reinterpret_cast<void*>(at + offsetof(Msg, ctl));
    msg.m.msg_controllen = sizeof msg.ctl;
    std::string blob(reinterpret_cast<const char*>(&msg), sizeof msg);
    blob.resize((blob.size() + sizeof(long) - 1) / sizeof(long) * sizeof(long), '\0');
    UniqueFd theirs = take(tid, static_cast<int>(sock));
    if (theirs && send_to(theirs.get(), local_fd) && write(tid, at, blob)) {
      if (!call(SYS_recvmsg, static_cast<unsigned long long>(sock), at, MSG_CMSG_CLOEXEC | MSG_DONTWAIT, 0, got))
        return false;
      int fd = -1;
      if (!is_error(static_cast<unsigned long long>(got))) {
        errno = 0;
        long word = ptrace(PTRACE_PEEKDATA, tid, reinterpret_cast<void*>(at + offsetof(Msg, ctl) + CMSG_LEN(0)), nullptr);
        if (errno == 0) std::memcpy(&fd, &word, sizeof fd);
      }
      // 4. The received file takes the socket's number (dup3 closes the socket), with the
      // close-on-exec flag the open asked for; 5. its first number is closed.
      if (fd >= 0) {
        if (!call(SYS_dup3, static_cast<unsigned long long>(fd), static_cast<unsigned long long>(sock),
                  cloexec ? O_CLOEXEC : 0, 0, got))
          return false;
        ok = got == sock;
        if (!call(SYS_close, static_cast<unsigned long long>(fd), 0, 0, 0, ignored)) return false;
      }
    }
    if (ok) result = sock;
    else if (!call(SYS_close, static_cast<unsigned long long>(sock), 0, 0, 0, ignored)) return false;
  }
  // The thread returns from its original call with the result, past its syscall
  // instruction, as if the kernel had made it (orig_rax -1: no restart).
  saved.orig_rax = static_cast<unsigned long long>(-1LL);
  saved.rax = static_cast<unsigned long long>(result);
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &saved) != 0) return false;
  if (masked) ptrace(PTRACE_SETSIGMASK, tid, sizeof old_mask, &old_mask);
  return true;
}

}  // namespace guardian::session
