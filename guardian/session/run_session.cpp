// session::run_session: profile, command, filter, launch, supervision, exit status.
#include "session/run_session.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <system_error>
#include <thread>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "audit/log.hpp"
#include "cli/commands.hpp"
#include "context/channel.hpp"
#include "context/fastpath.hpp"
#include "context/preload.hpp"
#include "decode/syscalls.hpp"
#include "dns/gate.hpp"
#include "dns/names.hpp"
#include "launch/landlock.hpp"
#include "launch/launch.hpp"
#include "policy/engine.hpp"
#include "policy/env.hpp"
#include "policy/glob.hpp"
#include "policy/link_cache.hpp"
#include "policy/loader.hpp"
#include "seccomp/filter.hpp"
#include "session/command.hpp"
#include "session/control.hpp"
#include "session/exec_gap.hpp"
#include "session/handler_decider.hpp"
#include "session/supervisor.hpp"
#include "session/terminal.hpp"

extern char** environ;

namespace guardian::session {

namespace {

// How many seccomp filters this process already runs under (/proc/self/status), counting
// "Seccomp: 2" as one where the kernel does not report Seccomp_filters.
int seccomp_filters_on_us() {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (!f) return 0;
  char line[256];
  int mode = 0, filters = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "Seccomp:", 8) == 0) mode = std::atoi(line + 8);
    if (std::strncmp(line, "Seccomp_filters:", 16) == 0) filters = std::atoi(line + 16);
  }
  std::fclose(f);
  if (filters >= 0) return filters;
  return mode == 2 ? 1 : 0;
}

int guardian_failure(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  return cli::kExitGuardianFailure;
}

std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& kv : env)
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=')
      return kv.substr(name.size() + 1);
  return {};
}

bool env_has(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& kv : env)
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=')
      return true;
  return false;
}

// Gives the calling thread's malloc arena about 1 MiB of memory already mapped and touched,
// left free for what the thread allocates next; returns the block that keeps it so (see
// below) until it is freed. For the envelope thread, which waits for the profile anyway:
// building the envelope (656 KiB of small allocations for the benchmark's profile, twice
// that for `default`) otherwise grew a fresh thread arena a page at a time, one mprotect and
// one page fault per page, on the critical path of the start-up. The chunks stay below the
// mmap threshold (128 KiB), so they come from the arena, one after another from its top;
// the last one stays allocated and keeps the freed run from merging into the top, whose
// trimming would hand the pages back at once. A cache, not a promise: were the allocator to
// place them otherwise, the envelope would only grow its arena as before.
void* warm_thread_heap() {
  constexpr std::size_t kChunk = 64 * 1024, kChunks = 16;
  void* chunks[kChunks + 1];
  for (void*& c : chunks) {
    c = std::malloc(kChunk);
    if (c) std::memset(c, 0, kChunk);
    // The stores must happen: nothing reads them, and the compiler could drop them.
    asm volatile("" : : "r"(c) : "memory");
  }
  for (std::size_t i = 0; i < kChunks; ++i) std::free(chunks[i]);
  return chunks[kChunks];
}

// The command's PATH directories as the kernel resolves them (realpath of each absolute
// entry that exists); the Handler answers ENOENT for names missing right in them.
std::vector<std::string> search_dirs(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  if (!env_has(env, "PATH")) return out;
  std::string path = env_value(env, "PATH");
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string entry = path.substr(start, end - start);
    start = end + 1;
    if (entry.empty() || entry[0] != '/') continue;  // the cwd: not a fixed directory
    char buf[PATH_MAX];
    if (::realpath(entry.c_str(), buf) == nullptr) continue;
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.emplace_back(buf);
  }
  return out;
}

