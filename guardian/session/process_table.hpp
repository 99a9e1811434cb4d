// The session's processes and threads as the tracer sees them; answers decode::SessionView.
#pragma once

#include <functional>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "decode/handler.hpp"

namespace guardian::session {

class ProcessTable final : public decode::SessionView {
 public:
  struct Thread {
    pid_t tgid = 0;
    pid_t ppid = 0;  // of the process (leader's view)
    std::uint64_t serial = 0;  // distinct for every thread added (TID reuse shows)
  };

  // Known to the tracer, or (once a process was handed over to a tracer of the session) a
  // descendant of one that is: a handed-over process's children are reported to its new
  // tracer, not to us, but they carry the session's filter all the same.
  bool in_session(pid_t pid) const override;
  // Tracked by the tracer (exact: no lineage walk).
  bool known(pid_t pid) const { return threads_.count(pid) != 0; }
  // Turns on the lineage walk of in_session (called at the first hand-over).
  void set_lineage_fallback() { lineage_ = true; }
  // Execs checked at PTRACE_EVENT_EXEC: `traced` tells (set at the first hand-over).
  bool exec_verified(pid_t tid) const override { return !traced_ || traced_(tid); }
  void set_exec_verified(std::function<bool(pid_t)> traced) { traced_ = std::move(traced); }
  pid_t tgid_of(pid_t tid) const override;
  pid_t ppid_of(pid_t pid) const override;
  std::string exe_of(pid_t pid) const override;
  std::uint64_t serial_of(pid_t tid) const override;
  // The descriptor table of `tid` is used by no other task: the tracer saw its process
  // being made (confirm) without CLONE_FILES, no CLONE_FILES clone of it since
  // (mark_shared; CLONE_FS marks it too: its cwd and root are then another's as well), none of its threads was handed to another tracer, and it has exactly one
  // thread. Anything unknown answers false.
  bool fd_table_private(pid_t tid) const override;
  // See decode::SessionView::memory_private: one thread, an exec since it was made (the
  // tracer's new_image), no clone(CLONE_VM) process made since (mark_vm_shared), no vfork
  // child running in it (borrow_vm), not foreign.
  bool memory_private(pid_t tid) const override;
  // See decode::SessionView: memory_private, no memory writer noted, no hand-over (the
  // lineage walk is on: some tasks may then be made without our seeing them).
  bool memory_quiet(pid_t tid) const override {
    return !memory_writer_ && !lineage_ && memory_private(tid);
  }
  // Every task of the session is in the table (each is added at its creator's fork/clone
  // event or its own first stop, before it runs a user instruction, and removed when
  // reaped): one entry is `tid` alone.
  bool sole_task(pid_t tid) const override { return threads_.size() == 1 && memory_quiet(tid); }
  // memory_quiet and fd_table_private (which also answers false for a process sharing its
  // cwd and root with another, CLONE_FS): nothing but a rename, link or symlink made for
  // another task can change what `tid`'s path names while it waits (decode::SessionView).
  // Only with a way to wait for such opens (set_settle).
  bool walk_private(pid_t tid) const override {
    return settle_ && memory_quiet(tid) && fd_table_private(tid);
  }
  // Opens answered CONTINUE whose walk may still run (see decode::SessionView): added by
  // the handler, dropped when the thread is seen again (its next notification, any wait
  // status of it) or settled by settle_walks.
  void walk_continued(pid_t tid) override { walks_.insert(tid); }
  void task_seen(pid_t tid) override {
    if (!walks_.empty()) walks_.erase(tid);
  }
  void settle_walks(pid_t self) override;
  bool walks_pending() const override { return !walks_.empty(); }
  // How settle_walks waits for the others (the tracer's Tracer::settle): it returns once
  // none of the threads given can still be inside that open.
  void set_settle(std::function<void(const std::vector<pid_t>&)> settle) {
    settle_ = std::move(settle);
  }
  std::size_t walks_in_flight() const { return walks_.size(); }
  void note_memory_writer() override { memory_writer_ = true; }
  // Process `tgid` made a process that runs in its memory (clone with CLONE_VM and
  // without CLONE_VFORK, which would stop it until the child execs or exits): not private
  // until its next exec.
  // (A process that runs in another's memory, a vfork child before its exec: see
  // borrow_vm, marks that one too.)
  void mark_vm_shared(pid_t tgid);
  // Process `child` was made by `parent` with CLONE_VM (vfork, posix_spawn) and runs in the
  // parent's memory until it execs or ends: the parent's memory is not private meanwhile
  // (a vfork parent can go on while the child runs: when the vfork child's own vfork
  // parent is killed), and what the child makes that shares its memory (a thread, a
  // clone(CLONE_VM) process) shares the parent's until the parent's next exec. A parent
  // that borrows too lends its own lender's memory.
  void borrow_vm(pid_t child, pid_t parent);
  // A thread was added to process `tgid`: when that process borrows memory (borrow_vm), the
  // lender's memory has another task in it.
  void thread_made(pid_t tgid);
  // The tracer read the flags of the call that made process `tgid` (at its parent's
  // fork/clone event): it got a copy of the table, not a share.
  void confirm(pid_t tgid);
  // Process `tgid` shares its descriptor table or its cwd and root with another process
  // (clone with CLONE_FILES or CLONE_FS, either side), or tasks of it may be created without our seeing them (a
  // thread handed to another tracer): never private again.
  void mark_shared(pid_t tgid);
  // A number that changes whenever the memory `tid`'s process runs in may have been
  // replaced: a new process gets a fresh one and so does each exec (new_image, called by
  // the tracer at the exec stop, before the process runs again). 0 when the tracer does not
  // see every exec of the process (a thread of it was handed to another tracer:
  // mark_foreign) or the thread is unknown. What was read through a /proc/PID/mem
  // descriptor opened under one number is the process's memory while the number holds.
  // (Seam for seccomp::Listener's memory descriptors.)
  std::uint64_t image_of(pid_t tid) const;
  void new_image(pid_t tgid);
  // A thread of `tgid` is handed to another tracer: its execs may no longer reach us.
  // Sticky for the life of the process.
  void mark_foreign(pid_t tgid);

