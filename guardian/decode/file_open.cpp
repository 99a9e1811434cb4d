// File decoders for open/openat/openat2/creat (emulated: the supervisor opens what it
// checked and injects the descriptor), the stat family and the read-class path calls.
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <memory>
#include <string_view>
#include <vector>

#include "base/procfs.hpp"
#include "decode/impl.hpp"
#include "decode/pty.hpp"
#include "policy/file_ops.hpp"
#include "emulate/emulate.hpp"

namespace guardian::decode {

using policy::Category;
using policy::Op;

namespace {

// Every flag open(2) knows (VALID_OPEN_FLAGS of the kernel).
constexpr std::uint64_t kOpenFlags =
    O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |
    FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |
    O_SYNC | O_PATH | O_TMPFILE;

// /proc/N/mem or /proc/N/task/N/mem.
bool is_proc_mem(const std::string& p) {
  auto digits = [&](std::size_t& i) {
    std::size_t start = i;
    while (i < p.size() && p[i] >= '0' && p[i] <= '9') ++i;
    return i > start;
  };
  std::size_t i = 6;
  if (p.compare(0, 6, "/proc/") != 0 || !digits(i)) return false;
  if (p.compare(i, 6, "/task/") == 0) {
    i += 6;
    if (!digits(i)) return false;
  }
  return p.compare(i, std::string::npos, "/mem") == 0;
}

// openat2 (Linux 5.6) can be missing, or refused by a container's own seccomp profile.
bool have_openat2() {
  static const bool ok = [] {
    struct open_how how {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS;
    long fd = ::syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
    if (fd >= 0) ::close(static_cast<int>(fd));
    return fd >= 0;
  }();
  return ok;
}

// The PID of /proc/PID/NAME or /proc/PID/task/TID/NAME when NAME is one of the files the
// kernel opens only for a process allowed to ptrace PID (memory, environment, mappings,
// stack...), or any NAME when `any`; 0 otherwise.
pid_t ptrace_guarded_proc(std::string_view p, bool any) {
  if (p.substr(0, 6) != "/proc/") return 0;
  p.remove_prefix(6);
  auto number = [&](pid_t& out) {
    std::size_t i = 0;
    out = 0;
    while (i < p.size() && p[i] >= '0' && p[i] <= '9' && i < 9) out = out * 10 + (p[i++] - '0');
    p.remove_prefix(i);
    return i > 0 && (p.empty() || p[0] == '/');
  };
  pid_t pid = 0, tid = 0;
  if (!number(pid) || p.empty()) return 0;
  p.remove_prefix(1);
  if (p.substr(0, 5) == "task/") {
    p.remove_prefix(5);
    if (!number(tid) || p.empty()) return 0;
    p.remove_prefix(1);
  }
  if (any) return pid;
  std::string_view name = p.substr(0, p.find('/'));
  static constexpr std::string_view kGuarded[] = {
      "mem",  "environ", "auxv",      "maps",    "smaps", "smaps_rollup", "numa_maps",
      "pagemap", "stack", "syscall", "personality", "io", "map_files", "timerslack_ns",
      "fd",   "fdinfo",  "cwd",       "root",    "exe"};
  for (auto g : kGuarded)
    if (name == g) return pid;
  return 0;
}

// /dev/stdin, /dev/stdout, /dev/stderr, /dev/fd: the system's links into /proc/self/fd.
bool is_dev_std_link(std::string_view p) {
  return p == "/dev/stdin" || p == "/dev/stdout" || p == "/dev/stderr" || p == "/dev/fd";
}

// The object that was checked (r.target) reopened here with `flags` and installed in the
// thread (Response::install): a descriptor number is never looked up again.
Response install_reopened(const Resolved& r, int flags) {
  long fd = emulate::reopen(r.target.get(), flags, S_ISREG(r.st.st_mode) || S_ISDIR(r.st.st_mode));
  if (fd < 0) return error(static_cast<int>(-fd));
  Response res;
  res.kind = Response::Kind::inject_fd;
  res.fd.reset(static_cast<int>(fd));
  res.cloexec = flags & O_CLOEXEC;
  res.fd_not_opath = true;
  res.install = true;
  return res;
}

}  // namespace

bool Handler::Impl::decide_resolved(Ctx& c, Op op, std::string_view raw, Resolved& r,
                                    Response& out) {
  policy::Request req = path_request(c, Category::file, op, r);
  // /proc/PID of the session's processes and of the others (proc_view.cpp).
  if (int v = proc_view(c, r, req, raw, out); v >= 0) return v == 1;
  // Another process's memory, environment and descriptors: the kernel lets only a process
  // that may ptrace it open these, and the supervisor, which opens on the tracee's behalf,
  // may ptrace far more than a Landlock-scoped tracee. Outside the session: refused, as a
  // tracee's own open would be, whatever the profile says (spec: no reading or writing
  // the memory of a process outside the session). Nor is anything of such a process
  // written (oom_score_adj, attr/...: the supervisor's rights again). Looking (stat) stays
  // the profile's.
  pid_t guarded = op == Op::stat ? 0 : ptrace_guarded_proc(r.path, op == Op::write);
  if (!guarded && r.magic && r.magic_pid && op != Op::stat) guarded = r.magic_pid;
  if (guarded && !session.in_session(guarded)) {
    hiding = op == Op::read;  // refused as the kernel refuses it, without a word (proc_view.cpp)
    bool go = local(c, req, false, EACCES, raw, out);
    hiding = false;
    return go;
  }
  if ((op == Op::read || op == Op::write) && policy::under_dev_shm(r.path))
    if (int v = own_shm(c, op, req, r, raw, out); v >= 0) return v == 1;
  if (r.exists && r.anonymous()) {
    // A pipe, socket or memfd reached through /proc/PID/fd/N: only a process that already
    // holds the object can name it, so a session process may reopen its own; nothing else.
    bool own = r.magic_pid && session.in_session(r.magic_pid);
    return local(c, req, own, d->deny_errno(), raw, out);
  }
  // /dev/stdout, /dev/fd/N, /proc/self/fd/N of a file the process holds open for this
  // very access (the output file its caller redirected it to, outside what the profile
  // writes): reopening it, as `echo x > /dev/stderr` does, gives nothing new. Where the
  // supervisor opens the object it checked (ADDFD backend), never by path.
  // The ptrace backend installs it too (Tracee::can_install_fd): the thread's own open by
  // name would meet its Landlock envelope, which knows nothing of what it holds.
  if (opening && r.magic && r.exists && !r.magic_fdinfo.empty() && c.t.can_install_fd() &&
      (op == Op::read || op == Op::write) && session.in_session(r.magic_pid) &&
      d->decide(req).verdict != policy::Verdict::allow && held_for(r, opening_flags)) {
    held_reopen = true;
    return local(c, req, true, 0, raw, out, "guardian:held-descriptor");
  }
  // Looking (stat, access, readlink, xattrs) through /proc/PID/fd/N of a session process, as
  // `stat -L /dev/stdin`, `test -f /dev/stdin` and `cp /dev/stdin out` do when the caller
  // redirected it from a file outside the profile: what fstat(N) tells the holder anyway.
  // And the system's own /dev/stdin, /dev/stdout, /dev/stderr and /dev/fd links looked at
  // themselves (lstat, readlink: `ls -l /dev/stdin`, realpath): they say only where they
  // point (/proc/self/fd), which every process knows.
  // (Not chdir, which fchdir decides on the directory itself; not an inotify watch.)
  if ((op == Op::stat || (op == Op::read && !opening)) && r.exists && c.n.nr != SYS_chdir &&
      c.n.nr != SYS_inotify_add_watch &&
      ((r.magic && !r.magic_fdinfo.empty() && r.magic_pid && session.in_session(r.magic_pid)) ||
       (!r.magic && is_dev_std_link(r.path))) &&
      d->decide(req).verdict != policy::Verdict::allow)
    return local(c, req, true, 0, raw, out, "guardian:held-descriptor");
  // A pseudo-terminal the session already holds (one it made: script, pexpect, Python's
  // pty; or the terminal it was given) may be looked at and reopened by name where the profile
  // leaves /dev/pts out: that gives nothing new, while the other terminals there stay
  // closed. The open that follows is of the object resolved before this look (r.target):
  // were terminal N freed and its number taken by another since, that object is gone and
  // the reopen fails; it cannot reach the newcomer.
  // A stat is decided on the path alone (r.st is not filled): whatever /dev/pts/N is while
  // the session holds terminal N, it is that terminal.
  if (auto n = pts_index(r.path);
      n && r.exists && (op == Op::stat || (S_ISCHR(r.st.st_mode) && is_pts_device(r.st.st_rdev, *n))) &&
      d->decide(req).verdict != policy::Verdict::allow && session_holds_pty(session, c.tgid, *n))
    return local(c, req, true, 0, raw, out, "guardian:terminal");
  // default's write protection of .git/hooks and .git/config keeps a tool from planting
  // what git runs later outside the session; a repository the session made itself (git
  // init, git clone) has nothing of the user's to protect, and git cannot make one without
  // writing there. Where the supervisor itself performs the write on the descriptors the
  // check walked (ADDFD; every write-class call on both backends), or where the ptrace
  // backend's kernel opens the checked path with RESOLVE_NO_SYMLINKS from the sealed page
  // (pinned_open): that walk can only be changed by renaming directories, and a directory
  // holding an older repository never moves (holds_repository), so the path cannot come
  // to lead into one. Without openat2 a symlink swapped in would be followed: the guard
  // stands there.
  if (op == Op::write && (c.t.can_inject_fd() || have_openat2()) &&
      r.path.find("/.git/") != std::string::npos) {
    policy::Decision dd = d->decide(req);
    if (dd.verdict != policy::Verdict::allow && dd.rule && policy::repository_guard(*dd.rule) &&
        d->decide_unguarded(req).verdict == policy::Verdict::allow && in_new_repository(r))
      return local(c, req, true, 0, raw, out, "guardian:new-repository");
  }
  // mkdir of a directory that is already there (cmake and `mkdir -p` implementations make
  // every component from /): the kernel answers EEXIST before any permission check, and a
  // name the process may stat tells nothing new by it.
  if (op == Op::write && (c.n.nr == SYS_mkdir || c.n.nr == SYS_mkdirat) &&
      d->decide(req).verdict != policy::Verdict::allow && exists_visible(c, r)) {
    out = error(EEXIST);
    return false;
  }
  // Looking for a name that is not there (stat, access, readlink, an open for reading,
  // xattr reads): ENOENT, undecided, where missing_but_visible says the kernel's answer
  // tells nothing new. Only after a denial: allowed requests take no extra step.
  if (op != Op::write && !r.exists && (!r.err || r.err == ENOENT) &&
      d->decide(req).verdict != policy::Verdict::allow && missing_but_visible(c, r, op)) {
    out = error(ENOENT);
    return false;
  }
  return judge(c, req, raw, out);
}

// POSIX named semaphores (sem_open makes /dev/shm/sem.NAME) and Python's multiprocessing
// arenas (/dev/shm/pym-*) live in a directory the user's other programs share by name, as
// System V objects share a table by number (ipc.cpp): base lets the session make and use
// its own, and opening another program's semaphore would let the session post or take it
// (that program's locks), truncate it (its next access faults), unlink or replace it, and
// read an arena's data. So where a rule of base is what allows it, an existing object may
// be read, written, removed, renamed or linked only when the session made its name (an
// allowed create of it) and the object was born after the session began (statx birth time:
// a program outside that made the name again since is not the session's). A rule of the
// user's own profile (/dev/shm/** to share with a running program) is left as written.
int Handler::Impl::own_shm(Ctx& c, Op op, const policy::Request& req, const Resolved& r,
                           std::string_view raw, Response& out) {
  policy::Decision dd = d->decide(req);
  if (dd.verdict != policy::Verdict::allow || !dd.rule || !policy::own_shm_guard(*dd.rule)) return -1;
  // The object the operation meets: the held one, or the entry (never followed: a name
  // operation acts on the entry; an open's link is not followed here either, and a link in
  // /dev/shm is then judged as the object it is).
  struct statx sx {};
  int rc;
  if (r.target && r.exists)
    rc = ::statx(r.target.get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_BTIME, &sx);
  else if (r.parent && !r.name.empty())
    rc = ::statx(r.parent.get(), r.name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_BTIME, &sx);
  else
    rc = ::statx(AT_FDCWD, r.path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_BTIME, &sx);
  if (rc != 0) {
    // Not there: a name the session makes now (an O_CREAT open; mknod, or the new name of
    // a link or rename) is its own from here on. Other opens of a missing name fail as
    // natively.
    const bool makes = opening ? (opening_flags & O_CREAT) != 0 : static_cast<bool>(r.parent);
    if (op == Op::write && errno == ENOENT && makes) {
      if (shm_made.size() < kMaxShmNames) shm_made.insert(r.path);
      else shm_made_full = true;
    }
    return -1;
  }
  const bool born = (sx.stx_mask & STATX_BTIME) &&
                    (sx.stx_btime.tv_sec > session_began.tv_sec ||
                     (sx.stx_btime.tv_sec == session_began.tv_sec &&
                      sx.stx_btime.tv_nsec >= static_cast<std::uint32_t>(session_began.tv_nsec)));
  if (born && (shm_made_full || shm_made.count(r.path))) return -1;
  return local(c, req, false, EACCES, raw, out) ? 1 : 0;  // complain mode goes on
}

bool Handler::Impl::held_for(const Resolved& r, int want) const {
  char buf[512];
  if (!r.target || !procfs::read_small(r.magic_fdinfo.c_str(), buf, sizeof buf)) return false;
  unsigned long flags = 0, ino = 0, mnt = 0;
  bool have_flags = false, have_ino = false, have_mnt = false;
  for (char* line = buf; line && *line; line = std::strchr(line, '\n') ? std::strchr(line, '\n') + 1 : nullptr) {
    if (std::strncmp(line, "flags:", 6) == 0) have_flags = std::sscanf(line + 6, "%lo", &flags) == 1;
    else if (std::strncmp(line, "ino:", 4) == 0) have_ino = std::sscanf(line + 4, "%lu", &ino) == 1;
    else if (std::strncmp(line, "mnt_id:", 7) == 0) have_mnt = std::sscanf(line + 7, "%lu", &mnt) == 1;
  }
  if (!have_flags || !have_ino || !have_mnt || ino != r.st.st_ino) return false;
  // An O_PATH descriptor (its fdinfo flags say O_PATH, access mode 0 = O_RDONLY) holds no
  // right to the contents: it is had for a stat, so treating it as held for reading would
  // let a stat-able file (an ancestor of an allowed path, anything under metadata: open) be
  // read through /proc/self/fd/N.
  if (flags & O_PATH) return false;
  struct statx sx {};
  if (::statx(r.target.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) != 0 || !(sx.stx_mask & STATX_MNT_ID) ||
      sx.stx_mnt_id != mnt)
    return false;
  const unsigned long held = flags & O_ACCMODE;
  const bool can_read = held == O_RDONLY || held == O_RDWR, can_write = held == O_WRONLY || held == O_RDWR;
  const bool wants_write = (want & O_ACCMODE) != O_RDONLY || (want & O_TRUNC);
  const bool wants_read = (want & O_ACCMODE) != O_WRONLY;
  return (!wants_read || can_read) && (!wants_write || can_write);
}

bool Handler::Impl::born_in_session(int fd) const {
  struct statx sx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) != 0 ||
      !(sx.stx_mask & STATX_BTIME))
    return false;
  return sx.stx_btime.tv_sec > session_began.tv_sec ||
         (sx.stx_btime.tv_sec == session_began.tv_sec &&
          sx.stx_btime.tv_nsec >= static_cast<std::uint32_t>(session_began.tv_nsec));
}

