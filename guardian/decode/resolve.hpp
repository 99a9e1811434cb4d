// Path resolution as the kernel would do it for a tracee, done by the supervisor with
// O_PATH descriptors so that what is decided is exactly what is later used.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/unique_fd.hpp"

namespace guardian::decode {

// CLOCK_MONOTONIC_COARSE in nanoseconds (vDSO: no syscall): the clock of the decode
// caches' lifetimes.
std::int64_t now_ns();

// The outcome of resolving one path argument. Reused between calls (keeps capacity).
struct Resolved {
  std::string path;     // resolved absolute path (or "pipe:[..]" etc. for anonymous objects)
  std::string lexical;  // absolute path as given, . and .. folded, symlinks not followed
  bool trusted = true;  // every symlink followed lies where the session may not write
  // The kernel followed the symlinks (ResolveOpts::kernel_follow): `trusted` is false
  // because nobody looked at them; a caller that gets a denial must resolve again with
  // kernel_follow off, which may find the links trusted.
  bool followed_fast = false;
  bool magic = false;   // a /proc magic link (fd/N, cwd, root, exe) was followed
  pid_t magic_pid = 0;  // the PID whose /proc/PID/{fd,...} magic link was followed
  // When the last component was such a link /proc/PID[/task/TID]/fd/N: that directory's
  // fdinfo entry for N ("/proc/PID/fdinfo/N"), which says how N is held; else empty.
  std::string magic_fdinfo;
  UniqueFd parent;      // O_PATH of the directory holding the last component (when asked)
  std::string name;     // last component as given (may keep a trailing '/'); "" if none
  UniqueFd target;      // O_PATH of the final object when it exists
  bool exists = false;
  struct stat st {};    // of target, when it exists
  int err = 0;          // resolution failed with this errno; `path` is the best effort

  void clear();
  // True when the final object is not a path in a filesystem (pipe, socket, anon inode,
  // memfd): reachable only by someone who already holds it.
  bool anonymous() const noexcept;
};

// True for /proc and paths below it: procfs names processes (self, other PIDs), which only
// the full resolution handles.
bool under_proc(std::string_view path) noexcept;

struct ResolveOpts {
  bool follow = true;        // follow a trailing symlink (false: AT_SYMLINK_NOFOLLOW, O_NOFOLLOW)
  bool empty_path = false;   // AT_EMPTY_PATH: "" names the dirfd itself
  bool need_parent = false;  // keep an O_PATH fd of the parent directory in `parent`
  bool need_stat = true;     // fill Resolved::st (stat-family decisions need only the path)
  // When symlinks are on the way, let the kernel follow them in one openat2 (magic links
  // refused) instead of the component walk; see Resolved::followed_fast. Not with
  // need_parent.
  bool kernel_follow = false;
  // A symlink is known to be on the way (an openat2 with RESOLVE_NO_SYMLINKS of this very
  // path just failed with ELOOP): skip the symlink-free attempt and follow at once.
  bool symlink_seen = false;
  // The caller already read the path argument and proved it with ID_VALID (path_decide
  // then uses it as it is instead of reading it again).
  bool raw_ready = false;
};

// Resolves tracee paths. `may_write(path)` answers whether the session may write `path`
// (used to decide whether a followed symlink could have been planted by the session).
class Resolver {
 public:
  explicit Resolver(std::function<bool(std::string_view)> may_write);
  // Resolves `raw` for thread `tid` of process `tgid`, relative to `dirfd` (AT_FDCWD or
  // one of the tracee's descriptors). Returns false only when resolution could not even
  // start (the process is gone, dirfd invalid): out.err holds why.
  bool resolve(pid_t tid, pid_t tgid, int dirfd, std::string_view raw, const ResolveOpts& opts,
               Resolved& out);
  // The object behind the tracee's descriptor `fd` (as out.target) and the path it names.
  bool fd_object(pid_t tid, int fd, Resolved& out);
  // The object behind one of our own descriptors (e.g. one taken with pidfd_getfd).
  // need_stat = false: only the path (Resolved::st left empty).
  bool own_fd_object(int fd, Resolved& out, bool need_stat = true);

