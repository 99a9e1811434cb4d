// session::run_session: profile, command, filter, launch, supervision, exit status.
#include "session/run_session.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "audit/log.hpp"
#include "cli/commands.hpp"
#include "context/preload.hpp"
#include "decode/syscalls.hpp"
#include "launch/landlock.hpp"
#include "launch/launch.hpp"
#include "policy/engine.hpp"
#include "policy/env.hpp"
#include "policy/loader.hpp"
#include "seccomp/filter.hpp"
#include "session/command.hpp"
#include "session/control.hpp"
#include "session/handler_decider.hpp"
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
  // The shim's cooperative fast path is not built: deciding in-process needs the compiled
  // profile shared read-only with every process and a drained ring, and until that is
  // sound the supervisor decides everything (see guardian(1), --fast-path).
  if (o.fast_path)
    return guardian_failure(
        "guardian: --fast-path is not available in this version; every call is decided by "
        "the supervisor (drop --fast-path)");
  return 0;
}

std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& kv : env)
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=')
      return kv.substr(name.size() + 1);
  return {};
}

double now_s() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string current_dir() {
  char buf[PATH_MAX];
  return getcwd(buf, sizeof buf) ? buf : "";
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
  const double started = now_s();
  // Before any thread exists (audit writer, ask server): see block_supervisor_signals.
  block_supervisor_signals();

  // The profile: every error is located (FILE:LINE:COL) by the loader.
  policy::LoadContext ctx = policy::context_from_environment();
  for (const auto& [name, value] : opts.set_vars) ctx.overrides[name] = value;
  policy::LoadResult loaded = policy::load_profile(opts.profile, ctx);
  if (!loaded.errors.empty() || !loaded.profile) {
    if (loaded.errors.empty()) return guardian_failure("guardian: cannot load profile '" + opts.profile + "'");
    for (const policy::LoadError& e : loaded.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return cli::kExitGuardianFailure;
  }
  policy::Profile& profile = *loaded.profile;

  // The environment the command gets (profile `env`).
  std::vector<std::string> envp = policy::filter_environment(profile.env, environ);

  // COMMAND found as execvp would, on the PATH the command will see (else ours): 126/127
  // are decided here, before anything starts.
  std::string path_var = env_value(envp, "PATH");
  if (path_var.empty()) {
    const char* p = std::getenv("PATH");
    path_var = p ? p : "";
  }
  ResolvedCommand cmd = resolve_command(opts.command[0], path_var);
  if (cmd.status != 0) {
    std::fprintf(stderr, "%s\n", cmd.message.c_str());
    return cmd.status;
  }

  // LD_PRELOAD shim (context room): call-site backtraces and host names for the audit log,
  // never enforcement; its library must be readable by the session.
  auto shim = context::PreloadSession::prepare(opts.preload, profile.deny_errno, envp);
  if (!shim) return guardian_failure("guardian: " + shim.error().message);
  if (shim.value().active()) shim.value().allow_library(profile);

  std::unique_ptr<policy::Engine> engine;
  try {
    engine = std::make_unique<policy::Engine>(profile);
    for (const auto& [kind, pattern] : opts.extra_rules) engine->add_rule(kind, pattern);
  } catch (const std::invalid_argument& e) {
    return guardian_failure(std::string("guardian: ") + e.what());
  }

  // Landlock envelope (landlock room): off with --no-landlock and in complain mode, where
  // it would block what the mode promises to let through.
  std::string ll_off = !opts.landlock                        ? "--no-landlock"
                       : opts.learn_allow_all                    ? "learning"
                       : opts.mode == decode::Mode::complain     ? "complain mode"
                                                                 : "";
  launch::LandlockSetup landlock =
      launch::prepare_landlock(profile, launch::run_envelope_options(cmd.real, opts.extra_rules), ll_off);

  audit::Options ao;
  ao.destination = opts.audit;
  ao.format = opts.audit_format;             // --audit-format (audit room)
  ao.rotate_bytes = opts.audit_rotate_bytes;  // --audit-rotate (audit room)
  ao.decisions_deny_only = profile.audit == policy::AuditLevel::deny;
  auto opened = audit::open_log(ao);
  if (!opened) return guardian_failure("guardian: " + opened.error().message);
  std::unique_ptr<audit::AuditLog> log = shim.value().wrap(std::move(opened).value());

  // The backend: seccomp user-notify where a listener can be had; ptrace (SECCOMP_RET_TRACE)
  // when asked for, or for auto when the listener is refused (inside another guardian, or
  // a container whose seccomp profile forbids it).
  bool use_ptrace = opts.backend == Backend::ptrace;
  if (opts.backend == Backend::auto_ && launch::probe_user_notify() != 0) use_ptrace = true;

  seccomp::FilterOptions fo;
  fo.metadata_open = engine->metadata_open();
  fo.trace = use_ptrace;
  auto prog = seccomp::build_filter(decode::syscall_table(), fo);
  if (!prog) return guardian_failure("guardian: " + prog.error().message);
  struct sock_fprog fprog = prog.value().fprog();

  HandlerDecider decider;
  // Declared before the session control: the ask front end unregisters from its loop when
  // it is destroyed, so the supervisor must outlive it.
  Supervisor sup(decider, log.get());
  if (use_ptrace) sup.use_ptrace();

  // Limits, cgroup, lifetime and ask (session room).
  policy::Engine* eng = engine.get();
  auto control = SessionControl::create(
      opts, &profile, [eng](const std::string& kind, const std::string& pattern) {
        try {
          eng->add_rule(kind, pattern);
        } catch (const std::invalid_argument& e) {
          std::fprintf(stderr, "guardian: cannot add the rule: %s\n", e.what());
        }
      });
  if (!control) return guardian_failure("guardian: " + control.error().message);
  control.value()->set_audit(log.get());

  // attach() opens the ask front end: only then is there an Asker for the handler.
  if (auto r = control.value()->attach(sup); !r)
    return guardian_failure("guardian: " + r.error().message);
  decode::HandlerOptions ho;
  ho.mode = opts.mode;
  ho.via = use_ptrace ? "ptrace" : "seccomp";
  ho.asker = control.value()->asker();
  decider.handler = std::make_unique<decode::Handler>(*engine, *log, sup.table(), ho);
  decider.handler->allow_first_exec(cmd.real);

  audit::SessionStart ss;
  ss.argv = opts.command;
  ss.cwd = current_dir();
  ss.profile = profile.source.empty() ? opts.profile : profile.source;
  ss.profile_sha256 = profile.sha256;
  ss.mode = opts.mode == decode::Mode::complain ? "complain" : "enforce";
  ss.backend = use_ptrace ? "ptrace" : "seccomp";
  ss.uid = getuid();
  ss.extra = control.value()->audit_fields();
  for (auto& [k, v] : landlock.audit_fields()) ss.extra[k] = v;
  // What ${HOME} and ${TMPDIR} meant here, so that `guardian learn --from-audit` can write
  // them back as variables on another machine or account (spec §3 lets fields be added).
  for (const auto& [name, field] : {std::pair<const char*, const char*>{"HOME", "home"}, {"TMPDIR", "tmpdir"}}) {
    auto o = ctx.overrides.find(name);
    ss.extra[field] = o != ctx.overrides.end() ? o->second : ctx.builtins[name];
  }
  log->session_start(ss);

  launch::LaunchSpec spec;
  spec.path = cmd.path;
  spec.argv = opts.command;
  spec.envp = std::move(envp);
  spec.filter = &fprog;
  spec.landlock_ruleset_fd = landlock.active ? landlock.ruleset.get() : -1;
  if (shim.value().active()) spec.keep_fds.push_back(shim.value().child_fd());
  auto status = sup.run(std::move(spec));

  audit::SessionEnd se;
  se.duration_s = now_s() - started;
  struct rusage ru {};
  if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
    se.usage["maxrss_kb"] = static_cast<std::uint64_t>(ru.ru_maxrss);
    se.usage["utime_ms"] = static_cast<std::uint64_t>(ru.ru_utime.tv_sec) * 1000 +
                           static_cast<std::uint64_t>(ru.ru_utime.tv_usec) / 1000;
    se.usage["stime_ms"] = static_cast<std::uint64_t>(ru.ru_stime.tv_sec) * 1000 +
                           static_cast<std::uint64_t>(ru.ru_stime.tv_usec) / 1000;
  }
  se.usage["notifications"] = sup.stats().notifications;
  if (!status) {
    std::string msg = "guardian: " + status.error().message;
    se.exit_status = cli::kExitGuardianFailure;
    log->session_end(se);
    return guardian_failure(msg);
  }
  int rc = control.value()->finish(exit_status_of(status.value()));
  se.exit_status = rc;
  if (WIFSIGNALED(status.value())) se.signal = WTERMSIG(status.value());
  log->session_end(se);
  // Without --audit, say at once why a tool may have failed.
  if (opts.audit.empty()) {
    std::string summary = log->denial_summary();
    if (!summary.empty()) std::fprintf(stderr, "%s", summary.c_str());
  }
  return rc;
}

}  // namespace guardian::session