bool Handler::Impl::in_new_repository(const Resolved& r) const {
  std::vector<std::string_view> parts;
  for (std::size_t i = 0; i < r.path.size();) {
    std::size_t j = r.path.find('/', i);
    if (j == std::string::npos) j = r.path.size();
    if (j > i) parts.push_back(std::string_view(r.path).substr(i, j - i));
    i = j + 1;
  }
  if (parts.empty()) return false;
  auto born_here = [&](int fd) { return born_in_session(fd); };
  int at = -1;
  std::size_t level = 0;  // index in `parts` of the directory `at` is
  if (r.parent) {
    if (parts.size() < 2) return false;
    at = r.parent.get();
    level = parts.size() - 2;
  } else if (r.target && r.exists && S_ISDIR(r.st.st_mode)) {
    at = r.target.get();
    level = parts.size() - 1;
  } else if (r.target && r.exists) {
    // An existing file acted on through its own descriptor (chmod, utimes): a file born in
    // the session cannot lie where the guard protects an older repository, since every way
    // of putting it there (create, rename, link) is decided by the walk below, which refuses.
    return born_here(r.target.get());
  } else {
    return false;
  }
  std::size_t git = parts.size();
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (parts[i] == ".git") {
      git = i;
      break;
    }
  // A linked worktree's own directory (.git/worktrees/NAME, made by `git worktree add`):
  // made in the session, it is as new as a new repository, whatever the age of the one
  // that holds it (nothing the user runs reads it but git in the new worktree, whose .git
  // file the session wrote anyway). An older one never moves (holds_repository), so no new
  // directory can take its place.
  if (git + 2 < parts.size() && parts[git + 1] == "worktrees" && git + 2 <= level) git += 2;
  if (git > level) return false;
  UniqueFd up;
  for (;;) {
    if (!born_here(at)) return false;
    if (level == git) return true;
    UniqueFd next(::openat(at, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!next) return false;
    up = std::move(next);
    at = up.get();
    --level;
  }
}

namespace {
bool cached_hit(const bool* cached) { return cached && *cached; }
// A path whose every component names an entry: no ".", "..", empty component (a doubled or
// trailing slash); absolute or relative, with at least one directory part.
bool plain_components(std::string_view s) {
  if (s.empty() || s.back() == '/') return false;
  if (s[0] == '/') s.remove_prefix(1);
  bool dir = false;
  for (;;) {
    std::size_t j = s.find('/');
    std::string_view comp = s.substr(0, j);
    if (comp.empty() || comp == "." || comp == "..") return false;
    if (j == std::string_view::npos) return dir;
    dir = true;
    s.remove_prefix(j + 1);
  }
}
// One component that names an entry (not "", ".", "..", nothing with a slash).
bool plain_name(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string_view::npos;
}
// A relative path whose every component names an entry (one name, or names below
// directories): no "", ".", "..", doubled or trailing slash.
bool plain_relative(std::string_view s) {
  if (s.empty() || s[0] == '/') return false;
  for (;;) {
    std::size_t j = s.find('/');
    if (!plain_name(s.substr(0, j))) return false;
    if (j == std::string_view::npos) return true;
    s.remove_prefix(j + 1);
  }
}
}  // namespace

Handler::Impl::Looked& Handler::Impl::look_slot(const std::string& text) {
  return looked[std::hash<std::string_view>{}(text) % looked.size()];
}

void Handler::Impl::keep_look(const std::string& text, const struct stat& st, bool whole,
                              std::int64_t now) {
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return;
  Looked& l = look_slot(text);
  l.text.assign(text);
  l.gen = looked_gen;
  l.mode = st.st_mode;
  l.whole = whole;
  l.born = now ? now : now_ns();
}

void Handler::Impl::note_plain(std::string_view lexical, bool is_dir) {
  if (lexical.empty() || lexical[0] != '/') return;
  if (plain_dirs.size() + 2 > PathCache::kMaxEntries) plain_dirs.clear();
  const std::int64_t now = now_ns();
  std::size_t cut = lexical.find_last_of('/');
  plain_dirs[std::string(lexical.substr(0, cut == 0 ? 1 : cut))] = now;
  if (is_dir) plain_dirs[std::string(lexical)] = now;
}

bool Handler::Impl::plain_fresh(std::string_view dir) {
  if (plain_dirs.empty()) return false;
  plain_dir.assign(dir);
  auto it = plain_dirs.find(plain_dir);
  return it != plain_dirs.end() && now_ns() - it->second < PathCache::kLifetimeNs;
}

bool Handler::Impl::path_decide(Ctx& c, int dirfd, std::uint64_t addr, const ResolveOpts& o,
                                Op op, std::string& raw, Resolved& r, Response& out,
                                bool* cached) {
  if (!o.raw_ready) {
    if (addr == 0 && o.empty_path) raw.clear();
    else if (!read_path(c, addr, raw, out, o.empty_path)) return false;
    if (!valid(c, out)) return false;
  }
  ResolveOpts fo = o;
  fo.kernel_follow = !o.need_parent;
  // Stat-family callers (cached != null) may reuse a recent resolution of the same text
  // from the same start directory (PathCache says why that is safe).
  bool keyed = false;
  if (cached) {
    *cached = false;
    if (!raw.empty()) {
      cache_start.clear();
      keyed = raw[0] == '/' || resolver.start_text(c.n.tid, dirfd, cache_start);
      if (keyed) PathCache::key(cache_start, raw, o.follow, cache_key);
    }
    if (const PathCache::Entry* e = keyed ? stat_cache.find(cache_key) : nullptr) {
      fill_from(*e, r);
      *cached = true;
    }
  }
  // lstat-like look at a plain name relative to a directory (tar's fstatat(dirfd, name,
  // AT_SYMLINK_NOFOLLOW) of every member; readlinkat(dirfd, name)): the kernel follows no
  // symlink at all, since it starts at the directory itself and does not follow the name,
  // so the object is that directory's entry `name`, whose path is the start's text (read
  // for the key just now) joined with it. Decided as that without a lookup of ours (an
  // openat2 and a close); whether it exists, the kernel's own call says.
  if (keyed && !*cached && !o.follow && plain_name(raw)) {
    r.clear();
    lexical_join(cache_start, raw, r.lexical);
    if (!under_proc(r.lexical)) {
      r.path = r.lexical;
      r.exists = true;  // not looked at: the kernel answers ENOENT itself (file_stat)
      return decide_resolved(c, op, raw, r, out);
    }
  }
  // The same for a name below directories (git status's lstat of every tracked file,
  // "d7/f123.txt"; an absolute path): where a stat-family resolution lately reached that very
  // directory by its own text with no symbolic link on the way (plain_dirs, filled below)
  // and the text has no "." or ".." (the kernel's walk then visits exactly the directories
  // of the lexical path, and follows none: not the name either, here), the walk leads where
  // it led for the reasons a kept PathCache entry holds: the session changes names only
  // through the supervisor, which forgets them all (Handler::Impl::handle); a process outside
  // it is bounded by the same lifetime; the kernel still performs the call itself, metadata
  // only. Taken for an allowed decision only: a denial (and ENOENT for a missing name the
  // process may not know of: missing_but_visible) is looked at as before.
  if (keyed && !*cached && !o.follow && !plain_dirs.empty() && plain_components(raw)) {
    r.clear();
    lexical_join(cache_start, raw, r.lexical);
    std::size_t cut = r.lexical.find_last_of('/');
    plain_dir.assign(r.lexical, 0, cut == 0 ? 1 : cut);
    auto it = plain_dirs.find(plain_dir);
    if (it != plain_dirs.end() && now_ns() - it->second < PathCache::kLifetimeNs &&
        !under_proc(r.lexical)) {
      r.path = r.lexical;
      r.exists = true;  // not looked at: the kernel answers ENOENT itself (file_stat)
      if (d->decide(path_request(c, Category::file, op, r)).verdict == policy::Verdict::allow)
        return decide_resolved(c, op, raw, r, out);
    }
    r.clear();
  }
  // A miss on a relative path resolves the joined text (the key without its flag): the
  // start directory was just read, and reading it again would cost another readlink.
  const bool joined = keyed && !cached_hit(cached) && raw[0] != '/';
  if (!cached_hit(cached) &&
      !resolver.resolve(c.n.tid, c.tgid, joined ? AT_FDCWD : dirfd,
                        joined ? std::string_view(cache_key).substr(1) : std::string_view(raw),
                        fo, r)) {
    out = error(r.err ? r.err : EACCES);
    return false;
  }
  if (keyed && !*cached && PathCache::keepable(r)) {
    stat_cache.put(cache_key, r);
    // Reached by its own text, existing: every directory on the way was one, not a symbolic
    // link (the object's path is the lexical one), so its directory is kept for the names
    // below it (above).
    if (r.exists && !r.followed_fast && r.path == r.lexical) {
      std::size_t cut = r.lexical.find_last_of('/');
      if (plain_dirs.size() >= PathCache::kMaxEntries) plain_dirs.clear();
      plain_dirs[r.lexical.substr(0, cut == 0 ? 1 : cut)] = now_ns();
    }
  }
  if (r.followed_fast && !r.err) {
    // The kernel followed the symlinks without telling which: allowed as resolved, that
    // stands (knowing the links could only allow more). Otherwise the walk decides.
    policy::Request req;
    req.category = Category::file;
    req.op = op;
    req.pid = c.tgid;
    req.path = r.path;
    req.lexical_path = r.lexical;
    if (d->decide(req).verdict != policy::Verdict::allow &&
        !resolver.resolve(c.n.tid, c.tgid, dirfd, raw, o, r)) {
      out = error(r.err ? r.err : EACCES);
      return false;
    }
  }
  return decide_resolved(c, op, raw, r, out);
}

Response Handler::Impl::open_like(Ctx& c, int dirfd, std::uint64_t path, int flags, mode_t mode,
                                  std::uint64_t resolve) {
  Response out;
  path_addr1 = path;
  const bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
  const bool opath = flags & O_PATH;
  const bool creat = (flags & O_CREAT) && !opath;
  const bool excl = creat && (flags & O_EXCL);
  // An O_PATH descriptor gives metadata only (its uses are checked); write intent writes.
  // Shared with the shim's fast path (policy/file_ops.hpp): both must ask the same question.
  Op op = policy::open_op(flags);
  if (open_as_exec && op == Op::read) op = Op::exec;  // a loader's program (impl.hpp)
  // Opens without openat2 RESOLVE_* restrictions, O_PATH or O_TMPFILE need no O_PATH look
  // first: see quick_open. (openat2 can be missing or refused by a container's seccomp
  // profile: then never.)
  ResolveOpts o;
  o.follow = !(flags & O_NOFOLLOW) && !excl;
  o.need_parent = creat;
  bool keyed = false;  // cache_key holds this path's PathCache key
  if (c.t.can_inject_fd() && !resolve && !opath && !tmpfile && have_openat2()) {
    if (!read_path(c, path, raw1, out)) return out;
    // NOTIF_ID_VALID before anything acts on what was read (valid()); where the answer proves
    // the notification itself (Tracee::answer_proves_valid), not before an answer that is
    // only CONTINUE or an errno (stable_open; quick_open's look for the one live task), and
    // before the rest otherwise.
    bool proven = !c.t.answer_proves_valid();
    if (proven && !valid(c, out)) return out;
    if (stable_open(c, flags, op, out)) return out;
    if (quick_open(c, dirfd, flags, mode, op, out, keyed, o.symlink_seen, proven)) return out;
    if (!proven && !valid(c, out)) return out;
    o.raw_ready = true;
  }
  Resolved& r = r1;
  opening = true;
  opening_flags = flags;
  held_reopen = false;
  const bool decided = path_decide(c, dirfd, path, o, op, raw1, r, out);
  opening = false;
  if (!decided) return out;
  if (r.err) return error(r.err);
  // A writable /proc/PID/mem writes a process's memory from outside it (kept, passed on).
  if ((flags & O_ACCMODE) != O_RDONLY && is_proc_mem(r.path)) session.note_memory_writer();
  if (r.exists && !opath) note_device(r.st);
  // A held descriptor reopened by name under ptrace: opened here, installed in the thread.
  if (held_reopen && !c.t.can_inject_fd()) return install_reopened(r, flags);
  // Where the kernel followed the links, the next open of the same text goes straight to
  // the object's path (quick_open; PathCache says why that is safe).
  if (keyed && r.followed_fast && PathCache::keepable(r)) stat_cache.put(cache_key, r);
  // A trailing slash asks for a directory: anything else is ENOTDIR, as natively.
  if (r.exists && !raw1.empty() && raw1.back() == '/' && !S_ISDIR(r.st.st_mode))
    return error(ENOTDIR);
  if (resolve) {
    // openat2 RESOLVE_* restrictions: let the kernel apply them to the same dirfd and path
    // (O_PATH, nothing opened for real) and insist it reaches the object we checked.
    UniqueFd dfd;
    if (raw1.empty() || raw1[0] != '/') {
      char link[48];
      if (dirfd == AT_FDCWD) std::snprintf(link, sizeof link, "/proc/%d/cwd", c.n.tid);
      else std::snprintf(link, sizeof link, "/proc/%d/fd/%d", c.n.tid, dirfd);
      dfd.reset(::open(link, O_PATH | O_CLOEXEC));
      if (!dfd) return error(EBADF);
    }
    struct open_how how {};
    how.flags = O_PATH | O_CLOEXEC | (flags & (O_NOFOLLOW | O_DIRECTORY));
    how.resolve = resolve;
    UniqueFd probe(static_cast<int>(::syscall(SYS_openat2, dfd ? dfd.get() : AT_FDCWD,
                                              raw1.c_str(), &how, sizeof how)));
    if (!probe) {
      if (!(errno == ENOENT && !r.exists)) return error(errno);
    } else {
      struct stat st {};
      if (!r.exists || ::fstat(probe.get(), &st) != 0 || st.st_dev != r.st.st_dev ||
          st.st_ino != r.st.st_ino)
        return error(EXDEV);
    }
  }
  // Under ptrace there is no ADDFD: the kernel opens, but what was checked (see pinned_open).
  if (!c.t.can_inject_fd()) return pinned_open(c, dirfd, flags, mode, resolve, r);
  // Natively EMFILE comes before the file is made or emptied; ADDFD would fail after.
  if ((creat || (flags & O_TRUNC)) && !opath && !procfs::fd_slot_free(c.n.tid))
    return error(EMFILE);
  long fd;
  if (!r.exists) {
    if (!creat) return error(ENOENT);
    if (!r.parent) return error(ENOENT);
    if (sole_open(c, r.path, flags, &r)) return cont();
    fd = emulate::create_at(r.parent.get(), r.name, flags, mode, umask_of(c));
  } else if (excl) {
    return error(EEXIST);
  } else if (opath) {
    // ADDFD cannot install O_PATH files (the kernel's fget() refuses them), so the kernel
    // opens it. Safe: an O_PATH descriptor only gives metadata, and every use of it as a
    // dirfd, for exec or through /proc/self/fd is resolved to its real path and decided.
    return cont();
  } else if (S_ISLNK(r.st.st_mode)) {
    return error(ELOOP);  // O_NOFOLLOW on a symlink
  } else if (tmpfile) {
    if (!S_ISDIR(r.st.st_mode)) return error(ENOTDIR);
    if (sole_open(c, r.path, flags, &r)) return cont();
    fd = emulate::tmpfile_in(r.target.get(), flags, mode, umask_of(c));
  } else if (S_ISFIFO(r.st.st_mode) && !(flags & O_NONBLOCK) && (flags & O_ACCMODE) != O_RDWR &&
             opts.blocker) {
    return fifo_later(c, std::move(r.target), flags, false);
  } else {
    // Links followed by our walk lie where the session may not write (r.trusted); ones the
    // kernel followed are looked at by continue_read.
    if (!r.magic && (r.trusted || r.followed_fast) &&
        continue_read(c, flags, op, r.st, r.path, r.lexical, r.followed_fast))
      return cont();
    if (sole_open(c, r.path, flags, &r)) return cont();
    fd = emulate::reopen(r.target.get(), flags, S_ISREG(r.st.st_mode) || S_ISDIR(r.st.st_mode));
  }
  if (fd < 0) return error(static_cast<int>(-fd));
  Response res;
  res.kind = Response::Kind::inject_fd;
  res.fd.reset(static_cast<int>(fd));
  res.cloexec = flags & O_CLOEXEC;
  res.fd_not_opath = true;  // O_PATH returned cont() above
  return res;
}

// A FIFO opened for reading or writing alone waits natively for the other end; the
// supervisor's loop must not, so a Waiter thread makes the blocking open of the checked
// inode (the /proc/self/fd link of `target`) and the descriptor is injected when it
// returns. The descriptor lives in `got` so it is closed if the answer is never given.
// `read_end`: `target` is our own read end opened with O_NONBLOCK (quick_open), standing
// for the tracee's waiting reader; a writer may then have come and gone before the
// blocking open began, which would wait for the next one: POLLHUP on that end (a writer
// came since it was opened, none is left) says so, and that end is then the answer, as the
// tracee's open would have returned. The Waiter calls the operation again every interval,
// so this is checked again while the open waits.
Response Handler::Impl::fifo_later(Ctx& c, UniqueFd target_fd, int flags, bool read_end) {
  auto target = std::make_shared<UniqueFd>(std::move(target_fd));
  auto got = std::make_shared<UniqueFd>();
  const int f = (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_TRUNC)) | O_CLOEXEC | O_NOCTTY;
  const bool cloexec = flags & O_CLOEXEC;
  bool started = opts.blocker->start(
      c.n,
      [target, got, f, read_end] {
        if (read_end) {
          struct pollfd p {target->get(), POLLIN, 0};
          if (::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP)) {
            if (long rc = emulate::clear_nonblock(target->get(), f); rc < 0) return rc;
            *got = std::move(*target);
            return 0L;
          }
        }
        int n = ::open(emulate::self_fd(target->get()).c_str(), f);
        if (n < 0) return -static_cast<long>(errno);
        got->reset(n);
        return 0L;
      },
      [got, cloexec](long rc, Tracee&) {
        if (rc < 0) return error(static_cast<int>(-rc));
        Response res;
        res.kind = Response::Kind::inject_fd;
        res.fd = std::move(*got);
        res.cloexec = cloexec;
        res.fd_not_opath = true;
        return res;
      });
  if (!started) return error(EAGAIN);  // too many waiting already: fail, never block the loop
  Response res;
  res.kind = Response::Kind::defer;
  return res;
}

