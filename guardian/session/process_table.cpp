// The session's processes and threads as the tracer sees them.
#include "session/process_table.hpp"

#include <iterator>

namespace guardian::session {

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

void ProcessTable::add(pid_t tid, pid_t tgid, pid_t ppid, const std::string& exe) {
  auto [it, inserted] = threads_.try_emplace(tid, Thread{tgid, ppid});
  if (!inserted) return;
  if (threads_.size() > peak_threads_) peak_threads_ = threads_.size();
  Process& p = procs_[tgid];
  ++p.threads;
  if (p.exe.empty()) p.exe = exe;
}

void ProcessTable::remove(pid_t tid) {
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  pid_t tgid = it->second.tgid;
  threads_.erase(it);
  auto p = procs_.find(tgid);
  if (p != procs_.end() && --p->second.threads <= 0) procs_.erase(p);
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

std::vector<pid_t> ProcessTable::processes() const {
  std::vector<pid_t> out;
  out.reserve(procs_.size());
  for (const auto& [tgid, p] : procs_) out.push_back(tgid);
  return out;
}

}  // namespace guardian::session
