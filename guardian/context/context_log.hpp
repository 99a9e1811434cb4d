// ContextLog: an AuditLog decorator that adds what the LD_PRELOAD shim tells the supervisor
// to decision records: `backtrace` (the call site of a denied libc call, symbolised) and
// `host` (the name a connect's address was looked up as). Both are advisory: nothing here
// changes a decision, and a process without the shim (static, raw syscalls, LD_PRELOAD
// cleared) just gets plain records.
//
// A denial is decided before the shim can report it (the syscall must fail first), so a
// denial from a process that runs the shim (it has the library mapped: looked up in
// /proc/PID/maps at its first such denial, not announced per process) is held for a short window (HOLD, 200 ms by
// default) until its context arrives, then written with `backtrace`; it is written without
// one when the window passes. Held records may therefore come after records that followed
// them in time; `seq` stays gap-free. Documented in guardian-audit(5).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "audit/log.hpp"
#include "base/unique_fd.hpp"
#include "context/symbolise.hpp"
#include "policy/profile.hpp"
#include "preload/protocol.h"

namespace guardian::context {

struct ContextOptions {
  int deny_errno = 13;  // EACCES; the shim reports only failures with this errno
  std::chrono::milliseconds hold{200};
  std::string shim_name = "libguardian-preload.so";  // its frames are dropped from backtraces
};

// Names looked up per process (the shim's getaddrinfo/gethostbyname answers). Advisory:
// a process can claim any name for any address, so this is never a reason to allow.
class HostTable {
 public:
  // Records NAME for each address text ("127.0.0.1", "::1").
  void add(pid_t pid, const std::string& name, const std::vector<std::string>& addrs);
  // The name PID (or else its parent) looked up for ADDR ("1.2.3.4:80", "[::1]:22", or a
  // bare address); "" when none.
  std::string lookup(pid_t pid, pid_t ppid, std::string_view addr) const;
  void forget(pid_t pid);

  // "1.2.3.4:80" -> "1.2.3.4", "[::1]:22" -> "::1", "[::ffff:1.2.3.4]:5" -> "1.2.3.4".
  static std::string address_only(std::string_view addr);

 private:
  std::unordered_map<pid_t, std::unordered_map<std::string, std::string>> by_pid_;
};

// Does a denied syscall (name as in the audit log) belong to what a shim family hooks?
bool family_matches(int family, std::string_view syscall);

class ContextLog final : public audit::AuditLog {
 public:
  // `sock` is the supervisor's end of the shim channel (SOCK_SEQPACKET, SO_PASSCRED set by
  // this constructor so the sender's pid comes from the kernel, not from the message).
  ContextLog(std::unique_ptr<audit::AuditLog> inner, UniqueFd sock, ContextOptions opts);
  ~ContextLog() override;

  void session_start(const audit::SessionStart& s) override;
  void decision(const audit::DecisionRecord& r) override;
  // Forwarded: the supervisor counts unrecorded allows through these (session_end counts).
  bool records_allows() const override { return inner_->records_allows(); }
  void count_allow() override { inner_->count_allow(); }
  void process(const audit::ProcessRecord& p) override;
  void limit(const audit::LimitRecord& l) override;
  void session_end(const audit::SessionEnd& e) override;
  void flush() override;
  std::string denial_summary() const override;
  std::string session_id() const override { return inner_->session_id(); }
  std::string error() const override { return inner_->error(); }

  // For decode::Handler (or anyone filling records): the host PID looked up for ADDR.
  // Drains the channel first, so a lookup sent just before a connect is always seen.
  // For the audit record ONLY: never put it in policy::Request::host, where host-name rules
  // (api.github.com:443) would match it — the process chooses what the shim says, so that
  // would let it connect anywhere by claiming an allowed name. ContextLog already fills
  // DecisionRecord::host itself when it is empty.
  std::string host_for(pid_t pid, pid_t ppid, std::string_view addr);

 private:
  struct Pending {
    audit::DecisionRecord rec;
    std::unique_ptr<policy::RuleOrigin> rule;  // our copy: the record outlives the call
    std::chrono::steady_clock::time_point deadline;
    enum class State : std::uint8_t { waiting, symbolising, ready } state = State::waiting;
  };
  struct Inbound {
    gshim_context msg;
    pid_t pid;  // from SCM_CREDENTIALS
    UniqueFd ack;
  };

  // A matched report whose memory map is read: symbolised off the reader thread, so a slow
  // first lookup (a large libc's DWARF) never delays the ack other processes wait for.
  struct Work {
    Pending* pending;
    std::vector<Mapping> maps;
    std::vector<std::uint64_t> frames;
  };

  void run();
  void symbolise_loop();
  void drain_locked();
  void handle_context(Inbound& in);
  void forward_due_locked(bool all);
  bool should_hold(const audit::DecisionRecord& r) const;
  // Has PID the shim (opts_.shim_name) mapped? Read from /proc/PID/maps once per process
  // image (forgotten at its exec and exit): the shim does not announce itself, which would
  // cost every process a message and this thread a wake-up. The process is stopped in the
  // denied syscall while we ask, so its map is the one it will report from.
  bool carries_shim(pid_t pid) const;
  void stop_thread();

  std::unique_ptr<audit::AuditLog> inner_;
  UniqueFd sock_;
  UniqueFd wake_;  // eventfd: new pending record or stop
  ContextOptions opts_;

  mutable std::mutex mu_;
  std::condition_variable settled_;  // a symbolising record became ready
  std::list<Pending> pending_;
  std::vector<Inbound> inbox_;
  HostTable hosts_;
  std::unordered_set<pid_t> shim_pids_;  // processes that sent us something (or a hello)
  mutable std::unordered_map<pid_t, bool> probed_;  // carries_shim() answers, per image
  bool stop_ = false;
  std::thread thread_;
  std::deque<Work> work_;               // under mu_
  std::condition_variable work_ready_;
  bool work_stop_ = false;              // set after the reader thread is joined
  std::thread symbolise_thread_;
  Symboliser symboliser_;  // symbolise thread only
};

}  // namespace guardian::context