double now_s() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Whether core dumps become files (core_pattern not "|helper"); yes when unknown.
bool core_dumps_to_files() {
  char c = 0;
  int fd = ::open("/proc/sys/kernel/core_pattern", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  bool pipe = ::read(fd, &c, 1) == 1 && c == '|';
  ::close(fd);
  return !pipe;
}

std::string current_dir() {
  char buf[PATH_MAX];
  return getcwd(buf, sizeof buf) ? buf : "";
}

// --fast-path: tells the shims' shared state about each syscall before the Handler lets it
// proceed (a chdir invalidates the current directory they cache).
class FastPathDecider final : public Decider {
 public:
  FastPathDecider(Decider& inner, context::FastPathSession* fast) : inner_(inner), fast_(fast) {}
  decode::Response handle(const decode::Notification& n, decode::Tracee& t) override {
    if (fast_) fast_->before_syscall(n.nr);
    return inner_.handle(n, t);
  }
  bool verify_exec(pid_t tid, pid_t tgid, const std::string& exe) override {
    return inner_.verify_exec(tid, tgid, exe);
  }

 private:
  Decider& inner_;
  context::FastPathSession* fast_;
};

}  // namespace

int exit_status_of(int ws) {
  if (WIFEXITED(ws)) return WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
  return cli::kExitGuardianFailure;
}

