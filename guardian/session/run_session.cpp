// session::run_session: profile, command, filter, launch, supervision, exit status.
#include "session/run_session.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "context/preload.hpp"
#include "decode/syscalls.hpp"
#include "launch/landlock.hpp"
#include "policy/loader.hpp"
#include "seccomp/filter.hpp"
#include "session/command.hpp"
#include "session/control.hpp"
#include "session/interim.hpp"
#include "session/supervisor.hpp"

extern char** environ;

namespace guardian::session {

namespace {

int guardian_failure(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  return cli::kExitGuardianFailure;
}

// Options whose room has not landed must not be silently ignored.
int check_supported(const RunOptions& o) {
  if (o.backend == Backend::ptrace)
    return guardian_failure("guardian: --backend ptrace is not available yet (use seccomp)");
  // The shim's cooperative fast path is not built: deciding in-process needs the compiled
  // profile shared read-only with every process and a drained ring, and until that is
  // sound the supervisor decides everything (see guardian(1), --fast-path).
  if (o.fast_path)
    return guardian_failure(
        "guardian: --fast-path is not available in this version; every call is decided by "
        "the supervisor (drop --fast-path)");
  return 0;
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& kv : env)
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=')
      return kv.substr(name.size() + 1);
  return {};
}

}  // namespace

int exit_status_of(int ws) {
  if (WIFEXITED(ws)) return WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
  return cli::kExitGuardianFailure;
}

int run_session(const RunOptions& opts) {
  if (int rc = check_supported(opts)) return rc;
  if (opts.command.empty()) return guardian_failure("guardian: missing command after '--'");

  // INTERIM: the decision engine (policy, decode, audit rooms) is not on main yet.
  const char* interim = std::getenv("GUARDIAN_INTERIM_ALLOW_ALL");
  if (!interim || std::string(interim) != "1")
    return guardian_failure(
        "guardian: the decision engine is not built into this version yet; refusing to run "
        "unsupervised (set GUARDIAN_INTERIM_ALLOW_ALL=1 to test the supervisor alone)");
  std::vector<std::string> envp = current_environment();

  ResolvedCommand cmd = resolve_command(opts.command[0], env_value(envp, "PATH"));
  if (cmd.status != 0) {
    std::fprintf(stderr, "%s\n", cmd.message.c_str());
    return cmd.status;
  }

  // The profile, loaded here first for the Landlock envelope (landlock room); the engine,
  // once wired here, is compiled from this same object.
  policy::LoadContext lctx = policy::context_from_environment();
  for (const auto& [name, value] : opts.set_vars) lctx.overrides[name] = value;
  policy::LoadResult loaded = policy::load_profile(opts.profile, lctx);
  if (!loaded.profile) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return cli::kExitGuardianFailure;
  }
  policy::Profile& profile = *loaded.profile;

  // LD_PRELOAD shim (context room): call-site backtraces and host names for the audit log,
  // never enforcement. Prepared after the profile (its deny_errno is what the shim reports
  // on) and after any env filtering of envp; its library becomes a read rule before the
  // engine and the Landlock envelope are built. When the audit log is wired here:
  //   log = shim.value().wrap(std::move(log));   // before the Handler takes the log
  // and block supervisor_signals() before open_log/wrap start their threads (a thread
  // that does not block SIGCHLD swallows it and the session hangs).
  auto shim = context::PreloadSession::prepare(opts.preload, profile.deny_errno, envp);
  if (!shim) return guardian_failure("guardian: " + shim.error().message);
  shim.value().allow_library(profile);

  // Landlock envelope (landlock room): built here in the parent, enforced by the child after
  // no_new_privs and before the seccomp filter. When the audit log is wired here, merge
  // landlock.audit_fields() into SessionStart::extra.
  std::string landlock_off = !opts.landlock               ? "--no-landlock"
                             : opts.learn_allow_all       ? "learning"
                             : opts.mode == decode::Mode::complain ? "complain mode"
                                                          : "";
  launch::LandlockSetup landlock = launch::prepare_landlock(
      profile, launch::run_envelope_options(cmd.path, opts.extra_rules), landlock_off);

  seccomp::FilterOptions fo;
  auto prog = seccomp::build_filter(decode::syscall_table(), fo);
  if (!prog) return guardian_failure("guardian: " + prog.error().message);
  struct sock_fprog fprog = prog.value().fprog();

  // Limits, cgroup, lifetime and ask (session room).
  // When the engine is wired here, pass [&engine](kind, pattern) { engine.add_rule(kind, pattern); }
  // and the AskBroker (control->asker()) as HandlerOptions::asker; merge
  // control->audit_fields() into SessionStart::extra and call control->set_audit(log).
  auto control = SessionControl::create(opts, &profile, nullptr);
  if (!control) return guardian_failure("guardian: " + control.error().message);

  ContinueDecider decider;
  Supervisor sup(decider, nullptr);
  if (auto r = control.value()->attach(sup); !r)
    return guardian_failure("guardian: " + r.error().message);
  launch::LaunchSpec spec;
  spec.path = cmd.path;
  spec.argv = opts.command;
  spec.envp = std::move(envp);
  spec.filter = &fprog;
  spec.landlock_ruleset_fd = landlock.active ? landlock.ruleset.get() : -1;
  if (shim.value().active()) spec.keep_fds.push_back(shim.value().child_fd());
  auto status = sup.run(std::move(spec));
  if (!status) {
    std::string msg = "guardian: " + status.error().message;
    if (opts.backend == Backend::auto_ && status.error().code == EBUSY)
      msg += "; the ptrace backend is not available yet";
    return guardian_failure(msg);
  }
  return control.value()->finish(exit_status_of(status.value()));
}

}  // namespace guardian::session
