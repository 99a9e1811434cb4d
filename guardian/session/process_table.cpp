// The session's processes and threads as the tracer sees them.
#include "session/process_table.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

namespace guardian::session {

namespace {

// PPid of a task from /proc/PID/status; 0 when it is gone.
pid_t parent_of(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE* f = std::fopen(path, "re");
  if (!f) return 0;
  char line[256];
  pid_t ppid = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "PPid:", 5) == 0) {
      ppid = static_cast<pid_t>(std::atoi(line + 5));
      break;
    }
  std::fclose(f);
  return ppid;
}

}  // namespace

bool ProcessTable::in_session(pid_t pid) const {
  if (threads_.count(pid)) return true;
  if (pid <= 0) return false;
  if (!lineage_) {
    // A zombie: its exit reached us (and the task left the table) before its parent reaped
    // it. It is still the session's child, and the kernel lets its parent signal it (timeout
    // sends SIGCONT after SIGTERM; kill returns 0). Its pid cannot be reused before that
    // parent, a session process, reaps it, so a parent in the table settles it. Any other
    // task whose parent is known would be in the table itself (the tracer sees every fork).
    pid_t p = parent_of(pid);
    return p > 0 && threads_.count(p) != 0;
  }
  // Only processes of the session have us (the subreaper) or a session process as an
  // ancestor. Bounded: a racing reparent cannot make this loop.
  static const pid_t self = ::getpid();
  pid_t p = parent_of(pid);
  for (int depth = 0; depth < 64 && p > 1; ++depth) {
    if (p == self || threads_.count(p)) return true;
    p = parent_of(p);
  }
  return false;
}

pid_t ProcessTable::tgid_of(pid_t tid) const {
  auto it = threads_.find(tid);
  return it == threads_.end() ? 0 : it->second.tgid;
}

pid_t ProcessTable::ppid_of(pid_t pid) const {
  auto it = threads_.find(pid);
  if (it == threads_.end()) return 0;
  auto leader = threads_.find(it->second.tgid);
  return leader == threads_.end() ? it->second.ppid : leader->second.ppid;
}

std::string ProcessTable::exe_of(pid_t pid) const {
  auto it = procs_.find(tgid_of(pid));
  return it == procs_.end() ? std::string() : it->second.exe;
}

std::uint64_t ProcessTable::serial_of(pid_t tid) const {
  auto it = threads_.find(tid);
  return it == threads_.end() ? 0 : it->second.serial;
}

bool ProcessTable::fd_table_private(pid_t tid) const {
  auto t = threads_.find(tid);
  if (t == threads_.end()) return false;
  auto p = procs_.find(t->second.tgid);
  return p != procs_.end() && p->second.threads == 1 && p->second.confirmed &&
         !p->second.shared;
}

bool ProcessTable::memory_private(pid_t tid) const {
  auto t = threads_.find(tid);
  if (t == threads_.end()) return false;
  auto p = procs_.find(t->second.tgid);
  return p != procs_.end() && p->second.threads == 1 && p->second.execed && !p->second.vm_shared &&
         !p->second.foreign && p->second.lent == 0;
}

ProcessTable::Process* ProcessTable::lender_of(const Process& p) {
  if (p.vm_of == 0) return nullptr;
  auto l = procs_.find(p.vm_of);
  // Gone, or its number taken by another process (or image) since: not that memory.
  return l == procs_.end() || l->second.image != p.vm_of_image ? nullptr : &l->second;
}

void ProcessTable::end_borrow(Process& p) {
  if (Process* l = lender_of(p); l && l->lent > 0) --l->lent;
  p.vm_of = 0;
  p.vm_of_image = 0;
}

void ProcessTable::mark_vm_shared(pid_t tgid) {
  auto p = procs_.find(tgid);
  if (p == procs_.end()) return;
  p->second.vm_shared = true;
  // A vfork child's sharers share its lender's memory (borrow_vm).
  if (Process* l = lender_of(p->second)) l->vm_shared = true;
}

