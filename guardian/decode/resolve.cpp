// Path resolution for tracees: one openat2 without symlinks when possible, else a
// component walk with O_PATH|O_NOFOLLOW fds that follows symlinks and /proc magic links
// the way the kernel does, keeping the descriptors it checked.
#include "decode/resolve.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "base/procfs.hpp"

namespace guardian::decode {
namespace {

constexpr int kMaxLinks = 40;  // the kernel's MAXSYMLINKS

// Appends component `name` to absolute `path` (no folding).
void append(std::string& path, std::string_view name) {
  if (path.empty() || path.back() != '/') path += '/';
  path += name;
}

void parent_of(std::string& path) {
  auto pos = path.rfind('/');
  if (pos == std::string::npos || pos == 0) path = "/";
  else path.resize(pos);
}

// A procfs link whose text is not a plain relative path is a magic link: the kernel
// follows it to the object, not to the text.
bool magic_text(std::string_view text) {
  return text.empty() || text[0] == '/' || text.find(':') != std::string_view::npos;
}

pid_t pid_in_proc_path(std::string_view p) {
  if (p.substr(0, 6) != "/proc/") return 0;
  p.remove_prefix(6);
  pid_t pid = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), pid);
  if (ec != std::errc()) return 0;
  return pid;
}

int open_path(int dirfd, const char* name, bool follow) {
  return ::openat(dirfd, name, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
}

}  // namespace

std::int64_t now_ns() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // vDSO: no syscall
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool under_proc(std::string_view p) noexcept {
  return p.substr(0, 5) == "/proc" && (p.size() == 5 || p[5] == '/');
}

void Resolved::clear() {
  path.clear();
  lexical.clear();
  trusted = true;
  magic = false;
  magic_pid = 0;
  magic_fdinfo.clear();
  followed_fast = false;
  parent.reset();
  name.clear();
  target.reset();
  exists = false;
  st = {};
  err = 0;
}

bool Resolved::anonymous() const noexcept {
  return path.empty() || path[0] != '/' || std::string_view(path).substr(0, 7) == "/memfd:";
}

bool fd_path(int fd, std::string& out) {
  char name[12];
  char buf[4096];
  ssize_t n = ::readlinkat(procfs::self_fd_dir(), procfs::fd_name(fd, name), buf, sizeof buf);
  if (n < 0 || n == static_cast<ssize_t>(sizeof buf)) return false;
  out.assign(buf, static_cast<std::size_t>(n));
  return true;
}

void lexical_join(std::string_view base, std::string_view rel, std::string& out) {
  out.clear();
  if (rel.empty() || rel[0] != '/') out.assign(base);
  if (out.empty()) out = "/";
  std::size_t i = 0;
  while (i < rel.size()) {
    while (i < rel.size() && rel[i] == '/') ++i;
    std::size_t j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    auto comp = rel.substr(i, j - i);
    i = j;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      parent_of(out);
      continue;
    }
    append(out, comp);
  }
}

