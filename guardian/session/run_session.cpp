// session::run_session: profile, command, filter, launch, supervision, exit status.
#include "session/run_session.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "decode/syscalls.hpp"
#include "seccomp/filter.hpp"
#include "session/command.hpp"
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
  auto unsupported = [](const char* opt) {
    return guardian_failure(std::string("guardian: ") + opt + " is not supported yet");
  };
  if (o.backend == Backend::ptrace)
    return guardian_failure("guardian: --backend ptrace is not available yet (use seccomp)");
  if (o.limits.wall_s) return unsupported("--timeout");
  if (o.limits.memory_bytes) return unsupported("--memory");
  if (o.limits.cpu_s) return unsupported("--cpu");
  if (o.limits.pids) return unsupported("--pids");
  if (o.ask.ask) return unsupported("--ask");
  if (!o.ask.socket_path.empty()) return unsupported("--ask-socket");
  if (!o.ask.save_path.empty()) return unsupported("--ask-save");
  if (o.preload.value_or(false)) return unsupported("--preload");
  if (o.fast_path) return unsupported("--fast-path");
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

  seccomp::FilterOptions fo;
  auto prog = seccomp::build_filter(decode::syscall_table(), fo);
  if (!prog) return guardian_failure("guardian: " + prog.error().message);
  struct sock_fprog fprog = prog.value().fprog();

  ContinueDecider decider;
  Supervisor sup(decider, nullptr);
  launch::LaunchSpec spec;
  spec.path = cmd.path;
  spec.argv = opts.command;
  spec.envp = std::move(envp);
  spec.filter = &fprog;
  auto status = sup.run(std::move(spec));
  if (!status) {
    std::string msg = "guardian: " + status.error().message;
    if (opts.backend == Backend::auto_ && status.error().code == EBUSY)
      msg += "; the ptrace backend is not available yet";
    return guardian_failure(msg);
  }
  return exit_status_of(status.value());
}

}  // namespace guardian::session