  // Adds a thread (tid == tgid for a new process). exe is inherited by new processes.
  void add(pid_t tid, pid_t tgid, pid_t ppid, const std::string& exe);
  // Removes a thread; when it was the last of its process the process entry goes too.
  void remove(pid_t tid);
  void set_exe(pid_t tgid, std::string exe);
  // After an exec by a non-leader thread, the kernel gives the leader's tid to the execing
  // thread and every other thread of the group is gone.
  void exec_collapse(pid_t tgid);
  bool empty() const { return threads_.empty(); }
  // Threads of process tgid known to the table (0: unknown process).
  int threads_of(pid_t tgid) const;
  std::size_t thread_count() const { return threads_.size(); }
  // The most threads alive at once so far (what pids.max and RLIMIT_NPROC count): the
  // session room reports a pids limit from it when no pids controller counts for it.
  std::size_t peak_threads() const { return peak_threads_; }
  std::vector<pid_t> processes() const override;  // every tgid

 private:
  std::unordered_map<pid_t, Thread> threads_;
  struct Process {
    std::string exe;
    int threads = 0;
    bool confirmed = false;  // its creation's flags were read (fd_table_private)
    bool shared = false;     // sticky: see mark_shared
    bool foreign = false;    // sticky: see mark_foreign
    std::uint64_t image = 0;  // see image_of
    bool execed = false;      // new_image since it was made (memory_private)
    bool vm_shared = false;   // mark_vm_shared since its last exec
    pid_t vm_of = 0;          // borrow_vm: the process whose memory it runs in (0: its own)
    std::uint64_t vm_of_image = 0;  // that process's image then (a reused number is not it)
    int lent = 0;             // processes running in its memory now (borrow_vm)
  };
  Process* lender_of(const Process& p);
  void end_borrow(Process& p);
  std::unordered_map<pid_t, Process> procs_;  // by tgid
  std::size_t peak_threads_ = 0;
  std::uint64_t next_serial_ = 1;
  bool lineage_ = false;
  bool memory_writer_ = false;  // sticky: see note_memory_writer
  std::unordered_set<pid_t> walks_;  // see walk_continued
  std::function<void(const std::vector<pid_t>&)> settle_;
  std::function<bool(pid_t)> traced_;
};

}  // namespace guardian::session