Resolver::Resolver(std::function<bool(std::string_view)> may_write)
    : may_write_(std::move(may_write)) {
  // The session cannot chroot (refused) nor make mount namespaces (closed in BPF), so
  // its root is ours: absolute paths start at our "/".
  root_.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct statfs sfs {};
  struct stat st {};
  if (::statfs("/proc", &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC && ::stat("/proc", &st) == 0)
    proc_dev_ = st.st_dev;
}

namespace {
// The name under /proc/TID of the tracee's starting directory: "cwd" or "fd/N".
bool start_name(int dirfd, char* rel, std::size_t cap, int& err) {
  if (cap < 16) {
    err = ENAMETOOLONG;
    return false;
  }
  if (dirfd == AT_FDCWD) std::memcpy(rel, "cwd", 4);
  else if (dirfd >= 0) procfs::fd_rel(dirfd, rel);
  else {
    err = EBADF;
    return false;
  }
  return true;
}
}  // namespace

bool Resolver::start(pid_t tid, int dirfd, UniqueFd& fd, std::string& path, int& err) {
  char rel[24];
  if (!start_name(dirfd, rel, sizeof rel, err)) return false;
  fd.reset(procfs::pid_dirs().open(tid, rel, O_PATH, err));
  if (!fd) {
    if (err == ENOENT || err == ESRCH) err = dirfd == AT_FDCWD ? ESRCH : EBADF;
    return false;
  }
  if (!fd_path(fd.get(), path)) {
    err = errno ? errno : ENAMETOOLONG;
    return false;
  }
  return true;
}

// The path of the tracee's cwd or dirfd as text (one readlink, no descriptor). Only a
// plain absolute directory path qualifies; anything else goes the descriptor way.
bool Resolver::start_text(pid_t tid, int dirfd, std::string& path) {
  const bool keep = dirfd == AT_FDCWD && keep_cwd_ && tid == cur_tid_;
  std::int64_t now = 0;
  start_kept_ = false;
  if (keep) {
    now = now_ns();
    auto it = cwds_.find(tid);
    if (it != cwds_.end() && it->second.serial == cur_serial_ &&
        now - it->second.born < kCwdLifetimeNs) {
      path = it->second.text;
      start_kept_ = true;
      return true;
    }
  }
  char rel[24];
  int err = 0;
  if (!start_name(dirfd, rel, sizeof rel, err)) return false;
  if (!procfs::pid_dirs().readlink(tid, rel, path, err)) return false;
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.empty() || path[0] != '/') return false;  // pipe:[..], anon_inode:..
  if (path.size() >= kDeleted.size() &&
      std::string_view(path).substr(path.size() - kDeleted.size()) == kDeleted)
    return false;
  if (keep) {
    if (cwds_.size() >= 4096) cwds_.clear();
    KeptCwd& k = cwds_[tid];
    k.serial = cur_serial_;
    k.born = now;
    k.text = path;
  }
  return true;
}

bool Resolver::text_path(pid_t tid, int dirfd, std::string_view raw, std::string& joined,
                         std::string& lexical) {
  if (raw.empty() || !root_) return false;
  if (raw[0] == '/') {
    joined.assign(raw);
    lexical_join("/", raw, lexical);
    return true;
  }
  if (!start_text(tid, dirfd, scratch_)) return false;
  joined.assign(scratch_);
  joined += '/';
  joined.append(raw);
  lexical_join(scratch_, raw, lexical);
  return true;
}

bool Resolver::quick_entry(pid_t tid, int dirfd, std::string_view raw, Resolved& out) {
  out.clear();
  // A trailing slash, "." or ".." as the last component: the kernel's special cases
  // (EISDIR, EINVAL, ENOTEMPTY...) come from the full resolution.
  if (raw.empty() || raw.back() == '/') return false;
  std::size_t slash = raw.rfind('/');
  std::string_view name = slash == std::string_view::npos ? raw : raw.substr(slash + 1);
  if (name == "." || name == "..") return false;
  if (!text_path(tid, dirfd, raw, joined_, out.lexical)) return false;
  // `joined_` ends with `name`: what is left is the directory part, ending in '/'.
  dir_.assign(joined_, 0, joined_.size() - name.size());
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC | O_DIRECTORY;
  how.resolve = RESOLVE_NO_SYMLINKS;
  int pfd = static_cast<int>(::syscall(SYS_openat2, root_.get(), dir_.c_str(), &how, sizeof how));
  if (pfd < 0) {
    out.clear();
    return false;
  }
  out.parent.reset(pfd);
  out.name.assign(name);
  out.path = out.lexical;
  return true;
}