  // The quick way for a path without symlinks, as text only (at most one readlink of the
  // start directory, no descriptor): `lexical` gets the folded absolute path, which is what
  // is decided; `joined` the same unfolded, which is what an openat2 from root_fd() with
  // RESOLVE_NO_SYMLINKS then walks. Such a walk reaches exactly `lexical` or fails (ELOOP
  // on any symlink or magic link, else the kernel's own errno for that path). False when
  // the start is not a plain directory path: use resolve().
  bool text_path(pid_t tid, int dirfd, std::string_view raw, std::string& joined,
                 std::string& lexical);
  // Name operations (unlink, mkdir, rename...) the quick way: `out.parent` is the directory
  // holding the last component, opened with RESOLVE_NO_SYMLINKS; `out.name`, `out.path`
  // (= lexical) as resolve() gives them; the object itself is not looked at (the operation
  // never follows it). False (nothing held) when the last component is not a plain name,
  // the start is not a plain path or the directory part has a symlink: use resolve().
  bool quick_entry(pid_t tid, int dirfd, std::string_view raw, Resolved& out);

  int root_fd() const noexcept { return root_.get(); }
  // The text of the tracee's cwd (AT_FDCWD) or dirfd when it is a plain absolute directory
  // path (one readlink, no descriptor); false otherwise. A cwd's text may come from the
  // kept ones (see begin).
  bool start_text(pid_t tid, int dirfd, std::string& path);
  // The last start_text answer was a kept cwd text (see begin), not one read just now.
  bool start_kept() const noexcept { return start_kept_; }

  // Per notification: the thread asking (`serial` tells a reused TID apart, 0 = unknown)
  // and whether its cwd's text may be kept and reused for later notifications (the caller
  // says no while a chdir of the session may still be under way). Why reuse is safe: the
  // text only changes by chdir/fchdir (the caller forgets all on each), by renaming or
  // removing a directory above it (the session's own go through the caller, which forgets
  // all; another process's are bounded by kCwdLifetimeNs, as PathCache) and by exec of a
  // thread with its own cwd (forgotten on every exec). Opens and name operations use the
  // text itself (RESOLVE_NO_SYMLINKS from our root): a stale one changes which file is
  // meant, never what is decided for it. Calls the kernel runs itself (stat family) could
  // then reach another path than the one decided: metadata only, and only when a process
  // outside the session moved the directory, as PathCache.
  void begin(pid_t tid, std::uint64_t serial, bool keep_cwd) noexcept {
    cur_tid_ = tid;
    cur_serial_ = serial;
    keep_cwd_ = keep_cwd && serial != 0;
  }
  // Forgets every kept cwd text.
  void forget_cwds() noexcept { cwds_.clear(); }
  static constexpr std::int64_t kCwdLifetimeNs = 1'000'000'000;

 private:
  bool start(pid_t tid, int dirfd, UniqueFd& fd, std::string& path, int& err);
  bool fast(int startfd, std::string_view raw, const ResolveOpts& opts, Resolved& out);
  bool follow(int startfd, const std::string& raw, const ResolveOpts& opts, Resolved& out);
  void walk(UniqueFd cur, std::string curpath, std::string_view raw, pid_t tid, pid_t tgid,
            const ResolveOpts& opts, Resolved& out);

  struct KeptCwd {
    std::uint64_t serial;
    std::int64_t born;
    std::string text;
  };
  std::unordered_map<pid_t, KeptCwd> cwds_;  // by TID
  pid_t cur_tid_ = 0;
  std::uint64_t cur_serial_ = 0;
  bool keep_cwd_ = false;
  bool start_kept_ = false;

  std::function<bool(std::string_view)> may_write_;
  UniqueFd root_;
  dev_t proc_dev_ = 0;
  std::string scratch_, joined_, dir_, fast_path_;
};

// Folds `rel` onto absolute `base` lexically (., .., duplicate slashes); result absolute.
void lexical_join(std::string_view base, std::string_view rel, std::string& out);
// The path an fd of ours names (readlink of /proc/self/fd/N); false on failure.
bool fd_path(int fd, std::string& out);

}  // namespace guardian::decode
