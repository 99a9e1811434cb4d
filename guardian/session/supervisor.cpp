// The supervisor: launch, then one poll loop over the listener, ptrace events (SIGCHLD) and
// our signals until the command exits; then the whole tree is killed.
#include "session/supervisor.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "base/test_hooks.hpp"
#include "emulate/emulate.hpp"
#include "session/ptrace_stop.hpp"
#include "session/reaper.hpp"
#include "session/respond.hpp"

namespace guardian::session {
namespace {
std::int64_t now_ns() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

void supervisor_signals(sigset_t& set) {
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU})
    sigaddset(&set, s);
}

namespace {
bool g_saved = false;
sigset_t g_original;
bool g_sigpipe_ignored = false;  // as guardian was started: the command gets it back
}  // namespace

void block_supervisor_signals() {
  sigset_t set, old;
  supervisor_signals(set);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  if (!g_saved) {
    g_original = old;
    g_saved = true;
    // A reader of --audit - gone (`2>&1 | head`) must make the write fail (EPIPE: the log is
    // incomplete, exit 125 after an orderly end), not kill the supervisor mid-session.
    struct sigaction ign {}, was {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &was);
    g_sigpipe_ignored = was.sa_handler == SIG_IGN;
  }
}

Supervisor::Supervisor(Decider& decider, audit::AuditLog* log)
    : decider_(decider),
      log_(log),
      tracer_(table_,
              [this](pid_t tid, pid_t tgid, const std::string& exe) {
                // TESTS ONLY (test_supervisor_allow_all): a denied exec was let through.
                if (testing::supervisor_allow_all()) return true;
                return decider_.verify_exec(tid, tgid, exe);
              },
              log),
      scratch_([this](pid_t pid, int status) { tracer_.dispatch(pid, status); }) {
  waiter_ = std::make_unique<Waiter>(
      loop_,
      [this](const decode::Notification& n) {
        // Worker threads: only calls that are safe from any thread.
        if (ptrace_) return ::kill(n.tid, 0) == 0;
        return listener_ && listener_->id_valid(n.id);
      },
      [this](const decode::Notification& n, const Waiter::Finish& finish) {
        deferred_.erase(n.id);
        decode::Response r;
        if (ptrace_) {
          PtraceTracee t(n.tid);
          if (!t.still_valid()) return;
          r = finish(t);
        } else {
          if (!listener_ || !listener_->id_valid(n.id)) return;
          seccomp::NotifTracee t = notif_tracee(n);
          r = finish(t);
        }
        apply(n, r);
      });
  // A process exec'd or exited: what was kept of its memory goes (the ptrace backend's
  // sealed pages, the listener's /proc/PID/mem descriptor), before it runs again.
  tracer_.image_gone = [this](pid_t tgid) {
    if (ptrace_) scratch_.process_gone(tgid);
    else if (listener_) listener_->forget_memory(tgid);
  };
  tracer_.on_released([this](pid_t tid) { on_released(tid); });
  table_.set_settle([this](const std::vector<pid_t>& tids) { tracer_.settle(tids); });
  // The command's own copy of a signal we forward too (SignalEcho): who sent it decides.
  tracer_.deliver = [this](pid_t tid, int sig) {
    if (!SignalEcho::pairs(sig)) return true;
    siginfo_t si {};
    if (ptrace(PTRACE_GETSIGINFO, tid, nullptr, &si) != 0) return true;
    return echo_.deliver(sig, si.si_pid, si.si_code, now_ns());
  };
  tracer_.before_core_signal = [this](pid_t tid) {
    if (core_guard) core_guard(tid);
  };
}

seccomp::NotifTracee Supervisor::notif_tracee(const decode::Notification& n) const {
  // Memory through a kept /proc/PID/mem descriptor only for a thread we trace, in a process
  // of which we see every exec (image_of is 0 otherwise): a process handed to another tracer
  // (a nested guardian, strace) or unknown to the tracer reads with process_vm_readv.
  std::uint64_t image = tracer_.traces(n.tid) ? table_.image_of(n.tid) : 0;
  return seccomp::NotifTracee(*listener_, n.id, n.tid, -1, table_.tgid_of(n.tid), image);
}

Supervisor::~Supervisor() { waiter_->stop(); }

void Supervisor::kill_session() { tracer_.kill_all(); }