void ProcessTable::borrow_vm(pid_t child, pid_t parent) {
  auto c = procs_.find(child);
  auto p = procs_.find(parent);
  if (c == procs_.end() || p == procs_.end() || child == parent || c->second.vm_of != 0) return;
  // The memory's owner: the parent's own lender when the parent borrows too.
  Process* root = lender_of(p->second);
  pid_t root_pid = root ? p->second.vm_of : parent;
  if (!root) root = &p->second;
  c->second.vm_of = root_pid;
  c->second.vm_of_image = root->image;
  ++root->lent;
  // It may have made tasks in that memory already (its first stop came before this event,
  // and it ran meanwhile): they may outlive it.
  if (c->second.vm_shared || c->second.threads > 1 || c->second.lent > 0) root->vm_shared = true;
}

void ProcessTable::thread_made(pid_t tgid) {
  auto p = procs_.find(tgid);
  if (p == procs_.end()) return;
  // A thread of a vfork child runs in the lender's memory (its own thread count does not
  // show there) and may outlive the child's vfork.
  if (Process* l = lender_of(p->second)) l->vm_shared = true;
}

void ProcessTable::settle_walks(pid_t self) {
  walks_.erase(self);
  if (walks_.empty()) return;
  std::vector<pid_t> tids(walks_.begin(), walks_.end());
  settle_(tids);  // set: walk_continued follows walk_private only
  walks_.clear();
}

void ProcessTable::confirm(pid_t tgid) {
  auto p = procs_.find(tgid);
  if (p != procs_.end()) p->second.confirmed = true;
}

void ProcessTable::mark_shared(pid_t tgid) {
  auto p = procs_.find(tgid);
  if (p != procs_.end()) p->second.shared = true;
}

std::uint64_t ProcessTable::image_of(pid_t tid) const {
  auto t = threads_.find(tid);
  if (t == threads_.end()) return 0;
  auto p = procs_.find(t->second.tgid);
  return p == procs_.end() || p->second.foreign ? 0 : p->second.image;
}

void ProcessTable::new_image(pid_t tgid) {
  auto p = procs_.find(tgid);
  if (p == procs_.end()) return;
  p->second.image = next_serial_++;
  p->second.execed = true;  // a fresh address space, this process's alone
  p->second.vm_shared = false;
  p->second.lent = 0;  // its borrowers run in the old one
  end_borrow(p->second);
}

void ProcessTable::mark_foreign(pid_t tgid) {
  auto p = procs_.find(tgid);
  if (p != procs_.end()) p->second.foreign = true;
}

void ProcessTable::add(pid_t tid, pid_t tgid, pid_t ppid, const std::string& exe) {
  auto [it, inserted] = threads_.try_emplace(tid, Thread{tgid, ppid, next_serial_});
  if (!inserted) return;
  ++next_serial_;
  if (threads_.size() > peak_threads_) peak_threads_ = threads_.size();
  Process& p = procs_[tgid];
  // A process entry lives as long as it has threads: a first thread is a new process, or
  // the old number of a reused PID would survive.
  if (p.threads++ == 0) p.image = next_serial_++;
  if (p.exe.empty()) p.exe = exe;
}

void ProcessTable::remove(pid_t tid) {
  walks_.erase(tid);
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  pid_t tgid = it->second.tgid;
  threads_.erase(it);
  auto p = procs_.find(tgid);
  if (p != procs_.end() && --p->second.threads <= 0) {
    end_borrow(p->second);
    procs_.erase(p);
  }
}

void ProcessTable::set_exe(pid_t tgid, std::string exe) { procs_[tgid].exe = std::move(exe); }

void ProcessTable::exec_collapse(pid_t tgid) {
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->second.tgid == tgid && it->first != tgid) {
      it = threads_.erase(it);
      --procs_[tgid].threads;
    } else {
      ++it;
    }
  }
}

int ProcessTable::threads_of(pid_t tgid) const {
  auto it = procs_.find(tgid);
  return it == procs_.end() ? 0 : it->second.threads;
}

std::vector<pid_t> ProcessTable::processes() const {
  std::vector<pid_t> out;
  out.reserve(procs_.size());
  for (const auto& [tgid, p] : procs_) out.push_back(tgid);
  return out;
}

}  // namespace guardian::session