// The quick open (seccomp backend; raw1 already read and proven by ID_VALID): the lexical
// path is decided first, then opened as it is with one openat2 from our root with
// RESOLVE_NO_SYMLINKS and the tracee's own flags (emulate::open_nosym). With no symlink on
// the way, the lexical path is the resolved path (as Resolver::fast decides it), and the
// kernel reaches exactly it; its errors (ENOENT, EEXIST, EISDIR, ENOTDIR...) are the ones
// the tracee's own open would get. The loop must never wait in open (a FIFO without its
// other end, a terminal without carrier): an open that could block (no O_NONBLOCK, not a
// new file, not O_DIRECTORY) is made with O_NONBLOCK added. What that changes is then put
// right: ENXIO (a FIFO for writing without a reader) and EAGAIN (a lease) go the long way,
// which waits where the tracee would; a FIFO opened for reading, which natively waits for a
// writer, waits on a Waiter thread (fifo_later) while our end stands for the waiting reader, as the
// tracee's would; anything else gets the tracee's own status flags back (clear_nonblock),
// as the long way's reopen of a device does.
// A path the kernel recently resolved through symlinks (PathCache, filled by the stat family
// and by the long way of opens) is decided as the object's path it found, as the long way
// decides it, and that path is opened the same way, with RESOLVE_NO_SYMLINKS: what is
// decided is what is opened, and a link changed since by the session cleared the cache.
// False: not taken (nothing opened or logged); the caller resolves the long way, e.g. when
// a symlink is on the way (`symlink`: ELOOP) or the path is not allowed (the walk may know
// more). `keyed`: cache_key holds the path's PathCache key.
bool Handler::Impl::quick_open(Ctx& c, int dirfd, int flags, mode_t mode, Op op, Response& out,
                               bool& keyed, bool& symlink, bool& proven) {
  Resolved& r = r1;
  r.clear();
  if (!resolver.text_path(c.n.tid, dirfd, raw1, qjoined, r.lexical)) return false;
  // procfs names processes (self, other PIDs' guarded files): the full resolution's.
  if (under_proc(r.lexical)) return false;
  // /dev/shm under base's rules: own_shm (the long way) decides which objects are the
  // session's.
  if (policy::shm_shared_name(r.lexical)) return false;
  const bool excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
  // qjoined is absolute: the key of raw1 from its start directory, as path_decide makes it.
  PathCache::key({}, qjoined, !(flags & O_NOFOLLOW) && !excl, cache_key);
  keyed = true;
  const PathCache::Entry* e = stat_cache.find(cache_key);
  const bool followed = e && e->followed_fast && e->exists;
  if (followed) {
    qpath = e->path;
    // A trailing slash still asks for a directory (ENOTDIR on anything else).
    if (raw1.back() == '/' && qpath.back() != '/') qpath += '/';
  }
  policy::Request req;
  req.category = Category::file;
  req.op = op;
  req.pid = c.tgid;
  req.path = followed ? qpath : r.lexical;
  req.lexical_path = r.lexical;
  // No symlink followed, as Resolver::fast; or ones nobody looked at (Resolver::follow).
  req.lexical_trusted = !followed;
  policy::Decision dec = d->decide(req);
  if (dec.verdict != policy::Verdict::allow) return false;
  if (followed && policy::shm_shared_name(qpath)) return false;  // as above, through a link
  // O_DIRECTORY cannot wait: anything but a directory fails with ENOTDIR before the kernel
  // reaches a FIFO's, a device's or a lease's wait, and a directory never waits (so no
  // O_NONBLOCK to add, and no fstat nor F_SETFL after: opendir() costs 2 syscalls less).
  const bool may_block = !(flags & (O_NONBLOCK | O_DIRECTORY)) && !excl;
  // The session's one live task, or one sharing nothing with another (sole_open says why
  // either may be continued): its allowed open is left to the kernel wherever the look
  // finds nothing in the way (sole_open, continue_read), and the look is made with O_PATH
  // (no open of the file itself: no device or FIFO driver's open, nothing created or
  // truncated by us) and RESOLVE_NO_SYMLINKS, as the real open below would walk. What the
  // look must establish for a CONTINUE is all an O_PATH walk shows: that no symbolic link is
  // on the way (ELOOP otherwise: the long way decides), so the kernel's own walk reaches the
  // object decided, and what that object is (continue_read: a regular file; a device, which
  // note_device must see). A FIFO is then opened by the kernel alone too, and waits in the
  // process for its other end as natively: a real open of ours beforehand was a reader or a
  // writer coming and going, which the other end sees (a reader's EOF, a writer's POLLHUP:
  // a reader outside the session took EOF and left, and the writer's own open then waited
  // for ever). A missing name (ENOENT: no link before it) is
  // answered ENOENT as the real open's would be, or, with O_CREAT, created by the kernel
  // itself in the directory the walk reached, with the process's own umask; O_EXCL's
  // refusal of a link in the last place holds either way. Errors the
  // file's own open would add (EACCES on the file, EISDIR, ETXTBSY, EMFILE...) come from the
  // kernel's open, as natively. Nothing here acts on the world, and the answer is CONTINUE
  // or an errno: with Tracee::answer_proves_valid() a delivered answer proves the
  // notification (Handler::Impl::valid), so NOTIF_ID_VALID is asked only before the real
  // open below (`proven`).
  if (opts.continue_stable_reads && !(excl && followed) &&
      (session.sole_task(c.n.tid) || session.walk_private(c.n.tid))) {
    struct stat lst {};
    int look_err = -1;  // not looked yet
    bool looked_now = false;
    // Relative paths the look can ask about with one stat of the last name, not followed,
    // instead of an O_PATH open, its fstat and its close. Only names: no ".", "..", doubled
    // or trailing slash, so the kernel's walk visits exactly the directories of the text.
    // - One name (tar's openat(dirfd, name), find, rm -r): the kernel's walk starts at the
    //   directory itself and crosses no other. Its text (start_text) is the directory's
    //   own path as the kernel tells it, read for this call, or the kept cwd text, which
    //   every name change of the session forgets (Resolver::begin): a text of directories
    //   alone, so the stat reaches the entry the kernel's open will, as the O_PATH walk did.
    // - Names below directories relative to a kept cwd text (git's .git/objects/xx/...),
    //   where a walk refusing links reached the last directory by its text within the last
    //   second (plain_dirs): those directories held no link then, and the session has made
    //   no name change since (each forgets them all, once every walk let go has ended:
    //   settle_walks). What a process outside the session changes meanwhile is bounded by
    //   that second, as the kept cwd text itself (guardian(1)).
    // A link as the last name, or anything but a plain answer, takes the O_PATH look.
    bool stat_look = false;
    if (!followed && raw1[0] != '/') {
      if (plain_name(raw1)) {
        stat_look = true;
      } else if (dirfd == AT_FDCWD && resolver.start_kept() && plain_relative(raw1)) {
        std::size_t cut = r.lexical.find_last_of('/');
        stat_look = plain_fresh(std::string_view(r.lexical).substr(0, cut == 0 ? 1 : cut));
      }
    }
    // The same text looked at within the last second (Looked in impl.hpp): the answer of
    // that look, for the same reasons and within the same bound as plain_dirs; an answer of
    // one lstat only where this open needs no more than that. Only regular files and
    // directories are kept: nothing for note_device to see, and a missing name is looked
    // at again (it may have been made since).
    std::int64_t now = 0;
    if (!followed) {
      const Looked& l = look_slot(qjoined);
      if (l.gen == looked_gen && (l.whole || stat_look) && l.text == qjoined &&
          (now = now_ns()) - l.born < PathCache::kLifetimeNs) {
        lst = {};
        lst.st_mode = l.mode;
        look_err = 0;
        looked_now = true;
      }
    }
    if (look_err < 0 && stat_look) {
      if (::fstatat(resolver.root_fd(), qjoined.c_str(), &lst, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISLNK(lst.st_mode)) {
          look_err = 0;
          looked_now = true;
          keep_look(qjoined, lst, false, now);
        }
      } else if (errno == ENOENT) {
        look_err = ENOENT;
      }
    }
    if (look_err < 0) {
      struct open_how how {};
      how.flags = O_PATH | O_CLOEXEC;
      how.resolve = RESOLVE_NO_SYMLINKS;
      UniqueFd look(static_cast<int>(::syscall(SYS_openat2, resolver.root_fd(),
                                               (followed ? qpath : qjoined).c_str(), &how,
                                               sizeof how)));
      look_err = look ? 0 : errno;
      looked_now = look && ::fstat(look.get(), &lst) == 0;
      look.reset();
      // Reached by its own text with no link on the way: its directory (and it, if one) for
      // the next looks below them, and what it is for the next open of the same text.
      if (looked_now && !followed) {
        note_plain(r.lexical, S_ISDIR(lst.st_mode));
        keep_look(qjoined, lst, true, now);
      }
    }
    bool answered = false;
    if (look_err == ELOOP) {  // a link on the way: the long way, as the real open's ELOOP
      symlink = !followed;
      return false;
    }
    if (look_err == ENOENT && !(flags & O_CREAT)) {
      if (apply(c, req, dec, raw1, true, out)) out = error(ENOENT);
      return true;
    }
    if (look_err == ENOENT)  // O_CREAT, with or without O_EXCL
      answered = sole_open(c, followed ? qpath : r.lexical, flags, nullptr, followed);
    else if (looked_now && !excl) {
      // A device opened by the kernel's own open is the session's all the same.
      note_device(lst);
      answered = (followed ? continue_read(c, flags, op, lst, e->path, r.lexical, true)
                           : continue_read(c, flags, op, lst, r.lexical)) ||
                 sole_open(c, followed ? qpath : r.lexical, flags, nullptr, followed);
    }
    if (answered) {
      if (apply(c, req, dec, raw1, true, out)) out = cont();
      return true;
    }
  }
  // Acting on what was read (the real open may create, truncate, open a device or a FIFO,
  // and its descriptor may be injected): the notification is proven first.
  if (!proven) {
    if (!c.t.still_valid()) {
      out = error(EINTR);  // the syscall is gone; this answer will not be delivered
      return true;
    }
    proven = true;
  }
  const mode_t um = (flags & O_CREAT) ? umask_of(c) : 0;
  // At the descriptor limit the long way answers EMFILE before creating or truncating.
  if ((flags & (O_CREAT | O_TRUNC)) && !procfs::fd_slot_free(c.n.tid)) return false;
  long fd = emulate::open_nosym(resolver.root_fd(), followed ? qpath : qjoined,
                                flags | (may_block ? O_NONBLOCK : 0), mode, um);
  if (fd == -ELOOP) {
    symlink = !followed;
    return false;
  }
  if (may_block && (fd == -ENXIO || fd == -EAGAIN)) return false;
  UniqueFd held(fd >= 0 ? static_cast<int>(fd) : -1);
  // Only a FIFO opened for reading succeeds with O_NONBLOCK where the tracee's open would
  // wait; for writing it fails (ENXIO, above) unless a reader is there, and O_RDWR never waits.
  bool fifo_wait = false;
  struct stat st {};
  if (held) {
    if (::fstat(held.get(), &st) != 0) return false;
    fifo_wait = may_block && (flags & O_ACCMODE) == O_RDONLY && S_ISFIFO(st.st_mode) && opts.blocker;
  }
  if (!apply(c, req, dec, raw1, true, out)) return true;
  if (fd < 0) {
    out = error(static_cast<int>(-fd));
    return true;
  }
  if (fifo_wait) {
    out = fifo_later(c, std::move(held), flags, true);
    return true;
  }
  note_device(st);
  // The supervisor made the file (O_CREAT) or emptied it (O_TRUNC) already: the kernel's
  // own open then finds it so, as it would have, but for O_EXCL, which it would refuse.
  if ((followed ? continue_read(c, flags, op, st, e->path, r.lexical, true)
                : continue_read(c, flags, op, st, r.lexical)) ||
      (!excl && sole_open(c, followed ? qpath : r.lexical, flags, nullptr, followed))) {
    out = cont();
    return true;
  }
  if (may_block) {
    if (long rc = emulate::clear_nonblock(held.get(), flags); rc < 0) {
      out = error(static_cast<int>(-rc));
      return true;
    }
  }
  out = Response();
  out.kind = Response::Kind::inject_fd;
  out.fd = std::move(held);
  out.cloexec = flags & O_CLOEXEC;
  out.fd_not_opath = true;  // not O_PATH: the caller excludes it
  return true;
}

