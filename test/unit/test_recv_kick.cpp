// The loop's RECV wait and the watcher that ends it (session/recv_kick, and
// seccomp::Listener::receive_unless): a set flag keeps the wait from entering the kernel,
// and a watched fd becoming ready ends a wait that is blocked in the kernel, while a
// notification that came first is received, not dropped.
#include "session/recv_kick.hpp"

#include <doctest/doctest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <thread>

#include "seccomp/unotify.hpp"

using guardian::UniqueFd;
using guardian::seccomp::Listener;
using guardian::seccomp::RecvStatus;
using guardian::session::RecvKick;

namespace {

// A child that loads a filter sending getppid to a listener, and a copy of that listener
// here (pidfd_getfd). `go` (a pipe's write end in the child) lets it call getppid once.
struct Child {
  pid_t pid = -1;
  int go = -1;
  UniqueFd listener;
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (go >= 0) close(go);
  }
};

bool spawn(Child& c) {
  int up[2], down[2];
  if (pipe(up) != 0 || pipe(down) != 0) return false;
  c.pid = fork();
  if (c.pid == 0) {
    close(up[0]);
    close(down[1]);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {static_cast<unsigned short>(sizeof f / sizeof f[0]), f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int l = static_cast<int>(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
    if (write(up[1], &l, sizeof l) != sizeof l) _exit(1);
    char ch;
    if (read(down[0], &ch, 1) == 1) syscall(SYS_getppid);
    pause();
    _exit(0);
  }
  close(up[1]);
  close(down[0]);
  c.go = down[1];
  int num = -1;
  bool ok = read(up[0], &num, sizeof num) == sizeof num && num >= 0;
  close(up[0]);
  if (!ok) return false;
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, c.pid, 0)));
  if (!pidfd) return false;
  c.listener.reset(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), num, 0)));
  return static_cast<bool>(c.listener);
}

}  // namespace

TEST_CASE("a set flag keeps the wait out of the kernel") {
  // An eventfd is no listener: RECV on it fails (ENOTTY, "closed") once in the kernel.
  Listener l(UniqueFd(eventfd(0, EFD_CLOEXEC)));
  std::atomic<int> flag{1};
  guardian::decode::Notification n;
  CHECK(l.receive_unless(n, &flag) == RecvStatus::none);
  flag.store(0);
  CHECK(l.receive_unless(n, &flag) == RecvStatus::closed);
}

TEST_CASE("a watched fd ready ends a wait blocked in the kernel; a notification is received") {
  Child c;
  REQUIRE(spawn(c));
  Listener l(std::move(c.listener));
  RecvKick k;
  REQUIRE(k.start());
  UniqueFd ev(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  std::vector<struct pollfd> fds{{ev.get(), POLLIN, 0}};
  guardian::decode::Notification n;

  // Nothing to receive: the wait blocks until the eventfd becomes readable 200 ms later.
  k.arm(fds);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::uint64_t one = 1;
    CHECK(write(ev.get(), &one, sizeof one) == sizeof one);
  });
  auto t0 = std::chrono::steady_clock::now();
  k.enter();
  RecvStatus st = l.receive_unless(n, k.pending());
  k.leave();
  later.join();
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(st == RecvStatus::none);
  CHECK(k.is_pending());
  CHECK(waited >= std::chrono::milliseconds(150));
  CHECK(k.kicks() == 1);

  // Served: the loop clears the flag and arms again; the child's getppid is a notification,
  // which the wait returns (the eventfd drained, nothing else ready).
  std::uint64_t v;
  CHECK(read(ev.get(), &v, sizeof v) == sizeof v);
  k.clear();
  k.arm(fds);
  CHECK(write(c.go, "x", 1) == 1);
  k.enter();
  st = l.receive_unless(n, k.pending());
  k.leave();
  CHECK(st == RecvStatus::got);
  CHECK(n.nr == __NR_getppid);
  CHECK(n.tid == c.pid);
  CHECK_FALSE(k.is_pending());
  CHECK(l.send_continue(n.id));
  k.disarm();
}
