// Allowed opens answered CONTINUE instead of emulated where the kernel's own open reaches
// what was decided: reads of paths the session cannot change, and any open by the one live
// task of the session (HandlerOptions::continue_stable_reads says when and why).
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "decode/impl.hpp"
#include "policy/file_ops.hpp"
#include "policy/glob.hpp"

namespace guardian::decode {

using policy::Category;
using policy::Op;
using policy::Verdict;


bool Handler::Impl::may_write(std::string_view path) const {
  policy::Request req;
  req.category = Category::file;
  req.op = Op::write;
  req.path = path;
  req.lexical_path = path;
  return d->decide(req).verdict == Verdict::allow;
}

// To make an existing path name another object one must write (unlink, rename, replace by
// a symbolic link) the path itself or a directory on it, which the profile decides as a
// write of that very path (spec §2); mounts and chroot are refused to the session.
bool Handler::Impl::unwritable(std::string_view path) {
  if (path.empty() || path[0] != '/' || may_write(path)) return false;
  std::size_t cut = path.find_last_of('/');
  std::string_view dir = path.substr(0, cut == 0 ? 1 : cut);
  if (dir == path) return true;  // "/" itself
  if (unwritable_dirs.count(std::string(dir))) return true;
  if (!unwritable(dir)) return false;
  // Bounded: a session walking many trees forgets and walks them again.
  if (unwritable_dirs.size() >= 4096) unwritable_dirs.clear();
  unwritable_dirs.emplace(dir);
  return true;
}

bool Handler::Impl::links_stable(Ctx& c, std::string_view lexical, std::string_view path) {
  const std::int64_t now = now_ns();
  std::string key(lexical);
  if (auto it = stable_links.find(key);
      it != stable_links.end() && now - it->second.born < PathCache::kLifetimeNs)
    return it->second.path == path;
  ResolveOpts o;  // follow, with our walk: it says where each link lies (Resolved::trusted)
  o.need_stat = false;
  Resolved& w = r2;
  if (!resolver.resolve(c.n.tid, c.tgid, AT_FDCWD, lexical, o, w) || w.err || !w.trusted ||
      w.magic || w.followed_fast || w.path != path)
    return false;
  remember(lexical, path);
  return true;
}

bool Handler::Impl::continue_read(Ctx& c, int flags, Op op, const struct stat& st,
                                  std::string_view path, std::string_view lexical,
                                  bool unverified) {
  if (!opts.continue_stable_reads) return false;
  // An absolute path names the same place for the kernel's second walk whatever the
  // tracee's cwd (a relative one is taken from a kept cwd text, which a process outside
  // the session may have moved meanwhile: resolve.hpp). Normalised: the kernel's walk
  // then visits only the directories on it (a "/a/b/../c" visits /a/b, which the checks
  // below would not look at), so that the path as written is the lexical one.
  if (!policy::is_normalized_path(raw1)) return false;
  // Reading only: O_TRUNC truncates even with O_RDONLY; O_PATH and O_TMPFILE are not opens
  // of this file's contents.
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_PATH)) ||
      (flags & O_TMPFILE) == O_TMPFILE)
    return false;
  if (op == Op::write || !S_ISREG(st.st_mode)) return false;
  if (!c.t.can_inject_fd() || !session.memory_quiet(c.n.tid)) return false;
  const bool links = !lexical.empty() && lexical != path;
  if (!unwritable(path) || (links && !unwritable(lexical))) return false;
  // The kernel's open passes the envelope too: where the way went through a system link the
  // envelope may not cover the file it reaches.
  if (!envelope_allows(path, flags)) return false;
  // No other task can rewrite the path buffer before the kernel reads it again, nor the
  // kernel by itself (asked last: it costs an ioctl).
  if (!buffer_quiet(c)) return false;
  if (links && unverified) return links_stable(c, lexical, path);
  remember(raw1, path);
  return true;
}

bool Handler::Impl::buffer_quiet(Ctx& c) {
  // RESOLVE_* flags, were their page emptied (below), would be gone from the kernel's open.
  if (how_addr1 != 0 && how_resolve1 != 0) return false;
  return range_quiet(c, path_addr1, raw1.size() + 1) &&
         (how_addr1 == 0 || range_quiet(c, how_addr1, sizeof(struct open_how)));
}

bool Handler::Impl::range_quiet(Ctx& c, std::uint64_t addr, std::size_t n) {
  // Within one page: a private anonymous page freed lazily (MADV_FREE) reads as zeros once
  // the kernel reclaims it, at any moment (memory pressure, or another process's
  // process_madvise(MADV_PAGEOUT)). A text ending in such a page would lose its tail (a
  // denied name that the allowed one extends: id_rsa for id_rsa.pub); a whole text in one
  // page is then all there or empty (ENOENT).
  static const std::uint64_t page = [] {
    long p = ::sysconf(_SC_PAGESIZE);
    return static_cast<std::uint64_t>(p > 0 ? p : 4096);
  }();
  if (n == 0 || addr / page != (addr + n - 1) / page) return false;
  std::string file;
  switch (c.t.backing(addr, n, file)) {
    case Tracee::Backing::anonymous:
      return true;
    case Tracee::Backing::file:
      // Pages of a private file mapping that the tracee has not written show the file as
      // it is now: whoever writes the file changes them (even with the session reduced to
      // this task, a process outside it that the session can ask to). Devices are not
      // among them: opening one that could map such memory stops all this (note_device),
      // and the session cannot make device nodes.
      return unwritable(file);
    case Tracee::Backing::other:
      break;
  }
  return false;
}