bool Resolver::resolve(pid_t tid, pid_t tgid, int dirfd, std::string_view raw,
                       const ResolveOpts& opts, Resolved& out) {
  out.clear();
  if (!root_) {
    out.err = EACCES;
    return false;
  }
  UniqueFd startfd;
  std::string& startpath = scratch_;
  startpath.clear();
  bool absolute = !raw.empty() && raw[0] == '/';
  if (absolute) {
    startpath = "/";
  } else {
    if (raw.empty() && !opts.empty_path) {
      out.err = ENOENT;
      lexical_join("/", raw, out.path);
      return true;
    }
    // Fast way for a relative path: the start directory's path as text, then the same
    // symlink-free lookup from our root. What is decided and what is then used (our
    // descriptors, or the kernel's own lookup for CONTINUE) is this absolute path; if the
    // directory moved meanwhile, that is the same race a rename makes natively.
    if (!raw.empty() && start_text(tid, dirfd, startpath)) {
      joined_.assign(startpath);
      joined_ += '/';
      joined_.append(raw);
      lexical_join(startpath, raw, out.lexical);
      if (!opts.symlink_seen && fast(root_.get(), joined_, opts, out)) return true;
      out.clear();
      lexical_join(startpath, raw, out.lexical);
      if (follow(root_.get(), joined_, opts, out)) return true;
      out.clear();
    }
    startpath.clear();
    if (!start(tid, dirfd, startfd, startpath, out.err)) return false;
  }
  lexical_join(startpath, raw, out.lexical);
  if (raw.empty()) {  // AT_EMPTY_PATH: the dirfd's object itself
    out.target = std::move(startfd);
    out.path = startpath;
    out.lexical = out.path;
    out.exists = ::fstat(out.target.get(), &out.st) == 0;
    if (!out.exists) out.err = errno;
    return true;
  }
  int sfd = absolute ? root_.get() : startfd.get();
  std::string sp = startpath;
  if (!opts.symlink_seen && fast(sfd, raw, opts, out)) return true;
  if (absolute) {
    std::string lex = std::move(out.lexical);
    out.clear();
    out.lexical = std::move(lex);
    joined_.assign(raw);
    if (follow(sfd, joined_, opts, out)) return true;
  }
  UniqueFd cur;
  if (!absolute) cur = std::move(startfd);
  walk(std::move(cur), std::move(sp), raw, tid, tgid, opts, out);
  return true;
}

// One openat2 with RESOLVE_NO_SYMLINKS: when no symlink (or magic link) is on the way, the
// lexical fold is the resolved path. Any symlink makes it fail with ELOOP: walk instead.
bool Resolver::fast(int startfd, std::string_view raw,
                    const ResolveOpts& opts, Resolved& out) {
  // Reused buffers (this is every stat-family miss): no allocation once they have grown.
  std::string& path = fast_path_;
  path.assign(raw);
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC | (opts.follow ? 0 : O_NOFOLLOW);
  how.resolve = RESOLVE_NO_SYMLINKS;
  // Split into directory part and last component (the name keeps a trailing slash).
  std::size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;
  std::size_t slash = path.rfind('/', end - 1);

  int fd = static_cast<int>(::syscall(SYS_openat2, startfd, path.c_str(), &how, sizeof how));
  if (fd < 0 && errno != ENOENT) return false;
  if (fd >= 0) {
    out.target.reset(fd);
    if (opts.need_stat && ::fstat(fd, &out.st) != 0) return false;
    out.exists = true;
  }
  // A missing name without symlinks on the way decides as its lexical path whichever
  // component is missing (ENOENT, as the kernel says); only a creation needs to know
  // which, and to hold the parent.
  if (!out.exists && !opts.need_parent) out.err = ENOENT;
  if (opts.need_parent) {
    if (slash == std::string::npos) dir_.assign(".");
    else dir_.assign(path, 0, slash + 1);
    how.flags = O_PATH | O_CLOEXEC | O_DIRECTORY;
    int pfd = static_cast<int>(::syscall(SYS_openat2, startfd, dir_.c_str(), &how, sizeof how));
    if (pfd < 0) {
      out.target.reset();
      out.exists = false;
      return false;
    }
    out.parent.reset(pfd);
  }
  if (slash == std::string::npos) out.name.assign(path);
  else out.name.assign(path, slash + 1);
  out.path = out.lexical;
  return true;
}

