// SessionControl: limits, lifetime and ask, plugged into the supervisor's loop and hooks.
#include "session/control.hpp"

#include <poll.h>
#include <unistd.h>
#include <signal.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>

#include "session/supervisor.hpp"

namespace guardian::session {

Result<std::unique_ptr<SessionControl>> SessionControl::create(const RunOptions& opts,
                                                               const policy::Profile* profile,
                                                               AddRule add_rule) {
  std::unique_ptr<SessionControl> c(new SessionControl());
  c->add_rule_ = std::move(add_rule);
  LimitSettings s;
  if (profile) {
    const auto& p = profile->limits;
    s.wall_s = p.wall_s, s.cpu_s = p.cpu_s, s.memory_bytes = p.memory_bytes;
    s.pids = p.pids, s.nofile = p.nofile;
  }
  // The command line overrides the profile (spec §1).
  if (opts.limits.wall_s) s.wall_s = opts.limits.wall_s;
  if (opts.limits.cpu_s) s.cpu_s = opts.limits.cpu_s;
  if (opts.limits.memory_bytes) s.memory_bytes = opts.limits.memory_bytes;
  if (opts.limits.pids) s.pids = opts.limits.pids;
  // GUARDIAN_NO_CGROUP=1 forces the rlimit fallback (tests of the unprivileged path).
  const char* nocg = std::getenv("GUARDIAN_NO_CGROUP");
  auto l = SessionLimits::prepare(s, !(nocg && std::string(nocg) == "1"));
  if (!l) return fail(l.error().message);
  c->limits_ = std::move(l).value();
  for (auto& line : c->limits_->caveats()) std::fprintf(stderr, "%s\n", line.c_str());

  c->asking_ = opts.ask.any() || (profile && profile->on_deny == policy::OnDeny::ask);
  if (opts.mode == decode::Mode::complain) c->asking_ = false;  // nothing is denied to ask about
  c->ask_settings_.socket_path = opts.ask.socket_path;
  c->ask_settings_.save_path = opts.ask.save_path;
  c->ask_settings_.profile = profile && !profile->source.empty() ? profile->source : opts.profile;
  if (const char* t = std::getenv("GUARDIAN_ASK_TIMEOUT")) {
    auto d = parse_duration(t);
    if (!d) return fail("GUARDIAN_ASK_TIMEOUT: " + d.error().message);
    c->ask_settings_.timeout_s = d.value();
  }
  return c;
}

SessionControl::~SessionControl() {
  // Only on early failures: the supervisor (and its loop) may already be gone.
  if (ask_) ask_->forget_loop();
}

std::map<std::string, std::string> SessionControl::audit_fields() const {
  auto out = limits_->audit_fields();
  if (asking_) out["ask"] = ask_ ? ask_->describe() : "none";
  return out;
}

void SessionControl::set_audit(audit::AuditLog* log) { limits_->set_audit(log); }

Result<void> SessionControl::attach(Supervisor& sup) {
  sup_ = &sup;
  SessionLimits* l = limits_.get();
  if (l->timer_fd() >= 0)
    timer_handle_ = sup.loop().add(l->timer_fd(), POLLIN, [l](short) { l->on_timer(); },
                                   l->timer_armed());
  // Without a cgroup the supervisor's process table is the tree (ptrace sees every fork).
  ProcessTable* table = &sup.table();
  l->set_tree_signaller([table](int sig) {
    int n = 0;
    for (pid_t p : table->processes())
      if (::kill(p, sig) == 0) ++n;
    return n;
  });
  l->set_process_counter([table] { return table->peak_threads(); });
  auto prev_started = sup.on_started;
  sup.on_started = [l, prev_started](pid_t pid, int pidfd) {
    if (prev_started) prev_started(pid, pidfd);
    l->start();
  };
  sup.before_exec = [this](pid_t pid, bool in_cgroup) { return before_exec(pid, in_cgroup); };
  sup.on_terminate = [this](int) { terminate(); };
  sup.on_command_exit = [l] { return l->command_exited(); };

  if (asking_) {
    LoopHooks h;
    h.add = [&sup](int fd, std::function<void(short)> cb) { return sup.loop().add(fd, POLLIN, std::move(cb)); };
    h.remove = [&sup](int handle) { sup.loop().remove(handle); };
    h.resume = [&sup](std::uint64_t key) { sup.redecide(key); };
    // guardian itself counts: it performs the session's connects on a duplicate of the
    // socket, so a session process reaching the ask socket shows as guardian's peer.
    h.in_session = [table, self = ::getpid()](pid_t pid) { return pid == self || table->in_session(pid); };
    h.add_rule = add_rule_;
    auto b = AskBroker::create(ask_settings_, std::move(h));
    if (!b) return fail(b.error().message);
    ask_ = std::move(b).value();
    proxy_.target = ask_.get();
  }
  return outcome::success();
}

Result<void> SessionControl::before_exec(pid_t child, bool in_cgroup) {
  auto r = limits_->attach(child, in_cgroup);
  if (!r) return r;
  // The child is stopped before its exec: its rlimits are set from here (prlimit), which
  // keeps the child-side steps to the launcher's async-signal-safe list.
  return limits_->apply_rlimits_to(child);
}

void SessionControl::terminate() {
  if (!terminate_said_)
    std::fputs("guardian: terminated: ending the command (SIGTERM, then SIGKILL)\n", stderr);
  terminate_said_ = true;
  limits_->terminate();
  if (ask_) ask_->cancel_all();
}

int SessionControl::cgroup_dir_fd() const noexcept { return limits_->cgroup_dir_fd(); }

int SessionControl::finish(int exit_status) {
  if (ask_) {
    ask_->cancel_all();
    proxy_.target = nullptr;
    ask_.reset();  // unregisters from the loop while the supervisor is still alive
  }
  int status = limits_->finish(exit_status);
  if (!limits_->kill_all())
    std::fputs("guardian: warning: some processes of the session outlived SIGKILL\n", stderr);
  return status;
}

}  // namespace guardian::session
