// Fakes for decode unit tests: a Tracee that is this very process, a prefix-rule Decider,
// an AuditLog that keeps records, a SessionView of this process only.
#pragma once

#include <fcntl.h>
#include <linux/audit.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "audit/log.hpp"
#include "decode/handler.hpp"

namespace fake {

using namespace guardian;
using namespace guardian::decode;

// The "tracee" is the test process: memory reads are process_vm_readv of itself (as the
// real tracee's: the decoder may read past an object up to the end of its page, as argv
// blocks do, which a memcpy would turn into an out-of-bounds read), take_fd is dup.
struct SelfTracee : Tracee {
  bool inject = true;
  bool valid = true;
  pid_t tid() const override { return static_cast<pid_t>(::syscall(SYS_gettid)); }
  bool read(std::uint64_t addr, void* buf, std::size_t n) override {
    if (!addr) return false;
    struct iovec local{buf, n}, remote{reinterpret_cast<void*>(addr), n};
    return ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
  }
  bool read_string(std::uint64_t addr, std::string& out, std::size_t max) override {
    if (!addr) return false;
    const char* p = reinterpret_cast<const char*>(addr);
    std::size_t n = strnlen(p, max + 1);
    if (n > max) {
      out.assign(p, n);
      return false;
    }
    out.assign(p, n);
    return true;
  }
  bool write(std::uint64_t addr, const void* buf, std::size_t n) override {
    std::memcpy(reinterpret_cast<void*>(addr), buf, n);
    return true;
  }
  bool still_valid() override { return valid; }
  bool proves = false;  // answer_proves_valid()
  bool answer_proves_valid() const override { return proves; }
  int takes = 0;  // take_fd calls
  Result<UniqueFd> take_fd(int remote_fd) override {
    ++takes;
    int fd = ::fcntl(remote_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return fail_errno("dup", errno);
    return UniqueFd(fd);
  }
  bool can_inject_fd() const override { return inject; }
  // backing(): what the path buffers are said to lie in.
  Backing buffer = Backing::anonymous;
  std::string buffer_file;
  Backing backing(std::uint64_t, std::size_t, std::string& file) override {
    file = buffer_file;
    return buffer;
  }
};

// Allows by path prefix ("DIR/" covers DIR and below), like a tiny profile.
struct PrefixDecider : Decider {
  std::vector<std::string> read, write, exec, connect, bind;
  bool audit_all = true;
  policy::OnDeny ondeny = policy::OnDeny::errno_;
  static bool under(std::string_view p, const std::vector<std::string>& v) {
    for (auto& pre : v) {
      if (p == pre) return true;
      if (p.size() > pre.size() && p.substr(0, pre.size()) == pre && p[pre.size()] == '/')
        return true;
    }
    return false;
  }
  static bool ancestor(std::string_view p, const std::vector<std::string>& v) {
    for (auto& pre : v)
      if (p == "/" || (pre.size() > p.size() && pre.compare(0, p.size(), p) == 0 && pre[p.size()] == '/'))
        return true;
    return false;
  }
  bool match(const policy::Request& r, const std::vector<std::string>& v) const {
    return under(r.path, v) || (r.lexical_trusted && under(r.lexical_path, v));
  }
  policy::Decision decide(const policy::Request& r) const override {
    policy::Decision d;
    bool ok = false;
    using policy::Op;
    switch (r.op) {
      case Op::write: ok = match(r, write); break;
      case Op::read: ok = match(r, read) || match(r, write); break;
      case Op::stat:
        ok = match(r, read) || match(r, write) || ancestor(r.path, read) || ancestor(r.path, write);
        break;
      case Op::exec: ok = match(r, exec); break;
      case Op::connect:
      case Op::bind: {
        std::string a = r.addr.kind == policy::NetAddr::Kind::ip
                            ? std::to_string(r.addr.port)
                            : std::string(r.addr.unix_name);
        for (auto& x : r.op == Op::connect ? connect : bind) ok |= x == a;
        break;
      }
      default: break;
    }
    d.verdict = ok ? policy::Verdict::allow : policy::Verdict::deny;
    d.err = ok ? 0 : EACCES;
    return d;
  }
  std::string tip(const policy::Request& r) const override {
    return "files: {read: [\"" + std::string(r.path) + "\"]}";
  }
  policy::OnDeny on_deny() const override { return ondeny; }
  int deny_errno() const override { return EACCES; }
  bool audit_allows() const override { return audit_all; }
};

struct Log : audit::AuditLog {
  std::vector<audit::DecisionRecord> recs;
  void session_start(const audit::SessionStart&) override {}
  void decision(const audit::DecisionRecord& r) override { recs.push_back(r); }
  void process(const audit::ProcessRecord&) override {}
  void limit(const audit::LimitRecord&) override {}
  void session_end(const audit::SessionEnd&) override {}
  void flush() override {}
  std::string denial_summary() const override { return {}; }
  const audit::DecisionRecord* last_deny() const {
    for (auto it = recs.rbegin(); it != recs.rend(); ++it)
      if (it->decision != policy::Verdict::allow) return &*it;
    return nullptr;
  }
};

struct Session : SessionView {
  std::vector<pid_t> members{::getpid()};
  bool in_session(pid_t pid) const override {
    for (auto m : members)
      if (m == pid) return true;
    return pid == static_cast<pid_t>(::syscall(SYS_gettid));
  }
  pid_t tgid_of(pid_t) const override { return ::getpid(); }
  pid_t ppid_of(pid_t) const override { return ::getppid(); }
  std::string exe_of(pid_t) const override { return "/test"; }
  bool private_fds = false;  // fd_table_private()
  bool fd_table_private(pid_t) const override { return private_fds; }
  bool private_mem = false;  // memory_private()
  bool memory_private(pid_t) const override { return private_mem; }
  bool writer_noted = false;  // note_memory_writer() was called
  bool memory_quiet(pid_t t) const override { return !writer_noted && memory_private(t); }
  bool alone = false;  // sole_task(), with memory_quiet()
  bool sole_task(pid_t t) const override { return alone && memory_quiet(t); }
  void note_memory_writer() override { writer_noted = true; }
  bool walks = false;  // walk_private(), with memory_quiet() and fd_table_private()
  bool walk_private(pid_t t) const override { return walks && memory_quiet(t) && fd_table_private(t); }
  std::vector<pid_t> continued;  // walk_continued() calls, dropped by task_seen()
  void walk_continued(pid_t t) override { continued.push_back(t); }
  void task_seen(pid_t t) override { std::erase(continued, t); }
  bool walks_pending() const override { return !continued.empty(); }
  int settles = 0;  // settle_walks() calls that found a walk of another thread
  void settle_walks(pid_t self) override {
    std::erase(continued, self);
    if (!continued.empty()) ++settles;
    continued.clear();
  }
};

inline Notification notif(int nr, std::initializer_list<std::uint64_t> args) {
  Notification n;
  n.id = 1;
  n.tid = static_cast<pid_t>(::syscall(SYS_gettid));
  n.nr = nr;
  n.arch = AUDIT_ARCH_X86_64;
  std::size_t i = 0;
  for (auto a : args) n.args[i++] = a;
  return n;
}
inline std::uint64_t P(const char* s) { return reinterpret_cast<std::uint64_t>(s); }
inline std::uint64_t P(const std::string& s) { return reinterpret_cast<std::uint64_t>(s.c_str()); }

// A fresh directory under TMPDIR, removed (recursively) at the end.
struct TempDir {
  std::string path;
  TempDir() {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/guardian-decode-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    char real[4096];
    path = ::realpath(p, real);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string operator/(const std::string& s) const { return path + "/" + s; }
};

}  // namespace fake