// The ptrace backend's allowed open: the kernel performs it, as openat2 on arguments the
// backend copies into a sealed read-only page of the tracee (Redirect), so a thread
// rewriting the path buffer cannot change it. A path that names a file by its place
// (neither a /proc magic link nor an anonymous object) is given as the resolved absolute
// path with RESOLVE_NO_SYMLINKS: it has no symlink left, so one swapped in meanwhile
// fails (ELOOP) instead of being followed, and neither the cwd nor the dirfd matter.
// A magic link (/proc/self/fd/N, /dev/stdin) to a file still in place is opened by that
// place too; to a pipe, socket or deleted file it keeps the path as given, and a thread
// swapping descriptor N between check and use can still win there (guardian(1) says so).
Response Handler::Impl::pinned_open(Ctx& c, int dirfd, int flags, mode_t mode,
                                    std::uint64_t resolve, const Resolved& r) {
  const bool creat = (flags & O_CREAT) && !(flags & O_PATH);
  const int acc = flags & O_ACCMODE;
  if (!r.exists && !creat) return error(ENOENT);
  // Writing /proc/PID/mem (FOLL_FORCE) is the one way around a read-only sealed page.
  if (acc != O_RDONLY && is_proc_mem(r.path)) return error(EACCES);
  // Through a magic link too when it names a file that is still in place (not deleted).
  const bool deleted = r.path.size() > 10 && r.path.compare(r.path.size() - 10, 10, " (deleted)") == 0;
  const bool by_place = !r.anonymous() && !r.path.empty() && r.path[0] == '/' &&
                        (!r.magic || (r.exists && !deleted));
  // The Landlock envelope names resolved directories: a file allowed by the place of a
  // system link that leads out of them would be refused to the kernel's open. The thread
  // gets the object that was checked, opened here, instead (ScratchPages::install_fd).
  if (by_place && r.exists && r.target && !(flags & O_PATH) && (flags & O_TMPFILE) != O_TMPFILE &&
      c.t.can_install_fd() && !envelope_allows(r.path, flags))
    return install_reopened(r, flags);
  // Kept as given, the kernel takes descriptor N again: another thread may have put there
  // (dup2) a file opened only for reading, or an O_PATH descriptor, which would then be
  // reopened with rights it was never checked for: refused unless no other task can change
  // this table (guardian(1), ptrace backend). Reading is left to the Landlock envelope
  // where it applies; writing is not (it cannot tell a deny_write file inside a writable
  // tree, such as .git/hooks, from its neighbours).
  const bool write_intent = acc != O_RDONLY || (flags & O_TRUNC);
  if (!by_place && r.magic && opts.mode == Mode::enforce && (write_intent || !opts.landlock) &&
      !session.fd_table_private(c.n.tid)) {
    // Where the thread can be given a descriptor (ScratchPages::install_fd), it gets the
    // object that was checked (r.target), reopened here: descriptor N is not looked up
    // again, so a swap loses, and a threaded program (node writing /dev/stdout, a pipe)
    // reopens as natively.
    if (c.t.can_install_fd() && r.target && !(flags & O_PATH) && (flags & O_TMPFILE) != O_TMPFILE)
      return install_reopened(r, flags);
    policy::Request req = path_request(c, policy::Category::file, policy::Op::write, r);
    Response out;
    if (!local(c, req, false, EACCES, raw1, out)) return out;
  }
  struct open_how how {};
  // openat2 refuses unknown flag bits (open ignores them) and a mode without O_CREAT.
  how.flags = static_cast<std::uint64_t>(static_cast<unsigned>(flags)) & kOpenFlags;
  how.mode = (flags & O_CREAT || (flags & O_TMPFILE) == O_TMPFILE) ? (mode & 07777) : 0;
  how.resolve = by_place ? (RESOLVE_NO_SYMLINKS | (resolve & (RESOLVE_NO_XDEV | RESOLVE_CACHED)))
                         : resolve;
  std::string path = by_place ? r.path : raw1;
  // A trailing slash asks for a directory (EISDIR on create, ENOTDIR on a file): the
  // resolved path keeps it, as the tracee's own would.
  if (by_place && !raw1.empty() && raw1.back() == '/' && path.back() != '/') path += '/';
  Response res = cont();
  Redirect& rd = res.redirect;
  if (!have_openat2()) {
    // Without openat2: openat on the pinned path. The buffer cannot change; a symlink swapped
    // into the resolved path meanwhile would be followed (guardian(1) says so).
    rd.nr = SYS_openat;
    rd.blob.assign(path.c_str(), path.size() + 1);
    rd.args = {by_place ? static_cast<std::uint64_t>(static_cast<std::int64_t>(AT_FDCWD))
                        : static_cast<std::uint64_t>(static_cast<std::int64_t>(dirfd)),
               0, static_cast<std::uint64_t>(static_cast<unsigned>(flags)), how.mode, 0, 0};
    rd.in_blob = 1u << 1;
    return res;
  }
  rd.nr = SYS_openat2;
  rd.blob.assign(path.c_str(), path.size() + 1);
  rd.blob.resize((rd.blob.size() + 7) & ~std::size_t{7});
  std::size_t how_at = rd.blob.size();
  rd.blob.append(reinterpret_cast<const char*>(&how), sizeof how);
  rd.args = {by_place ? static_cast<std::uint64_t>(static_cast<std::int64_t>(AT_FDCWD))
                      : static_cast<std::uint64_t>(static_cast<std::int64_t>(dirfd)),
             0, how_at, sizeof how, 0, 0};
  rd.in_blob = (1u << 1) | (1u << 2);
  return res;
}