void Supervisor::signal_command(int sig) {
  if (pidfd_) syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0);
}

void Supervisor::use_ptrace() {
  ptrace_ = true;
  waiter_->interrupt_for_signals(false);
  tracer_.thread_exited = [this](pid_t tid) { scratch_.thread_gone(tid); };
  tracer_.trace_seccomp([this](pid_t tid) { on_trace_stop(tid); });
}

void Supervisor::use_entry_stops(std::vector<bool> nrs) {
  entry_nrs_ = std::move(nrs);
  tracer_.trace_syscall_entries(&entry_nrs_);
  scratch_.use_poke(true);
}

void Supervisor::on_trace_stop(pid_t tid) {
  decode::Notification n;
  if (!read_trace_stop(tid, next_stop_id_++, n)) return;  // killed meanwhile
  pid_t tgid = table_.tgid_of(tid) ? table_.tgid_of(tid) : tid;
  if (may_pin(n.nr) && !scratch_.ready(tid, tgid)) {
    // First such call of this thread: map its sealed page (running mmap and mseal in it);
    // it then makes this call again and we decide it then.
    if (scratch_.setup(tid, tgid)) {
      PtraceResponder(tracer_.entry_stops()).cont(n);
    }
    return;
  }
  ++stats_.notifications;
  PtraceTracee t(tid);
  decode::Response r = decider_.handle(n, t);
  apply(n, r);
}

Result<int> Supervisor::run(launch::LaunchSpec spec) {
  sigset_t set;
  supervisor_signals(set);
  block_supervisor_signals();
  spec.sigmask = g_original;
  spec.sigpipe_ignored = g_sigpipe_ignored;
  sigfd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd_) return fail_errno("cannot create a signalfd", errno);
  // Orphans of the session (double forks) are reparented to us, so we reap them.
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  bool sync_ok = true;
  spec.listener = !ptrace_;
  auto launched = launch::launch(spec, [&](launch::Launched& l) -> Result<void> {
    if (!ptrace_) {
      listener_ = std::make_unique<seccomp::Listener>(std::move(l.listener));
      sync_ok = listener_->set_sync_wakeup();
    }
    if (before_exec) {
      auto r = before_exec(l.pid, l.in_cgroup);
      if (!r) return r;
    }
    return tracer_.seize_root(l.pid, spec.path);
  });
  if (!launched) return launched.error();
  if (!launched.value().wait_killable)
    std::fputs("guardian: notice: kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV; "
               "signal-heavy programs may retry intercepted syscalls more often\n",
               stderr);
  if (!sync_ok)
    std::fputs("guardian: notice: kernel lacks SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP; "
               "intercepted syscalls will be slower\n",
               stderr);
  pidfd_ = std::move(launched.value().pidfd);
  if (listener_) listener_->set_wait_killable(launched.value().wait_killable);

  // ptrace events before notifications when both are ready (the loop serves fds in the order
  // they were added): a stop costs us a few calls and holds a tracee that others wait for —
  // a new child, or the real parent whose wait4 returns only once we have reaped its child —
  // while a notification's decision may take much longer.
  loop_.add(sigfd_.get(), POLLIN, [this](short) { on_signal(); });
  if (listener_) {
    listener_handle_ = loop_.add(listener_->fd(), POLLIN, [this](short rev) { on_listener(rev); });
    listener_open_ = true;
  }
  if (on_started) on_started(tracer_.root(), pidfd_.get());

  // A SIGCHLD may already be pending from before the signalfd existed.
  tracer_.reap();
  bool ok = true;
  // A run of notifications with nothing else happening (no process starting or ending, no
  // signal, timer or socket): after kQuiet such rounds the loop waits in the listener's
  // own RECV, which a watcher of the other fds interrupts (RecvKick), until something else
  // happens; then it polls again.
  constexpr unsigned kQuiet = 32;
  unsigned quiet = 0;
  const bool recv_wait = listener_ && kick_.start();
  std::vector<struct pollfd> others;
  while (serving()) {
    if (recv_wait && listener_open_ && quiet >= kQuiet) {
      if (kick_.is_pending()) {
        kick_.clear();
        quiet = 0;
        continue;
      }
      loop_.polled_fds(listener_->fd(), others);
      kick_.arm(others);
      decode::Notification n;
      kick_.enter();
      seccomp::RecvStatus st = listener_->receive_unless(n, kick_.pending());
      kick_.leave();
      // Anything but a notification (an fd ready, a thread gone, no task left): poll.
      if (st != seccomp::RecvStatus::got) quiet = 0;
      serve(st, n);
      continue;
    }
    kick_.disarm();
    unsigned long served = loop_.served(), calls = listener_calls_;
    if (!loop_.run_once(-1)) {
      ok = false;
      break;
    }
    quiet = loop_.served() - served > listener_calls_ - calls ? 0 : quiet + 1;
  }
  kick_.disarm();
  int poll_errno = errno;
  if (linger_handle_ >= 0) loop_.remove(linger_handle_);
  linger_handle_ = -1;
  // Nothing waits for the session's threads any more.
  waiter_->stop();
  // The command is gone (or the loop failed): nothing of the session may outlive run().
  tracer_.kill_all();
  emulate::restore_umask();
  if (!tracer_.wait_all_gone(5000))
    std::fputs("guardian: warning: some processes of the session did not exit after SIGKILL\n",
               stderr);
  // The mask stays blocked: a Ctrl-C still pending here must not kill guardian before it
  // writes session_end and returns the command's status.
  if (!ok) return fail_errno("the supervisor's poll loop failed", poll_errno);
  return *tracer_.root_status();
}