bool Handler::Impl::sole_open(Ctx& c, std::string_view path, int flags, const Resolved* r,
                              bool links) {
  if (!opts.continue_stable_reads || !c.t.can_inject_fd() || (r && r->magic)) return false;
  if (session.sole_task(c.n.tid)) return buffer_quiet(c) && envelope_allows(path, flags);
  // Other tasks live, but none shares this one's memory, descriptors or cwd
  // (walk_private): the path's bytes, the dirfd and the cwd hold still as for the sole
  // task. What the path names could still change through a rename, link or symlink of
  // another task, and those the handler makes itself, each only once every walk let go
  // here has ended (settle_walks, file_write.cpp), as does the removal of a symbolic link
  // (the way through its name then leads to the name itself). Unlinking other files,
  // removing or making directories changes which object a name holds, never where the
  // walk leads, and the decision is the name's. Processes outside the session: the bound PathCache has. Not under
  // /proc: there a name also changes with processes coming and going (another session
  // process's /proc/PID, which the loop may reap meanwhile).
  // Except through a symbolic link the session may write: unlink and mkdir (which wait for
  // no walk) turn it into a directory, and a ".." after it then leads from that directory
  // instead of from where the link pointed (ws/l/../../x decided as the link's target's
  // grandparent's x, walked as ws's parent's x).
  if (links || (r && !r->trusted && r->lexical != r->path)) return false;
  if (under_proc(path) || !session.walk_private(c.n.tid) || !buffer_quiet(c) ||
      !envelope_allows(path, flags))
    return false;
  session.walk_continued(c.n.tid);
  return true;
}

bool Handler::Impl::envelope_allows(std::string_view path, int flags) const {
  if (!opts.envelope) return true;
  if (path.empty() || path[0] != '/') return false;
  const bool write = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) ||
                     (flags & O_TMPFILE) == O_TMPFILE;
  const std::uint8_t need = write ? (policy::kEnvRead | policy::kEnvWrite) : policy::kEnvRead;
  const auto& paths = opts.envelope->paths;  // sorted by path
  std::uint8_t have = 0;
  std::string_view p = path;
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  for (bool self = true;; self = false) {
    auto it = std::lower_bound(paths.begin(), paths.end(), p,
                               [](const policy::EnvelopePath& e, std::string_view v) { return e.path < v; });
    if (it != paths.end() && it->path == p && (it->is_dir || self)) {
      have |= it->access;
      if (it->access & policy::kEnvWrite) have |= policy::kEnvRead;  // write implies read
    }
    if ((have & need) == need) return true;
    if (p == "/") return false;
    std::size_t cut = p.find_last_of('/');
    p = p.substr(0, cut == 0 ? 1 : cut);
  }
}

void Handler::Impl::note_device(const struct stat& st) {
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return;
  if (S_ISCHR(st.st_mode)) {
    const unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
    // /dev/null, zero, full, random, urandom (not mem, kmem, port); ttys, the console, ptmx
    // and pseudo-terminals: none of them writes into a process's memory by itself.
    if (maj == 1 && (min == 3 || min == 5 || min == 7 || min == 8 || min == 9)) return;
    if (maj == 4 || maj == 5 || (maj >= 136 && maj <= 143)) return;
  }
  session.note_memory_writer();
}

void Handler::Impl::remember(std::string_view raw, std::string_view path) {
  if (stable_links.size() >= 1024) stable_links.clear();
  StableLinks& e = stable_links[std::string(raw)];
  e.path.assign(path);
  e.born = now_ns();
}

// Every check of continue_read holds for this raw path but the per-call ones (the flags,
// the caller's memory), which are made again; the file it reaches is a regular file that
// nothing in the session can replace or move, and a second is the bound for processes
// outside the session, as PathCache's. Decided and recorded as quick_open would (the
// object's path, the written one trusted only when no link was on the way); a denial is
// left to the long way.
bool Handler::Impl::stable_open(Ctx& c, int flags, Op op, Response& out) {
  if (!opts.continue_stable_reads || stable_links.empty()) return false;
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_PATH)) ||
      (flags & O_TMPFILE) == O_TMPFILE || op == Op::write)
    return false;
  auto it = stable_links.find(raw1);
  if (it == stable_links.end() || now_ns() - it->second.born >= PathCache::kLifetimeNs) return false;
  const std::string& path = it->second.path;
  if (policy::shm_shared_name(path)) return false;  // own_shm's (file_open.cpp)
  // O_NOFOLLOW on a name that is a link: ELOOP, the long way's.
  if ((flags & O_NOFOLLOW) && path != raw1) return false;
  if (!session.memory_quiet(c.n.tid) || !buffer_quiet(c)) return false;
  policy::Request req;
  req.category = Category::file;
  req.op = op;
  req.pid = c.tgid;
  req.path = path;
  req.lexical_path = raw1;
  req.lexical_trusted = path == raw1;
  policy::Decision dec = d->decide(req);
  if (dec.verdict != Verdict::allow) return false;
  if (apply(c, req, dec, raw1, true, out)) out = cont();
  return true;
}

}  // namespace guardian::decode
