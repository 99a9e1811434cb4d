// Session limits: wall time, CPU time, memory, processes and open files for the whole
// supervised tree — enforced by a cgroup where guardian can make one, else by rlimits and the
// supervisor's own tracking — and the sequence that ends the tree (SIGTERM, grace, SIGKILL).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/log.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "policy/profile.hpp"
#include "session/cgroup.hpp"

namespace guardian::session {

// Parses a duration: "90", "1.5s", "500ms", "10m", "2h", "1d" (plain numbers are seconds).
Result<double> parse_duration(std::string_view text);
// Parses a size: "1048576", "512K", "64MiB", "2GiB", "1G", "1.5GB" (K/M/G/T powers of 1024;
// KB/MB/GB/TB powers of 1000; KiB... powers of 1024).
Result<std::uint64_t> parse_size(std::string_view text);
// Parses a process count: a positive integer.
Result<std::uint32_t> parse_count(std::string_view text);
// "10m", "2.5s", "1h30m" style text for messages and limit records.
std::string format_duration(double seconds);
// "64MiB", "2GiB", "1000B".
std::string format_size(std::uint64_t bytes);

// The limits of one session: the profile's, overridden by --timeout/--cpu/--memory/--pids.
struct LimitSettings {
  std::optional<double> wall_s;
  std::optional<double> cpu_s;
  std::optional<std::uint64_t> memory_bytes;
  std::optional<std::uint32_t> pids;
  std::optional<std::uint32_t> nofile;
  double grace_s = 2.0;  // between SIGTERM and SIGKILL when a time limit or SIGTERM ends it
  bool any() const noexcept { return wall_s || cpu_s || memory_bytes || pids || nofile; }
};

// Command-line overrides, as text (parsed by merge_limits so errors name the option).
struct LimitOverrides {
  std::string timeout, cpu, memory, pids;  // "" = not given
};

// The profile's limits overridden by the command line. Bad values: an error naming the option.
Result<LimitSettings> merge_limits(const policy::Limits& profile, const LimitOverrides& cli);

// What ended the command, as far as limits are concerned.
// left_running: the command exited while processes it started still ran (they were asked to
// end); its status stands.
enum class EndCause : std::uint8_t { none, wall, cpu, terminated, left_running };

// Prepared in the parent before launch; applied in the child; watched from the poll loop.
class SessionLimits {
 public:
  // How to signal the whole tree when no cgroup holds it (the supervisor's process table).
  using TreeSignaller = std::function<int(int sig)>;
  // The most tasks the session had alive at once (the supervisor's table), for the pids report
  // when no pids controller counts them.
  using ProcessCounter = std::function<std::size_t()>;

  // Creates the cgroup (unless use_cgroup is false or none can be made) and precomputes
  // the child's rlimits. Never fails for want of a cgroup: it falls back and says so.
  static Result<std::unique_ptr<SessionLimits>> prepare(const LimitSettings& settings,
                                                       bool use_cgroup = true);
  ~SessionLimits();

  // Child side, between fork and exec: joins the cgroups and sets the rlimits.
  // Async-signal-safe (write and setrlimit on precomputed data only). Returns 0 or an errno.
  int apply_in_child() const noexcept;
  // Parent side alternative to joining in the child (call before the child runs the command).
  // `in_cgroup`: already started in the v2 group (clone3): only the v1 groups are joined.
  Result<void> attach(pid_t pid, bool in_cgroup = false);
  // Parent side alternative to the child's setrlimit: prlimit on the stopped child.
  Result<void> apply_rlimits_to(pid_t pid);
  // For clone3(CLONE_INTO_CGROUP): the v2 cgroup directory, or -1.
  int cgroup_dir_fd() const noexcept;
  SessionCgroup* cgroup() noexcept { return cg_.get(); }

  // Which mechanism enforces each limit, for session_start's extra fields
  // ("limits": "wall=timer cpu=cgroup2 memory=cgroup1 pids=cgroup1 kill=cgroup2").
  std::map<std::string, std::string> audit_fields() const;
  // One line per limit enforced with a caveat (rlimits are per process or per uid).
  std::vector<std::string> caveats() const;

  void set_tree_signaller(TreeSignaller f) { signaller_ = std::move(f); }
  void set_process_counter(ProcessCounter f) { counter_ = std::move(f); }
  // Where limit records and messages go (both optional).
  void set_audit(audit::AuditLog* log) { log_ = log; }

  // Starts the clocks (call right after the child was released).
  void start();
  // A timerfd for the poll loop (POLLIN): limits and the grace period after terminate().
  int timer_fd() const noexcept { return timer_.get(); }
  // True while the timer is armed (for EventLoop::add's `active`: a disarmed timer never
  // becomes readable, so it needs no place in each round's poll).
  const bool* timer_armed() const noexcept { return &armed_; }
  // Call when timer_fd() is readable: checks the clocks and counters, fires limits
  // (limit record + stderr line), signals the tree, and re-arms the timer.
  void on_timer();
  // Ends the session from outside (guardian got SIGTERM / SIGHUP): SIGTERM to the tree,
  // SIGKILL after the grace period (driven by on_timer).
  void terminate();
  // The command exited and processes it started still run (a daemon, a server it left):
  // SIGTERM and SIGCONT to them, SIGKILL after the grace period, as terminate() does, unless
  // an end is already under way. Returns the seconds left before that SIGKILL (0: sent).
  double command_exited();
  // The command's top process ended with `status` (exit code, or 128+signal): checks the
  // counters one last time, reports limits that ended it, and maps the status
  // (124 after a wall or CPU limit). Idempotent.
  int finish(int status);
  // Kills every process left in the session (cgroup.kill plus the tree signaller), waiting
  // up to `timeout` for them to go. Returns true when none is left.
  bool kill_all(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

  EndCause cause() const noexcept { return cause_; }
  const LimitSettings& settings() const noexcept { return s_; }

 private:
  SessionLimits() = default;
  void fire(const std::string& which, const std::string& value, const std::string& msg);
  int signal_tree(int sig);
  void begin_stop(EndCause why);
  void arm();
  void check_counters();
  void check_pids();
  void check_memory();
  void check_cpu();

  LimitSettings s_;
  std::unique_ptr<SessionCgroup> cg_;
  struct ChildRlimit {
    int resource;
    struct rlimit value;
  };
  std::vector<ChildRlimit> rlimits_;
  std::map<std::string, std::string> mech_;
  UniqueFd timer_;
  bool armed_ = false;  // timer_ set to expire (arm()); false once finish() disarmed it
  audit::AuditLog* log_ = nullptr;
  TreeSignaller signaller_;
  ProcessCounter counter_;
  std::chrono::steady_clock::time_point started_{};
  std::optional<std::chrono::steady_clock::time_point> kill_at_;
  EndCause cause_ = EndCause::none;
  bool pids_fired_ = false, memory_fired_ = false, cpu_fired_ = false, finished_ = false;
  int final_status_ = 0;
};

}  // namespace guardian::session