// One openat2 that follows ordinary symlinks but refuses magic links (RESOLVE_NO_MAGICLINKS),
// then the object's own path (d_path through /proc/self/fd). The walk's extra knowledge is
// not needed when: no magic link was crossed (refused), the object is not in procfs (whose
// /proc/self would be ours, not the tracee's: such paths take the walk), and the caller
// treats `trusted` as unknown (followed_fast). The object is held, so what is decided is
// what is used.
bool Resolver::follow(int startfd, const std::string& raw, const ResolveOpts& opts,
                      Resolved& out) {
  if (!opts.kernel_follow || opts.need_parent || !proc_dev_) return false;
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC | (opts.follow ? 0 : O_NOFOLLOW);
  how.resolve = RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, startfd, raw.c_str(), &how, sizeof how));
  if (fd < 0) return false;
  out.target.reset(fd);
  constexpr std::string_view kDeleted = " (deleted)";
  if (::fstat(fd, &out.st) != 0 || out.st.st_dev == proc_dev_ || !fd_path(fd, out.path) ||
      out.path.empty() || out.path[0] != '/' ||
      (out.path.size() >= kDeleted.size() &&
       std::string_view(out.path).substr(out.path.size() - kDeleted.size()) == kDeleted)) {
    out.target.reset();
    out.path.clear();
    out.st = {};
    return false;
  }
  out.exists = true;
  out.trusted = false;
  out.followed_fast = true;
  std::size_t end = raw.size();
  while (end > 1 && raw[end - 1] == '/') --end;
  std::size_t slash = raw.rfind('/', end - 1);
  out.name = slash == std::string::npos ? raw : raw.substr(slash + 1);
  return true;
}

