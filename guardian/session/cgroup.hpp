// SessionCgroup: the control groups that hold a session's processes, so that limits apply to
// the whole tree and the whole tree can be ended at once (cgroup.kill), whatever it forks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace guardian::session {

// Where a control group facility comes from.
enum class CgMech : std::uint8_t { none, v2, v1 };
const char* to_string(CgMech m) noexcept;

// What the session wants from control groups.
struct CgroupRequest {
  bool memory = false;  // a memory limit is to be set
  bool pids = false;    // a process-count limit is to be set
};

// One session's groups: a cgroup v2 leaf (kill, populated, cpu.stat) where the unified
// hierarchy is writable, and memory/pids controllers from v2 or, on hybrid hosts, from v1.
// Guardian itself never joins them (so the v2 leaf has no "internal process" problem).
class SessionCgroup {
 public:
  // Creates `guardian-<pid>` groups below guardian's own groups. Fails (the caller falls
  // back to rlimits) when no hierarchy is writable. `name` overrides the leaf name (tests).
  static Result<std::unique_ptr<SessionCgroup>> create(const CgroupRequest& req,
                                                       const std::string& name = {});
  // Ends every member (SIGKILL), waits briefly for the groups to empty and removes them.
  ~SessionCgroup();
  SessionCgroup(const SessionCgroup&) = delete;
  SessionCgroup& operator=(const SessionCgroup&) = delete;

  CgMech kill_mech() const noexcept { return v2_dir_.valid() ? CgMech::v2 : CgMech::none; }
  CgMech memory_mech() const noexcept { return mem_; }
  CgMech pids_mech() const noexcept { return pids_; }
  CgMech cpu_mech() const noexcept { return v2_dir_.valid() ? CgMech::v2 : cpuacct_; }
  // The v2 group's path (for the audit log), or the first v1 group's.
  const std::string& path() const noexcept { return display_path_; }

  Result<void> set_memory_max(std::uint64_t bytes);
  Result<void> set_pids_max(std::uint32_t n);

  // Descriptors of every cgroup.procs file: the child writes "0" to each before exec to join
  // (async-signal-safe). Close-on-exec, so they never reach the command.
  const std::vector<int>& join_fds() const noexcept { return join_fds_; }
  // The v2 directory, for clone3(CLONE_INTO_CGROUP); -1 without v2.
  int v2_dir_fd() const noexcept { return v2_dir_.get(); }
  // Moves a process into every group (from the parent, before the child is released);
  // with `skip_v2`, not into the v2 group (it was started there by clone3).
  Result<void> add(pid_t pid, bool skip_v2 = false);
  // Sends `sig` to every member; SIGKILL uses cgroup.kill where available (atomic against
  // forks). Returns how many processes were signalled (cgroup.kill counts as 1 if populated).
  int signal_all(int sig);
  // Whether any process is still in the groups.
  bool populated() const;
  // Member pids (v2 group, else the first v1 group).
  std::vector<pid_t> members() const;
  // Total CPU time of the members so far (user + system), microseconds; 0 if unknown.
  std::uint64_t cpu_usage_usec() const;
  // Times the memory limit killed a process (memory.events oom_kill / oom_control oom_kill).
  std::uint64_t oom_kills() const;
  // Times a fork failed at the pids limit (pids.events max).
  std::uint64_t pids_max_hits() const;

 private:
  SessionCgroup() = default;
  void remove_all() noexcept;

  std::string v2_path_;   // absolute directory of the v2 leaf, or ""
  UniqueFd v2_dir_;
  std::string mem_path_;  // directory holding memory.* (v2 leaf or v1 group)
  std::string pids_path_;
  std::string cpuacct_path_;
  std::vector<std::string> v1_paths_;  // v1 groups created (removed at the end)
  CgMech mem_ = CgMech::none, pids_ = CgMech::none, cpuacct_ = CgMech::none;
  std::vector<int> join_fds_;          // owned; closed in the destructor
  std::string display_path_;
  // What enabling v2 controllers changed in guardian's own group, undone at the end.
  std::string undo_parent_, undo_self_leaf_, undo_enabled_;
};

// Reads a whole small file (cgroupfs/procfs); "" on error.
std::string read_small_file(const std::string& path);
// The value after `key ` on its own line in a flat-keyed file ("oom_kill 3"); 0 if absent.
std::uint64_t keyed_value(const std::string& text, const std::string& key);

}  // namespace guardian::session