Response Handler::Impl::open_dispatch(Ctx& c) {
  how_addr1 = 0;
  how_resolve1 = 0;
  switch (c.n.nr) {
    case SYS_open: return open_like(c, AT_FDCWD, c.arg(0), c.iarg(1), static_cast<mode_t>(c.arg(2)), 0);
    case SYS_creat:
      return open_like(c, AT_FDCWD, c.arg(0), O_CREAT | O_WRONLY | O_TRUNC,
                       static_cast<mode_t>(c.arg(1)), 0);
    case SYS_openat:
      return open_like(c, c.iarg(0), c.arg(1), c.iarg(2), static_cast<mode_t>(c.arg(3)), 0);
    case SYS_openat2: {
      struct open_how how {};
      std::size_t size = c.arg(3);
      if (size < sizeof how || size > 4096) return error(EINVAL);
      if (!c.t.read(c.arg(2), &how, sizeof how)) return error(EFAULT);
      if (how.flags >> 32 || how.mode >> 32) return error(EINVAL);
      how_addr1 = c.arg(2);  // read again by the kernel's own open (buffer_quiet)
      how_resolve1 = how.resolve;
      return open_like(c, c.iarg(0), c.arg(1), static_cast<int>(how.flags),
                       static_cast<mode_t>(how.mode), how.resolve);
    }
  }
  return error(ENOSYS);
}