int run_session(const RunOptions& opts) {
  if (opts.command.empty()) return guardian_failure("guardian: missing command after '--'");
  const double started = now_s();
  // Before any thread exists (audit writer, ask server): see block_supervisor_signals.
  block_supervisor_signals();
  // Likewise: the descriptor table grown for the shim's channel (context/channel.hpp).
  if (opts.preload.value_or(true)) context::reserve_channel_number();

  // Landlock envelope (landlock room): off with --no-landlock and in complain mode, where
  // it would block what the mode promises to let through.
  std::string ll_off = !opts.landlock                        ? "--no-landlock"
                       : opts.learn_allow_all                    ? "learning"
                       : opts.mode == decode::Mode::complain     ? "complain mode"
                                                                 : "";
  // Computing the envelope (an alias scan of /usr/bin, /etc/alternatives, /etc/ssl/certs:
  // about a thousand readlinks) is half of guardian's start-up CPU; it runs on a thread of
  // its own while the rest is set up, and is waited for before the first use. The thread
  // is started now and waits for its job (the profile, once parsed): starting a thread and
  // its first run took 0.1-0.3 ms that were on the critical path. It only reads the
  // profile, as the code below does until then. (A child forked meanwhile — the listener
  // probe — runs raw syscalls only.) The result comes through a
  // promise, not std::async's future, whose get() also waits for the thread to exit.
  struct EnvelopeJob {
    const policy::Profile* profile = nullptr;
    policy::EnvelopeOptions options;
  };
  std::promise<launch::LandlockSetup> landlock_promise;
  std::future<launch::LandlockSetup> landlock_ready = landlock_promise.get_future();
  std::jthread landlock_thread;
  // Destroyed before landlock_thread: a return before the job is given breaks the promise
  // and the thread ends.
  std::promise<EnvelopeJob> envelope_job;
  if (ll_off.empty()) {
    try {
      landlock_thread = std::jthread([job = envelope_job.get_future(), &landlock_promise]() mutable {
        EnvelopeJob j;
        launch::preload_envelope_cache();  // read while the profile is parsed
        // Its memory too, while it waits (warm_thread_heap); given back when it is done.
        std::unique_ptr<void, decltype(&std::free)> warm(warm_thread_heap(), &std::free);
        try {
          j = job.get();
        } catch (const std::future_error&) {
          return;  // guardian stopped before the profile was ready
        }
        try {
          landlock_promise.set_value(launch::prepare_landlock(*j.profile, j.options, ""));
        } catch (...) {
          landlock_promise.set_exception(std::current_exception());
        }
      });
    } catch (const std::system_error&) {
      // No thread: computed in place once the profile is ready.
    }
  }

  // The profile: every error is located (FILE:LINE:COL) by the loader.
  policy::LoadContext ctx = policy::context_from_environment();
  for (const auto& [name, value] : opts.set_vars) ctx.overrides[name] = value;
  policy::LoadResult loaded = policy::load_profile(opts.profile, ctx);
  if (!loaded.errors.empty() || !loaded.profile) {
    if (loaded.errors.empty()) return guardian_failure("guardian: cannot load profile '" + opts.profile + "'");
    // spec §1: a one-line reason. The first error, located; `profile check` lists them all.
    std::string line = loaded.errors.front().str();
    if (loaded.errors.size() > 1)
      line += " (and " + std::to_string(loaded.errors.size() - 1) + " more: guardian profile check " + opts.profile + ")";
    std::fprintf(stderr, "%s\n", line.c_str());
    return cli::kExitGuardianFailure;
  }
  policy::Profile& profile = *loaded.profile;

  // The environment the command gets (profile `env`).
  std::vector<std::string> envp = policy::filter_environment(profile.env, environ);

  // COMMAND found as execvp would, on the PATH the command will see (else ours): 126/127
  // are decided here, before anything starts.
  // PATH set but empty is not PATH unset: execvp then looks in the current directory only.
  std::string path_var = env_value(envp, "PATH");
  if (path_var.empty() && !env_has(envp, "PATH")) {
    const char* p = std::getenv("PATH");
    path_var = p ? p : kDefaultPath;
  }
  ResolvedCommand cmd = resolve_command(opts.command[0], path_var);
  if (cmd.status != 0) {
    std::fprintf(stderr, "%s\n", cmd.message.c_str());
    return cmd.status;
  }

  // LD_PRELOAD shim (context room): call-site backtraces and host names for the audit log,
  // never enforcement; its library must be readable by the session.
  // --fast-path loads the shim's fast-path build, which decides hooked calls in-process.
  if (opts.fast_path && opts.learn_allow_all)
    return guardian_failure("guardian: --fast-path does not apply to learning");
  auto shim = context::PreloadSession::prepare(opts.preload, profile.deny_errno, envp,
                                               opts.fast_path);
  if (!shim) return guardian_failure("guardian: " + shim.error().message);
  if (shim.value().active()) shim.value().allow_library(profile);
  // guardian's own cache of alias scans (policy/link_cache.hpp) is the supervisor's to
  // write, never the session's, even where the profile lets it write ~/.cache (pip's cache):
  // a forged one would make later sessions' envelopes refuse what their profiles allow.
  if (const std::string& f = policy::LinkCache::user().file(); f.rfind('/') != std::string::npos) {
    policy::PathRule rule;
    rule.pattern = f.substr(0, f.rfind('/')) + "/**";
    rule.resolved = policy::resolve_pattern_prefix(rule.pattern);
    rule.origin.file = "guardian:own-cache";
    rule.origin.pattern = rule.pattern;
    profile.deny_write.push_back(std::move(rule));
  }

  // The audit log (and its rotations) and the files of --ask-socket/--ask-save are the
  // supervisor's to write, never the session's, even where the profile lets it write their
  // directory (default writes ${CWD}, where `-a audit.jsonl` puts the log): a session
  // truncating or forging its own record would hide what it did.
  // guardian's own program likewise (a build in a project directory the session writes):
  // replaced, the user's next `guardian run` would run the session's code unconfined.
  std::string self_exe;
  {
    std::error_code ec;
    self_exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  }
  for (const std::string* own : std::initializer_list<const std::string*>{&opts.audit, &opts.ask.socket_path, &opts.ask.save_path, &self_exe}) {
    if (own->empty() || *own == "-" || (own == &opts.audit && (*own == "syslog" || *own == "journald")))
      continue;
    std::error_code ec;
    std::string abs = std::filesystem::weakly_canonical(std::filesystem::absolute(*own, ec), ec).string();
    if (ec || abs.empty() || abs[0] != '/') abs = (*own)[0] == '/' ? *own : current_dir() + "/" + *own;
    std::string esc;
    for (char ch : abs) {
      if (ch == '*' || ch == '?' || ch == '{' || ch == '}' || ch == '\\') esc.push_back('\\');
      esc.push_back(ch);
    }
    std::vector<std::string> pats{esc};
    if (own != &self_exe) pats.push_back(esc + ".*");  // the log's rotations
    for (const std::string& pat : pats) {
      policy::PathRule rule;
      rule.pattern = pat;
      rule.resolved = policy::resolve_pattern_prefix(rule.pattern);
      rule.origin.file = own == &self_exe ? "guardian:own-program" : "guardian:own-audit";
      rule.origin.pattern = rule.pattern;
      profile.deny_write.push_back(std::move(rule));
    }
  }

  // The profile's own files (the one given to --profile and those it extends) likewise:
  // a project's guardian.yaml lies in the directory its session may write, and a session
  // that widened it would have the user's next `guardian run` grant what it wrote. By the
  // name the loader read (a symlink there could be replaced) and by the file it names.
  for (const std::string& f : profile.files) {
    if (f.empty() || f.rfind("builtin:", 0) == 0 || f == "<text>") continue;
    std::error_code ec;
    std::string given = std::filesystem::absolute(f, ec).lexically_normal().string();
    std::string real = std::filesystem::weakly_canonical(given, ec).string();
    for (const std::string& abs : {given, real}) {
      if (abs.empty() || abs[0] != '/') continue;
      std::string esc;
      for (char ch : abs) {
        if (ch == '*' || ch == '?' || ch == '{' || ch == '}' || ch == '\\') esc.push_back('\\');
        esc.push_back(ch);
      }
      policy::PathRule rule;
      rule.pattern = esc;
      rule.resolved = policy::resolve_pattern_prefix(rule.pattern);
      rule.origin.file = "guardian:own-profile";
      rule.origin.pattern = rule.pattern;
      profile.deny_write.push_back(std::move(rule));
    }
  }

  // The DNS gate (issue 9): only when some rule names a host, since only then must the
  // session's queries be decided name by name (dns/gate.cpp). Resolving needs resolv.conf.
  dns::GateOptions go;
  go.rules = dns::NameRules(profile);
  for (const auto& [kind, pattern] : opts.extra_rules)
    if (kind == "connect") go.rules.add_connect(pattern);
  if (go.rules.any_host_rules() || profile.dns) dns::allow_resolver_config(profile);
  // A blocking TCP connect redirected to the gate is finished by the kernel re-running the
  // tracee's connect(resolver:53), which the Landlock envelope checks: let port 53 in, as
  // `dns: true` does (the gate, not the envelope, decides the names).
  if (go.rules.any_host_rules()) profile.dns = true;

  // The envelope's job: on its thread, or here when there is none (or Landlock is off:
  // then only the kernel's ABI is asked).
  policy::EnvelopeOptions envelope_options = launch::run_envelope_options(cmd.real, opts.extra_rules);
  envelope_options.facts = std::move(loaded.facts);  // the load's readlinks, not made twice
  if (landlock_thread.joinable()) {
    envelope_job.set_value(EnvelopeJob{&profile, std::move(envelope_options)});
  } else {
    try {
      landlock_promise.set_value(launch::prepare_landlock(profile, envelope_options, ll_off));
    } catch (...) {
      landlock_promise.set_exception(std::current_exception());
    }
  }
  // The thread reads `profile`: joined before it goes away, whichever way we leave.
  struct JoinAtExit {
    std::jthread& thread;
    ~JoinAtExit() {
      if (thread.joinable()) thread.join();
    }
  } join_envelope{landlock_thread};

  std::unique_ptr<policy::Engine> engine;
  try {
    engine = std::make_unique<policy::Engine>(profile);
    for (const auto& [kind, pattern] : opts.extra_rules) engine->add_rule(kind, pattern);
  } catch (const std::invalid_argument& e) {
    return guardian_failure(std::string("guardian: ") + e.what());
  }

  // Cooperative fast path (shim room): the shim builds its engine from a snapshot of this
  // one; the supervisor then decides with an engine built the same way, so both name the
  // same rule for the same request.
  std::optional<context::FastPathSession> fast;
  if (opts.fast_path) {
    // The shim may take denials of missing names only where the supervisor's answer is
    // the plain deny errno: enforce mode, on_deny errno, nobody to ask.
    const bool shim_denies = opts.mode == decode::Mode::enforce &&
                             profile.on_deny == policy::OnDeny::errno_ && !opts.ask.any();
    auto f = context::FastPathSession::prepare(*engine, !opts.audit.empty(), shim_denies);
    if (!f) return guardian_failure("guardian: " + f.error().message);
    fast.emplace(std::move(f.value()));
    engine = context::FastPathSession::canonical(*engine);
    fast->inject_env(envp);
  }
  // PWD and OLDPWD: bash (and dash) stat both at every start and let go of what they
  // cannot use (PWD then comes from getcwd, OLDPWD is unset). Where the profile does not let
  // the session look at the directory named (OLDPWD: where the caller's shell was before;
  // PWD: a stale one, left by a caller that changed directory without the shell, such as a
  // test harness's subprocess with cwd=), each bash of the session was a denied stat and a
  // summary line that the native run does not have. Left out of the environment then,
  // which is where bash ends up by itself.
  if (opts.mode == decode::Mode::enforce && !opts.learn_allow_all)
    std::erase_if(envp, [&](const std::string& kv) {
      std::size_t eq;
      if (kv.rfind("PWD=", 0) == 0) eq = 3;
      else if (kv.rfind("OLDPWD=", 0) == 0) eq = 6;
      else return false;
      const std::string dir = kv.substr(eq + 1);
      std::error_code ec;
      const std::string real = dir.empty() || dir[0] != '/' ? std::string()
                                                             : std::filesystem::canonical(dir, ec).string();
      if (real.empty() || ec) return true;
      policy::Request req;
      req.op = policy::Op::stat;
      req.path = real;
      req.lexical_path = dir;
      return engine->decide(req).verdict != policy::Verdict::allow;
    });


  audit::Options ao;
  ao.destination = opts.audit;
  ao.format = opts.audit_format;             // --audit-format (audit room)
  ao.rotate_bytes = opts.audit_rotate_bytes;  // --audit-rotate (audit room)
  ao.decisions_deny_only = profile.audit == policy::AuditLevel::deny;
  auto opened = audit::open_log(ao);
  if (!opened) return guardian_failure("guardian: " + opened.error().message);
  std::unique_ptr<audit::AuditLog> log = shim.value().wrap(std::move(opened).value());
  if (fast) log = fast->wrap(std::move(log));

  // The backend: seccomp user-notify where a listener can be had; ptrace (SECCOMP_RET_TRACE)
  // when asked for, or for auto when the listener is refused (inside another guardian, or
  // a container whose seccomp profile forbids it).
  bool use_ptrace = opts.backend == Backend::ptrace;
  if (opts.backend == Backend::auto_ && launch::probe_user_notify() != 0) use_ptrace = true;

  std::unique_ptr<dns::Gate> gate;
  std::vector<policy::NetAddr> dns_direct;
  if (go.rules.any_host_rules()) {
    go.resolvers = dns::resolvers();
    go.log = log.get();
    go.complain = opts.mode == decode::Mode::complain;
    go.audit_allows = profile.audit != policy::AuditLevel::deny;
    go.deny_errno = profile.deny_errno;
    go.via = use_ptrace ? "ptrace" : "seccomp";
    auto started_gate = dns::Gate::start(std::move(go));
    if (!started_gate) return guardian_failure("guardian: " + started_gate.error().message);
    gate = std::move(started_gate).value();
  } else if (profile.dns) {
    dns_direct = dns::resolvers();
  }

  seccomp::FilterOptions fo;
  fo.metadata_open = engine->metadata_open();
  fo.trace = use_ptrace;
  if (fast) fo.fast_path_token = fast->token();
  fo.dns_gate = gate != nullptr;
  auto prog = seccomp::build_filter(decode::syscall_table(), fo);
  if (!prog) return guardian_failure("guardian: " + prog.error().message);
  struct sock_fprog fprog = prog.value().fprog();

  HandlerDecider decider;
  FastPathDecider fast_decider(decider, fast ? &*fast : nullptr);
  // Declared before the session control: the ask front end unregisters from its loop when
  // it is destroyed, so the supervisor must outlive it.
  Supervisor sup(fast_decider, log.get());
  if (use_ptrace) sup.use_ptrace();
  if (use_ptrace && seccomp_filters_on_us() > 0) {
    // Another filter's answer (an outer guardian's user notification) would come before our
    // SECCOMP_RET_TRACE and we would never see those calls: stop at syscall entry instead.
    std::vector<bool> nrs(1024, false);
    for (const decode::SyscallInfo& s : decode::syscall_table()) {
      if (s.filter != decode::Filter::notify || s.nr < 0 || s.nr >= 1024) continue;
      // Argument-conditioned in the filter (sendto; the process family's prlimit64,
      // scheduling, page moves, descriptor owners): stopped at every entry, the decoder
      // tells the harmless ones apart.
      if (seccomp::filter_owns(s.nr) && s.nr != __NR_sendto && s.family != decode::Family::process) continue;
      if (fo.metadata_open && s.family == decode::Family::file_stat) continue;
      nrs[static_cast<std::size_t>(s.nr)] = true;
    }
    nrs[__NR_sendto] = true;
    // ioctl is in no table (the filter picks its commands: owners, chattr): every one
    // stops, and the decoder lets all but those through.
    nrs[__NR_ioctl] = true;
    sup.use_entry_stops(std::move(nrs));
    std::fputs("guardian: notice: already under a seccomp filter (inside another guardian?): "
               "the ptrace backend stops every system call at its entry so that the outer "
               "filter cannot answer first (slower)\n",
               stderr);
  }

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
  // The PATH directories as the kernel resolves them (a realpath per entry, some forty
  // readlinks) need nothing of the envelope: resolved while its thread may still be at work,
  // not after, on the way to the command's start.
  std::vector<std::string> path_dirs;
  if (!opts.learn_allow_all && opts.mode == decode::Mode::enforce) path_dirs = search_dirs(envp);
  launch::LandlockSetup landlock = landlock_ready.get();
  decode::HandlerOptions ho;
  ho.mode = opts.mode;
  ho.landlock = landlock.active;
  ho.envelope = landlock.active ? &landlock.envelope : nullptr;  // lives as long as the session
  ho.via = use_ptrace ? "ptrace" : "seccomp";
  ho.asker = control.value()->asker();
  ho.gate = gate.get();
  ho.blocker = sup.blocker();
  ho.dns_direct = std::move(dns_direct);
  // Opens whose path nothing can change before the kernel opens it again are CONTINUE'd
  // (decode::HandlerOptions says when); the profile must not change meanwhile (no one to ask).
  ho.continue_stable_reads = opts.mode == decode::Mode::enforce &&
                             !opts.learn_allow_all && !ho.asker && !use_ptrace;
  // Learning and complain mode record every probe as it happened (--from-audit learns
  // from complain mode's log what direct learning would).
  ho.search_dirs = std::move(path_dirs);
  decider.handler = std::make_unique<decode::Handler>(*engine, *log, sup.table(), ho);
  decider.handler->allow_first_exec(cmd.real);

  // Tracing inside the session (strace, gdb, a nested guardian): the traced process's
  // execs are then held by the Landlock envelope instead of our exec check.
  // In complain mode and learning nothing is enforced: exec checks would only log.
  // A handed-over process is no longer ended with us by PTRACE_O_EXITKILL: a keeper ends
  // the session's cgroup if guardian is killed, so enforcing needs a cgroup v2 group too.
  const bool enforcing = !(opts.mode == decode::Mode::complain || opts.learn_allow_all);
  const int cgroup_fd = control.value()->cgroup_dir_fd();
  sup.keep_with_cgroup(cgroup_fd);
  if (enforcing && !landlock.active)
    sup.allow_trace_handover(false, "a traced process's execs are then checked only by the "
                                    "Landlock envelope, which is " + landlock.status);
  else if (enforcing && cgroup_fd < 0)
    sup.allow_trace_handover(false, "a traced process would outlive guardian if guardian were "
                                    "killed, and no cgroup v2 group of the session can end it");
  else
    sup.allow_trace_handover(true, {});
  // Exact only where the envelope executes nothing the profile refuses (checked lazily: a
  // walk of the exec directories, at the first hand-over only).
  if (enforcing)
    sup.check_trace_handover([eng = engine.get(), env = landlock.envelope] {
      return exec_envelope_gap(*eng, env);
    });
  // A core dump is written by the kernel, with no system call to decide, into the dumping
  // process's current directory (any the session may look at); only Landlock checks where.
  // Without it, enforcing: no core files (a hard RLIMIT_CORE of 0, which the session
  // cannot raise). A core_pattern that pipes to a helper writes nothing of the session's.
  if (enforcing && !landlock.active && core_dumps_to_files()) {
    auto inner = sup.before_exec;
    sup.before_exec = [inner](pid_t pid, bool in_cgroup) -> Result<void> {
      if (inner)
        if (auto r = inner(pid, in_cgroup); !r) return r;
      struct rlimit none {0, 0};
      if (::prlimit(pid, RLIMIT_CORE, &none, nullptr) != 0)
        return fail_errno("cannot forbid core dumps", errno);
      return outcome::success();
    };
  }

  // With the envelope the kernel's dump may still land in a directory the profile
  // protects inside a writable tree (a deny or deny_write rule: .git/hooks, a secrets
  // directory), which Landlock cannot tell from its neighbours. So when a traced process
  // is about to get a signal that dumps core, the file the dump would make is decided as a
  // write, and where the profile refuses it the process's RLIMIT_CORE becomes 0 first.
  if (enforcing && landlock.active && core_dumps_to_files()) {
    std::string pattern = "core";
    {
      char buf[256] = {};
      int fd = ::open("/proc/sys/kernel/core_pattern", O_RDONLY | O_CLOEXEC);
      ssize_t n = fd >= 0 ? ::read(fd, buf, sizeof buf - 1) : -1;
      if (fd >= 0) ::close(fd);
      if (n > 0) pattern.assign(buf, static_cast<std::size_t>(n));
      while (!pattern.empty() && pattern.back() == '\n') pattern.pop_back();
    }
    sup.core_guard = [eng = engine.get(), pattern](pid_t tid) {
      // Where the kernel opens it: the pattern's directory (absolute, or from the current
      // directory of the task that dumps), named as the pattern says when it is literal.
      char link[64], buf[PATH_MAX];
      std::snprintf(link, sizeof link, "/proc/%d/cwd", static_cast<int>(tid));
      ssize_t n = ::readlink(link, buf, sizeof buf - 1);
      std::string cwd = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
      std::string dir = cwd, name = pattern;
      if (auto slash = pattern.rfind('/'); slash != std::string::npos) {
        name = pattern.substr(slash + 1);
        dir = pattern[0] == '/' ? pattern.substr(0, slash) : cwd + "/" + pattern.substr(0, slash);
      }
      if (name.empty() || name.find('%') != std::string::npos) name = "core";
      policy::Request req;
      req.category = policy::Category::file;
      req.op = policy::Op::write;
      std::string path = dir + "/" + name;
      req.path = path;
      req.lexical_path = path;
      if (!cwd.empty() && cwd[0] == '/' && eng->decide(req).verdict == policy::Verdict::allow) return;
      struct rlimit none {0, 0};
      ::prlimit(tid, RLIMIT_CORE, &none, nullptr);
    };
  }

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
  // spec §2: the profile's `name` is shown in the audit log.
  if (!profile.name.empty()) ss.extra["profile_name"] = profile.name;
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
  spec.cgroup_fd = control.value()->cgroup_dir_fd();
  if (shim.value().active()) spec.keep_fds.push_back(shim.value().child_fd());
  if (fast)
    for (int fd : fast->child_fds()) spec.keep_fds.push_back(fd);
  // The terminal shared with the user's shell: its settings are put back after the
  // session (session/terminal.cpp).
  TerminalSettings terminal = TerminalSettings::capture();
  auto status = sup.run(std::move(spec));
  terminal.restore();

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
  // The session is over: no query may be recorded after session_end.
  decider.handler.reset();
  gate.reset();
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
  // Records were lost (a full disk, --audit - with standard error closed): the account of
  // the run is incomplete, and that is guardian failing, whatever the command did.
  if (!opts.audit.empty() && !log->error().empty()) {
    std::fprintf(stderr, "guardian: the audit log is incomplete (%s); the command's exit status was %d\n",
                 log->error().c_str(), rc);
    return cli::kExitGuardianFailure;
  }
  // Without --audit, say at once why a tool may have failed.
  if (opts.audit.empty()) {
    std::string summary = log->denial_summary();
    if (!summary.empty()) std::fprintf(stderr, "%s", summary.c_str());
  }
  return rc;
}

}  // namespace guardian::session