bool Supervisor::serving() {
  if (!tracer_.root_status()) return true;
  if (!linger_end_) {
    if (table_.empty() || !on_command_exit) return false;
    double grace = on_command_exit();
    if (grace <= 0) return false;
    // Their exits after the SIGKILL that ends the grace are reported within the margin; past
    // it, kill_all below takes over.
    constexpr std::int64_t kMargin = 500'000'000;
    linger_end_ = now_ns() + static_cast<std::int64_t>(grace * 1e9) + kMargin;
    linger_timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (linger_timer_) {
      struct itimerspec its {};
      its.it_value.tv_sec = static_cast<time_t>(*linger_end_ / 1'000'000'000);
      its.it_value.tv_nsec = static_cast<long>(*linger_end_ % 1'000'000'000);
      ::timerfd_settime(linger_timer_.get(), TFD_TIMER_ABSTIME, &its, nullptr);
      linger_handle_ = loop_.add(linger_timer_.get(), POLLIN, [this](short) {
        std::uint64_t ticks;
        while (::read(linger_timer_.get(), &ticks, sizeof ticks) == sizeof ticks) {
        }
      });
    }
    return true;
  }
  return !table_.empty() && now_ns() < *linger_end_;
}

void Supervisor::on_listener(short revents) {
  ++listener_calls_;
  if (!(revents & POLLIN)) {
    // POLLHUP: no task uses the filter any more; the exits arrive through SIGCHLD.
    loop_.remove(listener_handle_);
    listener_open_ = false;
    return;
  }
  decode::Notification n;
  serve(listener_->receive(n), n);
}

void Supervisor::serve(seccomp::RecvStatus st, decode::Notification& n) {
  switch (st) {
    case seccomp::RecvStatus::none:
      return;
    case seccomp::RecvStatus::closed:
      loop_.remove(listener_handle_);
      listener_open_ = false;
      return;
    case seccomp::RecvStatus::got:
      break;
  }
  ++stats_.notifications;
  if (n.nr == __NR_clone && (n.args[0] & CLONE_UNTRACED)) {
    untraced_clone(n);
    return;
  }
  seccomp::NotifTracee t = notif_tracee(n);
  decode::Response r = decider_.handle(n, t);
  apply(n, r);
}

void Supervisor::redecide(std::uint64_t key) {
  auto it = deferred_.find(key);
  if (it == deferred_.end()) return;
  decode::Notification n = it->second;
  deferred_.erase(it);
  if (ptrace_) {
    // Still held in its stop unless it was killed meanwhile.
    PtraceTracee t(n.tid);
    if (!t.still_valid()) return;
    decode::Response r = decider_.handle(n, t);
    apply(n, r);
    return;
  }
  // The thread may have been killed while a human thought about it.
  if (!listener_ || !listener_->id_valid(n.id)) return;
  seccomp::NotifTracee t = notif_tracee(n);
  decode::Response r = decider_.handle(n, t);
  apply(n, r);
}

void Supervisor::apply(const decode::Notification& n, decode::Response& r) {
  answer(n, r);
  // Wait statuses that Tracer::settle took while the call was decided (a rename waited for
  // the walks of opens answered CONTINUE), handled now that the handler is free again.
  if (tracer_.has_settled()) tracer_.flush_settled();
}

void Supervisor::answer(const decode::Notification& n, decode::Response& r) {
  // TESTS ONLY (test_supervisor_allow_all, never in the installed guardian): what the
  // supervisor would refuse goes to the kernel instead, so only Landlock can stop it.
  if (testing::supervisor_allow_all() &&
      (r.kind == decode::Response::Kind::error || r.kind == decode::Response::Kind::kill)) {
    r = decode::Response{};
    r.kind = decode::Response::Kind::cont;
  }
  if (r.kind == decode::Response::Kind::cont && r.release_trace > 0 &&
      tracer_.traces(r.release_trace)) {
    hand_over(n, r.release_trace);
    return;
  }
  if (r.kind == decode::Response::Kind::defer) {
    // Held for a human: the thread waits in the kernel (seccomp) or in its stop (ptrace)
    // until redecide(); the loop serves everyone else.
    deferred_[n.id] = n;
    return;
  }
  bool sent;
  if (ptrace_) {
    PtraceResponder to(tracer_.entry_stops(), &scratch_, table_.tgid_of(n.tid));
    sent = apply_response(to, n, r, table_.tgid_of(n.tid));
  } else {
    NotifResponder to(*listener_);
    sent = apply_response(to, n, r, table_.tgid_of(n.tid));
  }
  // ENOENT / ESRCH: the syscall was interrupted or the thread died meanwhile — expected.
  if (!sent) ++stats_.gone;
}

bool Supervisor::handover_allowed(pid_t caller, const std::string& what) {
  if (!ptrace_ && handover_ok_ && handover_gap_) {
    std::string gap = handover_gap_();
    handover_gap_ = nullptr;
    if (!gap.empty()) {
      handover_ok_ = false;
      handover_refusal_ = "its execs would then be checked only by the Landlock envelope, and " + gap;
    }
  }
  // No longer our tracee, the process would outlive a SIGKILLed guardian: the keeper ends
  // the session's cgroup then.
  if (!ptrace_ && handover_ok_ && keeper_cgroup_ >= 0 && !keeper_) {
    keeper_.reset(start_keeper(keeper_cgroup_));
    if (!keeper_) {
      handover_ok_ = false;
      handover_refusal_ = std::string("cannot start the process that would end the session if "
                                      "guardian were killed: ") + std::strerror(errno);
    }
  }
  if (ptrace_ || !handover_ok_) {
    if (!handover_refused_said_) {
      handover_refused_said_ = true;
      std::fprintf(stderr, "guardian: refusing to let pid %d %s: %s\n",
                   table_.tgid_of(caller) ? table_.tgid_of(caller) : caller, what.c_str(),
                   ptrace_ ? "under --backend ptrace guardian must stay the tracer of every "
                             "process to see its system calls (use --backend seccomp)"
                           : handover_refusal_.c_str());
    }
    return false;
  }
  return true;
}

void Supervisor::untraced_clone(const decode::Notification& n) {
  const std::uint64_t flags = n.args[0];
  table_.task_seen(n.tid);  // as the handler does for every notification (walk_continued)
  decode::Response no;
  no.kind = decode::Response::Kind::error;
  no.err = EPERM;
  // New namespaces stay refused whatever else the flags ask (the filter's own rule for them
  // may not be the one that matched).
  constexpr std::uint64_t kNs = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
  if (ptrace_ || (flags & kNs) || (flags & CLONE_THREAD) ||
      !handover_allowed(n.tid, "make a task hidden from its tracer (clone CLONE_UNTRACED)")) {
    apply(n, no);
    return;
  }
  // As at a hand-over: a task we are not told about runs with the session's filter; its
  // execs are held by the Landlock envelope (exec_verified answers false for it), it is in
  // the session by its lineage, the keeper ends it with the cgroup, and the caller's
  // descriptor table and memory are no longer its own alone.
  table_.set_lineage_fallback();
  table_.set_exec_verified([this](pid_t t) { return tracer_.traces(t); });
  const pid_t tgid = table_.tgid_of(n.tid);
  if (tgid) {
    if (flags & (CLONE_FILES | CLONE_FS)) table_.mark_shared(tgid);
    if (flags & CLONE_VM) table_.mark_vm_shared(tgid);
  }
  if (!listener_->send_continue(n.id)) ++stats_.gone;
}

void Supervisor::hand_over(const decode::Notification& n, pid_t target) {
  if (!handover_allowed(n.tid, "trace pid " + std::to_string(target))) {
    decode::Response no;
    no.kind = decode::Response::Kind::error;
    no.err = EPERM;
    apply(n, no);
    return;
  }
  table_.set_lineage_fallback();
  // From now on some processes' execs are not seen at PTRACE_EVENT_EXEC (decode/exec.cpp).
  table_.set_exec_verified([this](pid_t t) { return tracer_.traces(t); });
  // Its execs will reach its new tracer, not us: nothing kept of its memory stays valid
  // (ProcessTable::image_of answers 0 for it from now on).
  listener_->forget_memory(table_.tgid_of(target));
  if (target == n.tid) {
    // PTRACE_TRACEME: the caller itself is held in this notification and cannot stop for
    // the detach until it is answered. Interrupt it, then answer ERESTARTNOINTR: on its way
    // out it stops for the interrupt, we detach, and the kernel restarts the call, which is
    // then decided again and runs untraced by us.
    tracer_.release(target);
    if (!listener_->send_error(n.id, 513 /* ERESTARTNOINTR */)) ++stats_.gone;
    return;
  }
  // Another thread: the caller waits in its notification until that one is detached.
  deferred_[n.id] = n;
  waiting_release_.emplace(target, n.id);
  tracer_.release(target);
}

void Supervisor::on_released(pid_t tid) {
  int pfd = tracer_.released_pidfd(tid);
  if (pfd >= 0) {
    auto handle = std::make_shared<int>(-1);
    *handle = loop_.add(pfd, POLLIN, [this, tid, handle](short) {
      loop_.remove(*handle);
      tracer_.forget(tid);
    });
  }
  auto [b, e] = waiting_release_.equal_range(tid);
  std::vector<std::uint64_t> ids;
  for (auto it = b; it != e; ++it) ids.push_back(it->second);
  waiting_release_.erase(tid);
  // The decision (allow) is already logged: answer CONTINUE; the kernel now lets the caller
  // attach (or says ESRCH if the thread is gone).
  for (auto id : ids) {
    auto it = deferred_.find(id);
    if (it == deferred_.end()) continue;
    deferred_.erase(it);
    if (!listener_->send_continue(id)) ++stats_.gone;
  }
}

void Supervisor::on_signal() {
  // A batch per read, and no read that would only say EAGAIN after a short one: each
  // ptrace stop wakes us for one SIGCHLD, and this runs on every one of them.
  struct signalfd_siginfo batch[8];
  for (;;) {
    ssize_t got = read(sigfd_.get(), batch, sizeof batch);
    if (got < static_cast<ssize_t>(sizeof batch[0])) break;
    std::size_t count = static_cast<std::size_t>(got) / sizeof batch[0];
    for (std::size_t i = 0; i < count; ++i) on_one_signal(batch[i]);
    if (count < std::size(batch)) break;
  }
}

void Supervisor::on_one_signal(const struct signalfd_siginfo& si) {
  switch (si.ssi_signo) {
    case SIGCHLD:
      tracer_.reap();
      break;
    case SIGINT:
    case SIGTERM:
    case SIGHUP:
    case SIGQUIT:
      // Sent by a process (kill, a service manager): forward. From the terminal
      // (SI_KERNEL) the command, in our process group, received it already.
      if (static_cast<int>(si.ssi_code) <= 0) {
        // SIGHUP is forwarded as SIGHUP (a daemon's "reload", a closed terminal): the
        // command decides; when it exits the whole tree is killed anyway.
        if (on_terminate && si.ssi_signo == SIGTERM)
          on_terminate(static_cast<int>(si.ssi_signo));
        else if (echo_.forward(static_cast<int>(si.ssi_signo), static_cast<pid_t>(si.ssi_pid), now_ns()))
          signal_command(static_cast<int>(si.ssi_signo));
      }
      if (si.ssi_signo == SIGTERM && log_) log_->flush();
      break;
    default:
      // SIGTSTP/SIGTTIN/SIGTTOU: the command's own stop decides (see Tracer::on_stop).
      break;
  }
}

}  // namespace guardian::session