// Stat family, access, readlink: decided as `stat`, then run by the kernel (CONTINUE).
// They return metadata only; a thread racing the check could at most learn another
// file's metadata, never its contents (guardian(1) says so).
Response Handler::Impl::file_stat(Ctx& c) {
  int dirfd = AT_FDCWD;
  std::uint64_t path = 0;
  bool follow = true, empty = false;
  auto at = [&](int di, int pi, int fi) {
    dirfd = c.iarg(di);
    path = c.arg(pi);
    if (fi >= 0) {
      follow = !(c.arg(fi) & AT_SYMLINK_NOFOLLOW);
      empty = c.arg(fi) & AT_EMPTY_PATH;
    }
  };
  switch (c.n.nr) {
    case SYS_stat: case SYS_access: case SYS_statfs: path = c.arg(0); break;
    case SYS_lstat: case SYS_readlink: path = c.arg(0); follow = false; break;
    case SYS_newfstatat: at(0, 1, 3); break;
    case SYS_statx: at(0, 1, 2); break;
    case SYS_faccessat: at(0, 1, -1); break;
    case SYS_faccessat2: at(0, 1, 3); break;
    case SYS_readlinkat: at(0, 1, -1); follow = false; empty = true; break;
    case 468: at(0, 1, 4); break;  // file_getattr
    default: return error(ENOSYS);
  }
  Response out;
  if (empty) {
    // fstat() is newfstatat(fd, "", AT_EMPTY_PATH): metadata of a descriptor the process
    // already holds (its open was decided). Not a path decision: let it through.
    if (path == 0) return cont();
    char first = 0;
    if (!c.t.read(path, &first, 1)) return error(EFAULT);
    if (first == 0) return cont();
  }
  ResolveOpts o;
  o.follow = follow;
  o.empty_path = empty;
  o.need_stat = false;  // only the path is decided; the kernel does the stat
  Resolved& r = r1;
  bool cached = false;
  if (!path_decide(c, dirfd, path, o, Op::stat, raw1, r, out, &cached)) return out;
  if (r.err) return error(r.err);
  // A kept "missing" may have been created since: the kernel's stat tells.
  if (!r.exists && !cached) return error(ENOENT);
  return cont();
}

}  // namespace guardian::decode
