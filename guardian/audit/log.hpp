// AuditLog: the decision log channel (JSON Lines, spec §3). Callers on the supervisor's
// hot path only enqueue; a writer thread formats, chains and writes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "policy/request.hpp"

namespace guardian::audit {

// How `guardian run` / `learn` options map here (audit/options.hpp fills this from a
// Boost.Program_options table; use it rather than parsing these by hand):
//   -a, --audit PATH|-|syslog|journald  -> destination ("./syslog" for a file of that name)
//   --audit-format jsonl|ocsf           -> format
//   --audit-rotate SIZE (10M, 1GiB...)  -> rotate_bytes (file destinations only)
//   profile `audit: {decisions: deny}`  -> decisions_deny_only (set by the caller after loading)
struct Options {
  std::string destination;  // "" = none (denial summary only), "-" = stderr, else a path / "syslog" / "journald"
  std::string format = "jsonl";  // "jsonl" or "ocsf"
  bool decisions_deny_only = false;  // profile audit.decisions: deny
  std::uint64_t rotate_bytes = 0;  // 0 = no rotation
  std::string socket_path;  // syslog/journald socket instead of /dev/log or the journal's (tests)
  std::size_t queue_limit = 1 << 16;  // records waiting for the writer before producers wait
};

struct SessionStart {
  std::vector<std::string> argv;
  std::string cwd;
  std::string profile;         // path or built-in name
  std::string profile_sha256;
  std::string mode;            // "enforce" | "complain"
  std::string backend;         // "seccomp" | "ptrace"
  std::uint32_t uid = 0;
  std::map<std::string, std::string> extra;  // e.g. landlock ABI, cgroup; rendered as JSON strings
};

struct DecisionRecord {
  pid_t pid = 0, tid = 0, ppid = 0;
  std::string exe;
  std::string syscall;
  policy::Category category = policy::Category::file;
  policy::Op op = policy::Op::read;
  std::string path, raw_path;  // file/exec
  std::string addr;            // network, as text ("1.2.3.4:80", "[::1]:22", "unix:/p", "unix:@n")
  std::string host;
  policy::Verdict decision = policy::Verdict::deny;
  const policy::RuleOrigin* rule = nullptr;  // copied by the log before the call returns
  int err = 0;
  std::string tip;
  std::vector<std::string> argv;       // exec
  std::vector<std::string> backtrace;  // symbolised frames
  std::string via = "seccomp";         // bpf | seccomp | ptrace | preload
  // Counted in the stderr summary of denials (false: another process's /proc entry hidden
  // from a /proc walker such as ps, which did not fail for it).
  bool summarise = true;
  // An open of a directory for reading (O_DIRECTORY: opendir, os.listdir, ls): the summary
  // says "list", which tells a refused listing from a refused file. Not in the log (op: read).
  bool listing = false;
};

struct ProcessRecord {
  pid_t pid = 0, ppid = 0;
  std::string what;  // spawn | exec | exit
  std::string exe;
  std::vector<std::string> argv;
  std::optional<int> status;  // exit: exit code, or 128+signal
};

struct LimitRecord {
  std::string which;  // wall | cpu | memory | pids
  std::string value;
};

struct SessionEnd {
  int exit_status = 0;
  std::optional<int> signal;
  double duration_s = 0;
  std::map<std::string, std::uint64_t> usage;  // maxrss_kb, utime_s... (numbers)
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  virtual void session_start(const SessionStart&) = 0;
  virtual void decision(const DecisionRecord&) = 0;
  // Would decision() of an allow write a record? false when there is no destination or the
  // profile says `audit: {decisions: deny}`: the supervisor then skips building the record
  // and calls count_allow() so that session_end's counts stay right. (Seam extension.)
  virtual bool records_allows() const { return true; }
  virtual void count_allow() {}
  virtual void process(const ProcessRecord&) = 0;
  virtual void limit(const LimitRecord&) = 0;
  // Writes session_end, drains the queue, flushes and closes; blocks until done.
  virtual void session_end(const SessionEnd&) = 0;
  // Blocks until everything enqueued so far is written and flushed (e.g. on SIGTERM).
  virtual void flush() = 0;
  // Short human summary of denials for stderr (used when no destination is given).
  virtual std::string denial_summary() const = 0;
  // The session id written in every record (a UUID).
  virtual std::string session_id() const { return {}; }
  // The first write/sync failure of the sink ("" while healthy): records after it may be
  // missing, so callers may want to say so or stop.
  virtual std::string error() const { return {}; }
};

// Opens the configured sinks. The session id is generated here. Thread-safe: any thread
// may call the AuditLog's methods; they are not async-signal-safe (call flush() from the
// loop that reads the signalfd, not from a signal handler).
Result<std::unique_ptr<AuditLog>> open_log(const Options& opts);

}  // namespace guardian::audit
