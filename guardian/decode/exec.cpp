// Exec decoder: execve/execveat decided on the resolved program and on every `#!`
// interpreter it names. Exec cannot be emulated: the kernel runs it (CONTINUE) and the
// backend calls verify_exec at the exec event with what was really loaded. Also the opens
// of the dynamic loader run as a program, which loads its program itself.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string_view>

#include "base/procfs.hpp"
#include "decode/impl.hpp"

namespace guardian::decode {

using policy::Category;
using policy::Op;

namespace {

constexpr int kMaxArgv = 256;        // recorded in the audit log (the rest elided)
constexpr int kMaxInterpDepth = 4;   // the kernel's BINPRM_MAX_RECURSION
constexpr std::size_t kArgvBlock = 64;  // argv pointers read at once
constexpr std::uint64_t kPage = 4096;   // x86_64

constexpr std::size_t kMaxShebangs = 512;  // files remembered (shebang_of)

// The interpreter named by a `#!` first line, or "" when `fd` is not a script.
std::string shebang(int fd) {
  char name[16];
  // Reading needs no read permission from the tracee's point of view: the kernel reads
  // scripts itself. We run with its uid; if we cannot read, we treat it as a binary and
  // verify_exec catches an interpreter we did not decide.
  int rfd = ::openat(procfs::self_fd_dir(), procfs::fd_name(fd, name),
                     O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (rfd < 0) return {};
  char buf[256];
  ssize_t n = ::pread(rfd, buf, sizeof buf, 0);
  ::close(rfd);
  if (n < 3 || buf[0] != '#' || buf[1] != '!') return {};
  std::string_view line(buf + 2, static_cast<std::size_t>(n - 2));
  line = line.substr(0, line.find('\n'));
  std::size_t i = line.find_first_not_of(" \t");
  if (i == std::string_view::npos) return {};
  line.remove_prefix(i);
  return std::string(line.substr(0, line.find_first_of(" \t")));
}

bool same_time(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

// shebang() of the regular file `fd` whose fstat is `st`, remembered by the file's identity
// and change times: a shell loop or a build execs the same few programs thousands of times,
// and each look costs an open through /proc, a read and a close. Why a remembered answer is
// safe: it is only the expectation that verify_exec checks at the exec event. Were the file
// rewritten without its size, mtime and ctime moving (the kernel gives a changed inode a
// fine-grained ctime once we have stat'ed it), the kernel would load an interpreter other
// than the expected one, or the file itself, and the process is killed there: the same
// outcome as a rewrite just after a fresh read, which no reading can rule out.
std::string Handler::Impl::shebang_of(int fd, const struct stat& st) {
  std::uint64_t key = static_cast<std::uint64_t>(st.st_ino) * 0x9E3779B97F4A7C15ull ^
                      static_cast<std::uint64_t>(st.st_dev);
  auto it = shebangs.find(key);
  if (it != shebangs.end()) {
    const ShebangEntry& e = it->second;
    if (e.dev == st.st_dev && e.ino == st.st_ino && e.size == st.st_size &&
        same_time(e.mtime, st.st_mtim) && same_time(e.ctime, st.st_ctim))
      return e.interp;
  }
  std::string interp = shebang(fd);
  if (shebangs.size() >= kMaxShebangs) shebangs.clear();
  shebangs[key] = ShebangEntry{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, interp};
  return interp;
}

// Reads the exec call's argv into `argv` (for the decision record); stops quietly at the
// first unreadable pointer or string.
void Handler::Impl::read_argv(Ctx& c) {
  argv.clear();
  std::uint64_t argv_addr = c.arg(c.n.nr == SYS_execveat ? 2 : 1);
  // The pointers are read a block at a time, never across a page boundary (the next page
  // may be unmapped after the terminating NULL): one read instead of one per argument.
  std::uint64_t ptrs[kArgvBlock];
  for (int i = 0; argv_addr && i < kMaxArgv;) {
    std::uint64_t at = argv_addr + 8 * static_cast<std::uint64_t>(i);
    std::size_t n = std::min<std::size_t>({(kPage - at % kPage) / 8, kArgvBlock,
                                           static_cast<std::size_t>(kMaxArgv - i)});
    if (n == 0) n = 1;  // a misaligned pointer astride two pages: read it alone
    if (!c.t.read(at, ptrs, n * sizeof ptrs[0])) break;
    bool end = false;
    for (std::size_t k = 0; k < n && !end; ++k, ++i) {
      std::string a;
      end = !ptrs[k] || !c.t.read_string(ptrs[k], a, 4096);
      if (!end) argv.push_back(std::move(a));
    }
    if (end) break;
  }
}

bool Handler::Impl::exec_decide(Ctx& c, int dirfd, std::uint64_t path, bool follow, bool empty,
                                Response& out) {
  argv.clear();
  if (empty && path == 0) raw1.clear();
  else if (!read_path(c, path, raw1, out, empty)) return false;
  if (!valid(c, out)) return false;
  ResolveOpts o;
  o.follow = follow;
  o.empty_path = empty;
  Resolved& r = r1;
  if (!resolver.resolve(c.n.tid, c.tgid, dirfd, raw1, o, r)) {
    out = error(r.err ? r.err : EACCES);
    return false;
  }
  policy::Request req = path_request(c, Category::exec, Op::exec, r);
  // argv is for the record only: read when one will be written (allows are recorded, or
  // this is a denial), not for the thousands of allowed execs of a build without --audit.
  // Read after the path's check, it needs its own proof that the thread is still the one
  // that asked (a no-op where the answer itself proves it).
  if ((d->audit_allows() && log.records_allows()) ||
      d->decide(req).verdict != policy::Verdict::allow) {
    read_argv(c);
    if (!valid(c, out)) return false;
  }
  if (missing_but_visible(c, r, Op::exec)) {
    // `./configure` where there is none, or a PATH search through ./node_modules/.bin:
    // ENOENT (exit 127 in a shell) as natively, not a denial (EACCES, 126).
    out = error(ENOENT);
    return false;
  }
  bool go;
  if (!first_exec.empty() && r.path == first_exec) {
    first_exec.clear();  // the COMMAND given to `guardian run`, allowed once
    // ... unless a deny rule names it: spec §2, deny overrides every allow, the COMMAND's
    // own included (the launcher then exits 126, as for any exec that cannot be made).
    policy::Decision dd = d->decide(req);
    if (dd.verdict != policy::Verdict::allow && dd.rule) go = apply(c, req, dd, raw1, true, out);
    else go = local(c, req, true, 0, raw1, out, "guardian:command");
  } else {
    go = judge(c, req, raw1, out);
  }
  if (!go) return false;
  if (r.err || !r.exists) {
    out = error(r.err ? r.err : ENOENT);
    return false;
  }
  // The chain of `#!` interpreters: each must be allowed too; the last one is what the
  // kernel will have loaded.
  std::string expected = r.path;
  UniqueFd cur = std::move(r.target);
  for (int depth = 0; depth < kMaxInterpDepth && S_ISREG(r.st.st_mode); ++depth) {
    std::string interp = shebang_of(cur.get(), r.st);
    if (interp.empty()) break;
    ResolveOpts io;
    Resolved& ir = r2;
    if (!resolver.resolve(c.n.tid, c.tgid, AT_FDCWD, interp, io, ir)) {
      out = error(ir.err ? ir.err : ENOEXEC);
      return false;
    }
    // An interpreter that is not there (#!/usr/local/bin/python3.9 on a machine without
    // it): ENOENT as natively (a shell's "required file not found", 127), where the process
    // may know the name is absent, as for the program itself above.
    if (missing_but_visible(c, ir, Op::exec)) {
      out = error(ENOENT);
      return false;
    }
    policy::Request ireq = req;
    ireq.path = ir.path;
    ireq.lexical_path = ir.lexical;
    ireq.lexical_trusted = ir.trusted && !ir.magic;
    if (!judge(c, ireq, interp, out)) return false;
    if (ir.err || !ir.exists) {
      out = error(ir.err ? ir.err : ENOENT);
      return false;
    }
    expected = ir.path;
    cur = std::move(ir.target);
    r.st = ir.st;
  }
  if (!session.exec_verified(c.n.tid)) {
    // Handed over: no PTRACE_EVENT_EXEC will tell what the kernel loaded; the Landlock
    // envelope holds the program itself, and the loader run as a program is caught at its
    // first open below (the exec decided may be another: the path could change meanwhile).
    if (unverified_exec.size() > 4096) unverified_exec.clear();
    char link[40], exe[PATH_MAX];
    std::snprintf(link, sizeof link, "/proc/%d/exe", static_cast<int>(c.tgid));
    ssize_t n = ::readlink(link, exe, sizeof exe - 1);
    unverified_exec[c.tgid] = n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : std::string();
  }
  pending_exec[c.n.tid] = PendingExec{c.tgid, std::move(expected)};
  return true;
}

const std::string& Handler::Impl::loader() {
  if (loader_path.empty()) {
    char buf[PATH_MAX];
    loader_path = ::realpath("/lib64/ld-linux-x86-64.so.2", buf) ? buf : "/lib64/ld-linux-x86-64.so.2";
  }
  return loader_path;
}

namespace {

// A valgrind tool: .../valgrind/NAME-PLATFORM-linux (Debian: /usr/libexec/valgrind).
bool valgrind_tool(std::string_view exe) {
  std::size_t slash = exe.rfind('/');
  if (slash == std::string_view::npos || slash < 9 || exe.substr(slash - 9, 9) != "/valgrind") return false;
  std::string_view base = exe.substr(slash + 1);
  return base.size() > 6 && base.substr(base.size() - 6) == "-linux";
}

// NUL-separated strings of /proc/PID/FILE (at most `cap` bytes); false when unreadable.
bool proc_strings(pid_t pid, const char* file, std::size_t cap, std::vector<std::string>& out) {
  char path[48];
  std::snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), file);
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  std::string buf(cap, '\0');
  std::size_t have = 0;
  while (have < cap) {
    ssize_t n = ::read(fd.get(), buf.data() + have, cap - have);
    if (n < 0) return false;
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  out.clear();
  for (std::size_t i = 0; i < have;) {
    std::size_t j = buf.find('\0', i);
    if (j == std::string::npos || j > have) j = have;
    out.emplace_back(buf, i, j - i);
    i = j + 1;
  }
  return true;
}

}  // namespace

// valgrind's own reading of its command line: options start with '-' ("--" ends them), and
// the first other argument is the client, searched in PATH when it has no slash. Every
// path it may then open the client by is kept: as written (against the cwd), or each PATH
// directory with the name (the PATH of the tool's environment, and the usual directories).
bool Handler::Impl::note_valgrind(pid_t tgid, const std::string& exe) {
  valgrind_runs.erase(tgid);
  if (!valgrind_tool(exe)) return true;
  std::vector<std::string> argv_now, env;
  if (!proc_strings(tgid, "cmdline", 256 * 1024, argv_now)) return false;
  std::size_t i = 1;
  for (; i < argv_now.size(); ++i) {
    if (argv_now[i].empty() || argv_now[i][0] != '-') break;
    if (argv_now[i] == "--") {
      ++i;
      break;
    }
  }
  if (i >= argv_now.size()) return true;  // no client (--help, --version): nothing to run
  const std::string& client = argv_now[i];
  char link[48], buf[PATH_MAX];
  std::snprintf(link, sizeof link, "/proc/%d/cwd", static_cast<int>(tgid));
  ssize_t n = ::readlink(link, buf, sizeof buf - 1);
  if (n <= 0) return false;
  const std::string cwd(buf, static_cast<std::size_t>(n));
  ValgrindRun run;
  run.tool = exe;
  std::string joined;
  if (client.find('/') != std::string::npos) {
    lexical_join(cwd, client, joined);
    run.clients.push_back(joined);
  } else {
    std::string path = "/usr/local/bin:/usr/bin:/bin";
    if (proc_strings(tgid, "environ", 1024 * 1024, env))
      for (const std::string& e : env)
        if (e.compare(0, 5, "PATH=") == 0) path = e.substr(5) + ":" + path;
    for (std::size_t at = 0;;) {
      std::size_t colon = path.find(':', at);
      std::string dir = path.substr(at, colon == std::string::npos ? std::string::npos : colon - at);
      lexical_join(cwd, dir.empty() ? std::string(".") : dir, joined);
      joined += "/" + client;
      std::string folded;
      lexical_join("/", joined, folded);
      if (std::find(run.clients.begin(), run.clients.end(), folded) == run.clients.end())
        run.clients.push_back(std::move(folded));
      if (colon == std::string::npos) break;
      at = colon + 1;
    }
  }
  valgrind_runs[tgid] = std::move(run);
  return true;
}

bool Handler::Impl::opens_client(Ctx& c, const ValgrindRun& run) {
  int dirfd = AT_FDCWD;
  std::uint64_t addr = c.arg(0);
  if (c.n.nr == SYS_openat || c.n.nr == SYS_openat2) {
    dirfd = c.iarg(0);
    addr = c.arg(1);
  }
  std::string raw, base, joined;
  if (!addr || !c.t.read_string(addr, raw, 4095) || raw.empty()) return false;
  if (raw[0] != '/') {
    char link[48], buf[PATH_MAX];
    if (dirfd == AT_FDCWD) std::snprintf(link, sizeof link, "/proc/%d/cwd", c.n.tid);
    else std::snprintf(link, sizeof link, "/proc/%d/fd/%d", c.n.tid, dirfd);
    ssize_t n = ::readlink(link, buf, sizeof buf - 1);
    if (n <= 0) return false;
    base.assign(buf, static_cast<std::size_t>(n));
  } else {
    base = "/";
  }
  lexical_join(base, raw, joined);
  return std::find(run.clients.begin(), run.clients.end(), joined) != run.clients.end();
}

Response Handler::Impl::file_open(Ctx& c) {
  char link[40], exe[PATH_MAX];
  // Formatted only when asked for: every open of every process passes here.
  auto exe_link = [&] {
    std::snprintf(link, sizeof link, "/proc/%d/exe", static_cast<int>(c.tgid));
    return link;
  };
  if (!unverified_exec.empty()) {
    // An exec we could not watch: done once the program differs from the one before (or
    // is the loader, which may have run the process before too).
    auto it = unverified_exec.find(c.tgid);
    if (it != unverified_exec.end()) {
      ssize_t n = ::readlink(exe_link(), exe, sizeof exe - 1);
      std::string_view now = n > 0 ? std::string_view(exe, static_cast<std::size_t>(n)) : std::string_view();
      if (now == loader()) loader_runs.insert(c.tgid);
      if (now != it->second && valgrind_tool(now) && !note_valgrind(c.tgid, std::string(now)))
        return error(EACCES);  // a tool whose client cannot be read runs nothing
      if (now == loader() || now != it->second) unverified_exec.erase(it);
    }
  }
  // A valgrind tool's opens of its client: decided as an exec, as the loader's below.
  if (!valgrind_runs.empty()) {
    auto it = valgrind_runs.find(c.tgid);
    if (it != valgrind_runs.end()) {
      ssize_t n = ::readlink(exe_link(), exe, sizeof exe - 1);
      if (n <= 0 || std::string_view(exe, static_cast<std::size_t>(n)) != it->second.tool) {
        valgrind_runs.erase(it);  // that process is gone: the PID is another's
      } else if (opens_client(c, it->second)) {
        // (open_dispatch reads the path again and proves the notification before acting.)
        open_as_exec = true;
        Response r = open_dispatch(c);
        open_as_exec = false;
        return r;
      }
    }
  }
  // The dynamic loader run as a program opens that program first: decided as an exec,
  // and opened by us as decided (no symlink swapped in later counts), until one succeeds.
  if (loader_runs.empty() || !loader_runs.count(c.tgid)) return open_dispatch(c);
  ssize_t n = ::readlink(exe_link(), exe, sizeof exe - 1);
  if (n <= 0 || std::string_view(exe, static_cast<std::size_t>(n)) != loader()) {
    loader_runs.erase(c.tgid);  // that process is gone: the PID is another's
    return open_dispatch(c);
  }
  open_as_exec = true;
  Response r = open_dispatch(c);
  open_as_exec = false;
  if (r.kind == Response::Kind::value || r.kind == Response::Kind::cont ||
      r.kind == Response::Kind::inject_fd)
    loader_runs.erase(c.tgid);
  return r;
}

Response Handler::Impl::exec(Ctx& c) {
  Response out;
  bool ok;
  if (c.n.nr == SYS_execve) {
    ok = exec_decide(c, AT_FDCWD, c.arg(0), true, false, out);
  } else {
    int fl = c.iarg(4);
    ok = exec_decide(c, c.iarg(0), c.arg(1), !(fl & AT_SYMLINK_NOFOLLOW), fl & AT_EMPTY_PATH, out);
  }
  return ok ? cont() : std::move(out);
}

}  // namespace guardian::decode