void Resolver::walk(UniqueFd curown, std::string curpath, std::string_view raw, pid_t tid,
                    pid_t tgid, const ResolveOpts& opts, Resolved& out) {
  int cur = curown ? curown.get() : root_.get();
  if (!curown) curpath = "/";
  std::string rest(raw), name, remaining, text;
  int links = 0;
  char buf[4096];
  auto own_cur = [&]() -> UniqueFd {
    if (curown) return std::move(curown);
    return UniqueFd(::fcntl(cur, F_DUPFD_CLOEXEC, 0));
  };
  auto fail = [&](int e) {
    out.err = e;
    std::string tail = name;
    if (!remaining.empty()) tail += "/" + remaining;
    std::string base = curpath;
    lexical_join(base, tail, out.path);
  };
  for (;;) {
    std::size_t i = 0;
    while (i < rest.size() && rest[i] == '/') ++i;
    if (i == rest.size()) {  // nothing left: the object is cur itself ("/", "a/.")
      out.target = own_cur();
      out.path = curpath;
      out.exists = out.target && ::fstat(out.target.get(), &out.st) == 0;
      if (opts.need_parent) out.parent.reset(::openat(out.target.get(), "..", O_PATH | O_CLOEXEC));
      out.name = ".";
      return;
    }
    std::size_t j = rest.find('/', i);
    if (j == std::string::npos) j = rest.size();
    name.assign(rest, i, j - i);
    std::size_t k = j;
    while (k < rest.size() && rest[k] == '/') ++k;
    bool last = k == rest.size();
    bool trailing = last && j < rest.size();
    remaining.assign(rest, k, std::string::npos);

    if (name == ".") {
      if (last) {
        out.target = own_cur();
        out.parent.reset(::fcntl(out.target.get(), F_DUPFD_CLOEXEC, 0));
        out.name = ".";
        out.path = curpath;
        out.exists = ::fstat(out.target.get(), &out.st) == 0;
        return;
      }
      rest.swap(remaining);
      continue;
    }
    if (name == "..") {
      UniqueFd up(::openat(cur, "..", O_PATH | O_CLOEXEC | O_DIRECTORY));
      if (!up) return fail(errno);
      parent_of(curpath);
      if (last) {
        out.parent = own_cur();
        out.name = "..";
        out.target = std::move(up);
        out.path = curpath;
        out.exists = ::fstat(out.target.get(), &out.st) == 0;
        return;
      }
      curown = std::move(up);
      cur = curown.get();
      rest.swap(remaining);
      continue;
    }
    bool follow_here = !last || opts.follow || trailing;
    // /proc/self and /proc/thread-self name the *reader*: substitute the tracee's ids.
    if (proc_dev_ && curpath == "/proc" && (name == "self" || name == "thread-self") &&
        follow_here) {
      if (++links > kMaxLinks) return fail(ELOOP);
      text = std::to_string(tgid);
      if (name == "thread-self") text += "/task/" + std::to_string(tid);
      if (!remaining.empty()) text += "/" + remaining;
      else if (trailing) text += "/";
      rest.swap(text);
      continue;
    }
    UniqueFd fd(open_path(cur, name.c_str(), false));
    if (!fd) {
      int e = errno;
      if (e == ENOENT && last) {
        out.parent = own_cur();
        out.name = trailing ? name + "/" : name;
        out.path = curpath;
        append(out.path, name);
        out.exists = false;
        return;
      }
      return fail(e);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail(errno);
    if (S_ISLNK(st.st_mode) && follow_here) {
      if (++links > kMaxLinks) return fail(ELOOP);
      ssize_t n = ::readlinkat(fd.get(), "", buf, sizeof buf);
      if (n < 0) return fail(errno);
      if (n == static_cast<ssize_t>(sizeof buf)) return fail(ENAMETOOLONG);
      text.assign(buf, static_cast<std::size_t>(n));
      if (proc_dev_ && st.st_dev == proc_dev_ && magic_text(text)) {
        // A magic link: the kernel jumps to the object it names. So do we, and name it
        // by the path of the object we now hold.
        UniqueFd obj(open_path(cur, name.c_str(), true));
        if (!obj) return fail(errno);
        const std::string link_dir = curpath;  // /proc/PID/fd for a descriptor's link
        out.magic = true;
        out.trusted = false;
        if (!out.magic_pid) out.magic_pid = pid_in_proc_path(curpath);
        std::string objpath;
        if (!fd_path(obj.get(), objpath)) return fail(ENAMETOOLONG);
        if (objpath.empty() || objpath[0] != '/') {  // pipe:[..], socket:[..], anon_inode:..
          if (!last) return fail(ENOTDIR);
          out.parent = own_cur();
          out.name = name;
          out.target = std::move(obj);
          out.path = objpath;
          out.exists = ::fstat(out.target.get(), &out.st) == 0;
          return;
        }
        curown = std::move(obj);
        cur = curown.get();
        curpath = objpath;
        if (last) {
          if (link_dir.size() > 3 && link_dir.compare(link_dir.size() - 3, 3, "/fd") == 0 &&
              !name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
            out.magic_fdinfo = link_dir + "info/" + name;
          out.target = own_cur();
          out.path = curpath;
          out.exists = ::fstat(out.target.get(), &out.st) == 0;
          if (opts.need_parent)
            out.parent.reset(::openat(out.target.get(), "..", O_PATH | O_CLOEXEC));
          out.name = ".";
          return;
        }
        rest.swap(remaining);
        continue;
      }
      // An ordinary symlink: if the session could have planted it, the lexical path must
      // not widen anything.
      std::string linkpath = curpath;
      append(linkpath, name);
      if (out.trusted && may_write_ && may_write_(linkpath)) out.trusted = false;
      if (!remaining.empty()) text += "/" + remaining;
      else if (trailing) text += "/";
      rest.swap(text);
      if (!rest.empty() && rest[0] == '/') {
        curown.reset();
        cur = root_.get();
        curpath = "/";
      }
      continue;
    }
    if (last) {
      out.parent = own_cur();
      out.name = trailing ? name + "/" : name;
      out.target = std::move(fd);
      out.st = st;
      out.exists = true;
      out.path = curpath;
      append(out.path, name);
      return;
    }
    append(curpath, name);
    curown = std::move(fd);
    cur = curown.get();
    rest.swap(remaining);
  }
}

bool Resolver::fd_object(pid_t tid, int fd, Resolved& out) {
  out.clear();
  char link[48];
  std::snprintf(link, sizeof link, "/proc/%d/fd/%d", tid, fd);
  out.target.reset(::open(link, O_PATH | O_CLOEXEC));
  if (!out.target) {
    out.err = errno == ENOENT ? EBADF : errno;
    return false;
  }
  return own_fd_object(out.target.get(), out);
}

bool Resolver::own_fd_object(int fd, Resolved& out, bool need_stat) {
  if (!fd_path(fd, out.path) || (need_stat && ::fstat(fd, &out.st) != 0)) {
    out.err = EBADF;
    return false;
  }
  out.exists = true;
  out.lexical = out.path;
  return true;
}

}  // namespace guardian::decode
