// The Handler: dispatch by family, the common decide/complain/kill/audit step, exec
// verification. Decoders live in one file per family (file_*.cpp, exec.cpp, net.cpp, ...).
#include "decode/handler.hpp"

#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/procfs.hpp"
#include "decode/impl.hpp"

namespace guardian::decode {

using policy::Category;
using policy::Op;
using policy::Verdict;

Handler::Impl::Impl(const Decider& dec, audit::AuditLog& l, SessionView& s, HandlerOptions o)
    : d(&dec), log(l), session(s), opts(std::move(o)), resolver([this](std::string_view p) {
        // Could the session have written a symlink at `p`? Then it must not widen rules.
        return may_write(p);
      }) {
  raw1.reserve(4096);
  raw2.reserve(4096);
}

Handler::Handler(const Decider& decider, audit::AuditLog& log, SessionView& session,
                 HandlerOptions opts)
    : impl_(std::make_unique<Impl>(decider, log, session, std::move(opts))) {}

Handler::~Handler() = default;

Response Handler::handle(const Notification& n, Tracee& t) { return impl_->handle(n, t); }

void Handler::allow_first_exec(const std::string& resolved_path) {
  impl_->first_exec = resolved_path;
}

// A thread other than the leader that execs takes over the leader's pid, so the entry may be
// under another tid of the same process.
bool Handler::verify_exec(pid_t tid, pid_t tgid, const std::string& loaded_exe) {
  auto& m = impl_->pending_exec;
  auto it = m.find(tid);
  if (it == m.end())
    for (auto i = m.begin(); i != m.end(); ++i)
      if (i->second.tgid == tgid || i->first == tgid) {
        it = i;
        break;
      }
  bool ok = false;
  if (it != m.end()) {
    ok = it->second.exe == loaded_exe;
    // Another thread of the same process may have decided the program that won.
    if (!ok)
      for (auto& [k, v] : m)
        if (v.tgid == tgid && v.exe == loaded_exe) ok = true;
  }
  for (auto i = m.begin(); i != m.end();)
    i = (i->second.tgid == tgid || i->first == tid) ? m.erase(i) : std::next(i);
  // The loader run as a program: what it opens first is the program it will run.
  Impl& h = *impl_;
  h.loader_runs.erase(tgid);
  h.unverified_exec.erase(tgid);
  if (loaded_exe == h.loader()) h.loader_runs.insert(tgid);
  // A valgrind tool runs the program its command line names: its opens of it are execs.
  if (!h.note_valgrind(tgid, loaded_exe)) ok = false;
  // The exec is done: a thread with its own cwd may now hold the leader's TID, whose kept
  // cwd text (read meanwhile by the old leader) would be another directory's.
  impl_->resolver.forget_cwds();
  return ok || impl_->opts.mode == Mode::complain;
}

namespace {
// Calls that remove, replace or add names other than by creating a new file or directory:
// after them a kept stat resolution (PathCache) may name something else.
bool changes_names(int nr) {
  switch (nr) {
    case SYS_unlink: case SYS_unlinkat: case SYS_rmdir: case SYS_rename: case SYS_renameat:
    case SYS_renameat2: case SYS_link: case SYS_linkat: case SYS_symlink: case SYS_symlinkat:
      return true;
    default:
      return false;
  }
}
}  // namespace

Response Handler::Impl::handle(const Notification& n, Tracee& t) {
  // Other ABIs are closed in the filter; should one arrive here, refuse it.
  if (n.arch != AUDIT_ARCH_X86_64) return error(ENOSYS);
  const SyscallInfo* sc = find_syscall(n.nr);
  static constexpr SyscallInfo kIoctl{16, "ioctl", Family::system, Filter::notify};
  // FIOSETOWN, SIOCSPGRP: a socket's owner, decided like fcntl(F_SETOWN) (process.cpp);
  // TIOCSPGRP: the terminal's foreground group; FIOASYNC: I/O signals on (process.cpp).
  static constexpr SyscallInfo kIoctlOwner{16, "ioctl", Family::process, Filter::notify};
  // FS_IOC_SETFLAGS (and its 32-bit number), FS_IOC_FSSETXATTR: chattr, a write (file_fd);
  // FS_IOC_SETVERSION, EXT4_IOC_SETVERSION (and their 32-bit numbers): the generation, too;
  // FS_IOC_ENABLE_VERITY: the file made immutable.
  static constexpr SyscallInfo kIoctlAttr{16, "ioctl", Family::file_fd, Filter::notify};
  if (!sc && n.nr == kIoctl.nr) {  // the filter notifies TIOCSTI/TIOCLINUX, owners, chattr
    const auto cmd = static_cast<std::uint32_t>(n.args[1]);
    sc = cmd == 0x8901 || cmd == 0x8902 || cmd == 0x5410 || cmd == 0x5452 ? &kIoctlOwner
         : cmd == 0x40086602 || cmd == 0x40046602 || cmd == 0x401c5820 || cmd == 0x40087602 ||
                 cmd == 0x40047602 || cmd == 0x40086604 || cmd == 0x40046604 || cmd == 0x40806685
             ? &kIoctlAttr
                                                                      : &kIoctl;
  }
  if (!sc) return error(EPERM);                // not ours to allow: fail closed
  if (sc->filter == Filter::enosys) return error(ENOSYS);
  if (sc->filter == Filter::errno_) return error(EPERM);
  if (!umask_in_flight.empty()) std::erase(umask_in_flight, n.tid);  // its umask() is done
  session.task_seen(n.tid);  // so is any open of it answered CONTINUE (walk_continued)
  // A chdir is done once its thread is seen again or gone; until then no cwd text is kept
  // (one read meanwhile could be the old directory's).
  const std::uint64_t serial = session.serial_of(n.tid);
  if (!chdir_in_flight.empty())
    std::erase_if(chdir_in_flight, [&](const std::pair<pid_t, std::uint64_t>& t) {
      return t.first == n.tid || session.serial_of(t.first) != t.second;
    });
  if (sc->nr == SYS_chdir || sc->nr == SYS_fchdir) {
    resolver.forget_cwds();
    chdir_in_flight.emplace_back(n.tid, serial);
  } else if (sc->family == Family::exec) {
    resolver.forget_cwds();  // a thread with its own cwd may become the leader (and below)
  }
  resolver.begin(n.tid, serial, chdir_in_flight.empty());
  pid_t tgid = session.tgid_of(n.tid);
  Ctx c{n, t, *sc, tgid > 0 ? tgid : n.tid};
  // These families only answer (CONTINUE or an errno): see valid().
  // (Not file_read: xattr reads write what they read into the tracee's memory.)
  answer_only = t.answer_proves_valid() &&
                (sc->family == Family::file_stat || sc->family == Family::exec ||
                 sc->family == Family::system);
  switch (sc->family) {
    case Family::file_open: return file_open(c);
    case Family::file_stat: return file_stat(c);
    case Family::file_read: return file_read(c);
    case Family::file_write: {
      Response r = file_write(c);
      // Names changed (or may have): kept stat resolutions and cwd texts may no longer
      // hold. (After the call: its own resolution may have kept the old text.)
      if (changes_names(n.nr)) {
        stat_cache.clear();
        plain_dirs.clear();
        forget_looks();
        resolver.forget_cwds();
      }
      return r;
    }
    case Family::file_fd: return file_fd(c);
    case Family::exec:
      ++umask_gen;  // a non-leader's exec hands it the leader's tid: forget what we knew
      return exec(c);
    case Family::net: return net(c);
    case Family::process: return process(c);
    case Family::system: return system(c);
  }
  return error(EPERM);
}

bool Handler::Impl::apply(Ctx& c, const policy::Request& req, policy::Decision dec,
                          std::string_view raw, bool engine, Response& out) {
  Verdict v = dec.verdict == Verdict::allow ? Verdict::allow : Verdict::deny;
  bool go = v == Verdict::allow;
  int err = 0;
  if (!go && engine && !hiding && opts.mode == Mode::enforce && opts.asker) {
    // on_deny: ask — a human answers; pending means hold the syscall (no record yet).
    // Only the profile's denials: closed doors decided locally (TIOCSTI, signals outside
    // the session...) are not a human's to open.
    AskQuery q;
    q.key = c.n.id;
    q.pid = c.tgid;
    q.tid = c.n.tid;
    q.exe = session.exe_of(c.tgid);
    q.syscall.assign(c.sc.name);
    q.category = req.category;
    q.op = req.op;
    q.path.assign(req.path);
    if (req.category == Category::network) q.addr = addr_text;
    q.host.assign(req.host);
    auto reply = opts.asker->consult(q);
    if (reply.answer == Asker::Answer::pending) {
      out = Response();
      out.kind = Response::Kind::defer;
      argv.clear();
      return false;
    }
    if (reply.answer == Asker::Answer::allow) {
      v = Verdict::allow;
      go = true;
      dec.rule = reply.rule;
    }
  }
  if (!go) {
    if (opts.mode == Mode::complain) {
      v = Verdict::would_deny;
      go = true;
    } else if (d->on_deny() == policy::OnDeny::kill && !hiding) {
      v = Verdict::kill;
      out = Response();
      out.kind = Response::Kind::kill;
    } else {
      err = dec.err ? dec.err : d->deny_errno();
      out = error(err);
    }
  }
  if (v == Verdict::allow && (!d->audit_allows() || !log.records_allows())) {
    // Nothing would be written: count it, build nothing (the common case without --audit).
    log.count_allow();
    argv.clear();
    return go;
  }
  rec.pid = c.tgid;
  rec.tid = c.n.tid;
  rec.ppid = session.ppid_of(c.tgid);
  rec.exe = session.exe_of(c.tgid);
  rec.syscall.assign(c.sc.name);
  rec.category = req.category;
  rec.op = req.op;
  rec.path.assign(req.path);
  rec.raw_path.assign(raw);
  if (req.category == Category::network) rec.addr = addr_text;
  else rec.addr.clear();
  rec.host.assign(req.host);
  rec.decision = v;
  rec.rule = dec.rule;
  rec.err = err ? err : (v == Verdict::allow ? 0 : (dec.err ? dec.err : d->deny_errno()));
  if (v == Verdict::allow) rec.tip.clear();
  else if (engine) rec.tip = d->tip(req);
  else rec.tip = "# refused by guardian whatever the profile says: no profile rule allows this";
  rec.argv.swap(argv);
  argv.clear();
  rec.via = opts.via;
  rec.summarise = !hiding;
  rec.listing = opening && req.op == Op::read && (opening_flags & O_DIRECTORY) &&
                (opening_flags & O_TMPFILE) != O_TMPFILE;
  log.decision(rec);
  return go;
}

bool Handler::Impl::judge(Ctx& c, const policy::Request& req, std::string_view raw,
                          Response& out) {
  return apply(c, req, d->decide(req), raw, true, out);
}

bool Handler::Impl::local(Ctx& c, const policy::Request& req, bool allow, int err,
                          std::string_view what, Response& out, const char* origin) {
  policy::Decision dec;
  dec.verdict = allow ? Verdict::allow : Verdict::deny;
  dec.err = err;
  if (allow) {
    local_rule.file = origin;
    if (req.category == Category::network) local_rule.pattern = addr_text;
    else if (!req.path.empty()) local_rule.pattern.assign(req.path);
    else local_rule.pattern.assign(what);
    dec.rule = &local_rule;
  }
  return apply(c, req, dec, what, false, out);
}

bool Handler::Impl::missing_but_visible(Ctx& c, const Resolved& r, policy::Op op) {
  if (r.exists || (r.err && r.err != ENOENT) || r.path.empty() || r.path[0] != '/') return false;
  policy::Request probe = path_request(c, policy::Category::file, policy::Op::stat, r);
  policy::Decision ds = d->decide(probe);
  if (ds.verdict == Verdict::allow) return true;
  // A name a rule denies (a secret's place: ~/.npmrc, ~/.aws/**, .env) says nothing either
  // way, present or not.
  if (ds.rule) return false;
  if (op != policy::Op::stat) {
    probe.op = op;
    policy::Decision dop = d->decide(probe);
    if (dop.verdict != Verdict::allow && dop.rule) return false;
    probe.op = policy::Op::stat;
  }
  // No rule names it: a name missing below a directory the process may look at (an
  // ancestor of what it may read: /, /tmp, HOME, ~/.config; or anything it reads) is
  // ENOENT as natively. That the name is absent there is all it learns, never a file's
  // contents; without it every probe of a config file up the tree (package.json,
  // ~/.gitconfig, node_modules/.bin in a PATH search) was a denial and a summary line,
  // and EACCES where the program expected ENOENT (Python's FileNotFoundError). The nearest
  // existing directory is looked at by path: what moves meanwhile changes only the errno.
  std::string& dir = missing_dir;
  dir.assign(r.path);
  struct stat st {};
  for (;;) {
    std::size_t slash = dir.find_last_of('/');
    if (slash == std::string::npos) return false;
    dir.resize(slash == 0 ? 1 : slash);
    if (::lstat(dir.c_str(), &st) == 0) break;
    if (errno != ENOENT || dir.size() == 1) return false;
  }
  if (!S_ISDIR(st.st_mode)) return false;  // ENOTDIR natively, not ours to answer
  // A name missing right in a PATH directory of the command: what a PATH search asks.
  if (r.path.size() > dir.size() + 1 && r.path.find('/', dir.size() + 1) == std::string::npos &&
      std::find(opts.search_dirs.begin(), opts.search_dirs.end(), dir) != opts.search_dirs.end())
    return true;
  probe.path = dir;
  probe.lexical_path = dir;
  probe.lexical_trusted = true;
  return d->decide(probe).verdict == Verdict::allow;
}

bool Handler::Impl::exists_visible(Ctx& c, const Resolved& r) {
  struct stat st {};
  bool exists = r.exists;
  if (!exists && r.parent && !r.name.empty()) {
    std::string leaf = r.name;
    while (leaf.size() > 1 && leaf.back() == '/') leaf.pop_back();
    exists = ::fstatat(r.parent.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  } else if (!exists && !r.path.empty() && r.path[0] == '/') {
    exists = ::lstat(r.path.c_str(), &st) == 0;
  }
  if (!exists) return false;
  return d->decide(path_request(c, Category::file, Op::stat, r)).verdict == policy::Verdict::allow;
}

// As the kernel's getname(): an unreadable path is EFAULT, one of PATH_MAX bytes or more
// ENAMETOOLONG, and an empty one ENOENT unless the call takes AT_EMPTY_PATH (`may_be_empty`)
// — all before any permission check, so nothing is decided or logged for them.
bool Handler::Impl::read_path(Ctx& c, std::uint64_t addr, std::string& s, Response& out,
                              bool may_be_empty) {
  s.clear();
  if (addr == 0 || !c.t.read_string(addr, s, 4095)) {
    out = error(s.size() > 4095 ? ENAMETOOLONG : EFAULT);
    return false;
  }
  if (s.empty() && !may_be_empty) {
    out = error(ENOENT);
    return false;
  }
  return true;
}

// NOTIF_ID_VALID after reading the tracee's memory by TID proves that what was read was
// the notifying thread's (not a newer thread's that took the TID after it died). It is
// needed wherever the supervisor acts on what it read: emulated opens and writes, connect,
// sends, descriptors injected. Where the only outcome is the answer itself (answer_only:
// the stat family, xattr reads, readlink, chdir, exec's decision, which CONTINUE or fail),
// the answer proves it instead when Tracee::answer_proves_valid(): with WAIT_KILLABLE_RECV
// the thread leaves its wait only by dying, which makes NOTIF_SEND fail, so a delivered
// answer means it was in this syscall from RECV to SEND, and what we read by its TID
// meanwhile was its own; an answer that is not delivered decides nothing. What we did on
// the way (an audit record, a kept resolution of a path text, an exec expectation, which
// holds only programs the profile allows) is not an effect on the world. A kill (on_deny:
// kill) is: the responder proves the notification first (NotifResponder::kill).
bool Handler::Impl::valid(Ctx& c, Response& out) {
  if (answer_only || c.t.still_valid()) return true;
  out = error(EINTR);  // the syscall is gone; the backend's answer will not be delivered
  return false;
}

namespace {
// Finds "KEY:\tVALUE" in a small /proc text file's contents.
bool proc_field_in(char* buf, const char* key, char* val, std::size_t cap) {
  std::size_t kl = std::strlen(key);
  for (char* p = buf; p && *p; p = std::strchr(p, '\n') ? std::strchr(p, '\n') + 1 : nullptr) {
    if (std::strncmp(p, key, kl) == 0) {
      p += kl;
      while (*p == ' ' || *p == '\t') ++p;
      std::size_t i = 0;
      while (p[i] && p[i] != '\n' && i + 1 < cap) {
        val[i] = p[i];
        ++i;
      }
      val[i] = 0;
      return true;
    }
  }
  return false;
}

// Reads a small /proc text file (whole: procfs builds it on the first read anyway).
bool proc_read(int fd, char* buf, std::size_t cap) {
  if (fd < 0) return false;
  ssize_t n = ::read(fd, buf, cap - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  return true;
}

bool proc_field(const char* file, const char* key, char* val, std::size_t cap) {
  char buf[4096];
  return procfs::read_small(file, buf, sizeof buf) && proc_field_in(buf, key, val, cap);
}
}  // namespace

mode_t Handler::Impl::umask_of(Ctx& c) {
  std::uint64_t serial = session.serial_of(c.n.tid);
  bool cacheable = serial != 0 && umask_in_flight.empty();
  if (cacheable) {
    auto it = umasks.find(c.n.tid);
    if (it != umasks.end() && it->second.gen == umask_gen && it->second.serial == serial)
      return it->second.mask;
  }
  mode_t m = tracee_umask(c.n.tid);
  if (cacheable) {
    if (umasks.size() >= 4096) umasks.clear();
    umasks[c.n.tid] = {m, umask_gen, serial};
  }
  return m;
}

mode_t tracee_umask(pid_t tid) {
  char buf[4096], val[32];
  int err = 0;
  // "Umask:" is the second line, but procfs formats the whole file on the first read.
  if (!proc_read(procfs::pid_dirs().open(tid, "status", O_RDONLY, err), buf, sizeof buf) ||
      !proc_field_in(buf, "Umask:", val, sizeof val))
    return 022;
  return static_cast<mode_t>(std::strtoul(val, nullptr, 8));
}

pid_t pidfd_pid(int fd) {
  char file[48], val[32];
  std::snprintf(file, sizeof file, "/proc/self/fdinfo/%d", fd);
  if (!proc_field(file, "Pid:", val, sizeof val)) return 0;
  return static_cast<pid_t>(std::strtol(val, nullptr, 10));
}

}  // namespace guardian::decode
