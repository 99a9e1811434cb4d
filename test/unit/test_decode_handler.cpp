// Unit tests for the Handler: decisions, emulated file operations checked by their real
// effect, audit records, complain mode, on_deny kill, exec with #!, process family.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decode/syscalls.hpp"
#include "emulate/emulate.hpp"
#include "decode_fakes.hpp"

using namespace guardian::decode;
using fake::P;

namespace {

std::string slurp(int fd) {
  char buf[256];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}
void put(const std::string& p, const char* s) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0755);
  REQUIRE(::write(fd, s, strlen(s)) > 0);
  ::close(fd);
}
bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

struct Fixture {
  fake::TempDir d;
  fake::PrefixDecider dec;
  fake::Log log;
  fake::Session sess;
  fake::SelfTracee t;
  HandlerOptions opts;
  std::unique_ptr<Handler> h;
  Fixture() {
    ::mkdir((d / "pub").c_str(), 0755);
    ::mkdir((d / "secret").c_str(), 0700);
    ::mkdir((d / "out").c_str(), 0755);
    put(d / "pub/a.txt", "hello");
    put(d / "secret/s.txt", "SECRET");
    ::symlink((d / "secret/s.txt").c_str(), (d / "out/evil").c_str());
    dec.read = {d / "pub"};
    dec.write = {d / "out"};
    make();
  }
  void make() { h = std::make_unique<Handler>(dec, log, sess, opts); }
  Response run(int nr, std::initializer_list<std::uint64_t> args) {
    return h->handle(fake::notif(nr, args), t);
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "open of an allowed file is emulated: the injected fd reads it") {
  std::string p = d / "pub/a.txt";
  auto r = run(SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), P(p), O_RDONLY | O_CLOEXEC, 0});
  REQUIRE(r.kind == Response::Kind::inject_fd);
  CHECK(r.cloexec);
  CHECK(slurp(r.fd.get()) == "hello");
  REQUIRE(!log.recs.empty());
  CHECK(log.recs.back().decision == guardian::policy::Verdict::allow);
  CHECK(log.recs.back().syscall == "openat");
}

TEST_CASE_FIXTURE(Fixture, "--fast-path: a read nothing in the session can redirect is continued") {
  opts.continue_stable_reads = true;
  sess.private_mem = true;
  put(d / "out/w.txt", "w");
  ::symlink("a.txt", (d / "pub/link").c_str());                // a link where nobody writes
  ::symlink((d / "out/w.txt").c_str(), (d / "pub/tow").c_str());  // ... to a writable file
  ::symlink((d / "pub/a.txt").c_str(), (d / "out/topub").c_str());  // a link the session may swap
  make();
  auto open = [&](const std::string& p, int flags = O_RDONLY | O_CLOEXEC) {
    return run(SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), P(p), static_cast<std::uint64_t>(flags), 0});
  };
  std::size_t before = log.recs.size();
  CHECK(open(d / "pub/a.txt").kind == Response::Kind::cont);
  REQUIRE(log.recs.size() == before + 1);  // decided and recorded as before
  CHECK(log.recs.back().decision == guardian::policy::Verdict::allow);
  CHECK(log.recs.back().path == d / "pub/a.txt");
  CHECK(open(d / "pub/link").kind == Response::Kind::cont);  // the long way, then the kept one
  before = log.recs.size();
  CHECK(open(d / "pub/link").kind == Response::Kind::cont);
  REQUIRE(log.recs.size() == before + 1);  // each open decided and recorded, by the file's path
  CHECK(log.recs.back().path == d / "pub/a.txt");
  CHECK(log.recs.back().raw_path == d / "pub/link");
  CHECK(open(d / "pub/link", O_RDONLY | O_NOFOLLOW).kind == Response::Kind::error);  // ELOOP
  // Emulated, as without the option: a file the session may write (or replace), a path
  // through a link it may swap, one for writing, a FIFO.
  CHECK(open(d / "out/w.txt").kind == Response::Kind::inject_fd);
  CHECK(open(d / "pub/tow").kind == Response::Kind::inject_fd);
  auto swapped = open(d / "out/topub");
  REQUIRE(swapped.kind == Response::Kind::inject_fd);
  CHECK(slurp(swapped.fd.get()) == "hello");
  CHECK(open(d / "out/w.txt", O_WRONLY).kind == Response::Kind::inject_fd);
  ::mkfifo((d / "pub/fifo").c_str(), 0644);  // not a regular file
  CHECK(open(d / "pub/fifo", O_RDONLY | O_NONBLOCK).kind == Response::Kind::inject_fd);
  // Not normalised: the kernel's walk would visit a directory the checks do not look at.
  CHECK(open(d / "out/../pub/a.txt").kind == Response::Kind::inject_fd);
  // Denials stay denials.
  CHECK(open(d / "secret/s.txt").kind == Response::Kind::error);
  // Another task may run in the caller's memory (and rewrite the path): emulated.
  sess.private_mem = false;
  CHECK(open(d / "pub/a.txt").kind == Response::Kind::inject_fd);
  CHECK(open(d / "pub/link").kind == Response::Kind::inject_fd);
}

TEST_CASE_FIXTURE(Fixture, "a stable read is continued only from a path buffer nothing else changes") {
  opts.continue_stable_reads = true;
  sess.private_mem = true;
  make();
  auto open = [&] {
    return run(SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), P(d / "pub/a.txt"), O_RDONLY, 0}).kind;
  };
  CHECK(open() == Response::Kind::cont);
  // Shared memory, [vvar], a span of mappings: emulated.
  t.buffer = Tracee::Backing::other;
  CHECK(open() == Response::Kind::inject_fd);
  // A private mapping of a file: only where the session cannot write that file.
  t.buffer = Tracee::Backing::file;
  t.buffer_file = d / "out/strings.bin";
  CHECK(open() == Response::Kind::inject_fd);
  t.buffer_file = d / "pub/strings.bin";
  CHECK(open() == Response::Kind::cont);
  // Once asynchronous I/O exists in the session (io_setup is seen and let through), never.
  CHECK(run(SYS_io_setup, {16, 0}).kind == Response::Kind::cont);
  CHECK(sess.writer_noted);
  CHECK(open() == Response::Kind::inject_fd);
}

TEST_CASE_FIXTURE(Fixture, "the session's one live task has its allowed opens continued, writes too") {
  opts.continue_stable_reads = true;
  sess.private_mem = true;
  sess.alone = true;
  make();
  auto open = [&](const std::string& p, int flags, std::uint64_t mode = 0) {
    return run(SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), P(p), static_cast<std::uint64_t>(flags), mode});
  };
  // Writable, created, truncated: the kernel's own open, on the path that was decided.
  CHECK(open(d / "out/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644).kind == Response::Kind::cont);
  CHECK_FALSE(exists(d / "out/new.txt"));  // made by the kernel's open, not by us
  put(d / "out/w.txt", "w");
  CHECK(open(d / "out/w.txt", O_RDWR | O_TRUNC).kind == Response::Kind::cont);
  CHECK(open(d / "out/w.txt", O_RDONLY).kind == Response::Kind::cont);
  REQUIRE(!log.recs.empty());
  CHECK(log.recs.back().decision == guardian::policy::Verdict::allow);  // decided and recorded
  // Denials stay denials; a link the session planted still leads to the secret's denial.
  CHECK(open(d / "secret/s.txt", O_RDONLY).kind == Response::Kind::error);
  CHECK(open(d / "out/evil", O_RDONLY).kind == Response::Kind::error);
  // A buffer another party may change: emulated.
  t.buffer = Tracee::Backing::other;
  auto r = open(d / "out/w.txt", O_RDWR);
  CHECK(r.kind == Response::Kind::inject_fd);
  t.buffer = Tracee::Backing::anonymous;
  // Another live task in the session: emulated.
  sess.alone = false;
  CHECK(open(d / "out/w.txt", O_RDWR).kind == Response::Kind::inject_fd);
  sess.alone = true;
  // A device that may write memory by itself (anything but null, zero, full, random,
  // urandom and terminals) ends it for the session.
  CHECK(open("/dev/null", O_WRONLY).kind == Response::Kind::error);  // not allowed here
  CHECK_FALSE(sess.writer_noted);
  dec.write.push_back("/dev");
  dec.read.push_back("/dev");
  make();
  CHECK(open("/dev/null", O_WRONLY).kind == Response::Kind::cont);
  CHECK_FALSE(sess.writer_noted);
  struct stat st {};
  if (::stat("/dev/loop-control", &st) == 0 || ::stat("/dev/mem", &st) == 0) {
    open(::stat("/dev/loop-control", &st) == 0 ? "/dev/loop-control" : "/dev/mem", O_RDONLY);
    CHECK(sess.writer_noted);
    CHECK(open(d / "out/w.txt", O_RDWR).kind == Response::Kind::inject_fd);
  }
}

TEST_CASE_FIXTURE(Fixture, "lstat of a name below a directory seen lately follows what the session renamed") {
  ::mkdir((d / "out/dd").c_str(), 0755);
  put(d / "out/dd/a", "a");
  struct stat st;
  auto lstat = [&](const std::string& p) {
    return run(SYS_lstat, {P(p), reinterpret_cast<std::uint64_t>(&st)});
  };
  CHECK(lstat(d / "out/dd/a").kind == Response::Kind::cont);  // walked: out/dd kept
  CHECK(lstat(d / "out/dd/b").kind == Response::Kind::cont);  // below it: the kernel says ENOENT
  REQUIRE(!log.recs.empty());
  CHECK(log.recs.back().path == d / "out/dd/b");
  // The session puts a link to the secrets where the directory was: names below it are
  // the secrets' again, at once.
  CHECK(run(SYS_rename, {P(d / "out/dd"), P(d / "out/dd2")}).kind == Response::Kind::value);
  CHECK(run(SYS_symlink, {P(d / "secret"), P(d / "out/dd")}).kind == Response::Kind::value);
  CHECK(lstat(d / "out/dd/s.txt").err == EACCES);
  // A text with ".." is walked as the kernel walks it: out/dd leads into secret, whose ".."
  // holds no dd2 (lexically out/dd2/a, allowed and there).
  CHECK(lstat(d / "out/dd2/a").kind == Response::Kind::cont);
  CHECK(lstat(d / "out/dd/../dd2/a").kind == Response::Kind::error);
}

TEST_CASE_FIXTURE(Fixture, "the one live task's continued open is looked at, never opened, by us") {
  opts.continue_stable_reads = true;
  sess.private_mem = true;
  sess.alone = true;
  make();
  auto open = [&](const std::string& p, int flags, std::uint64_t mode = 0) {
    return run(SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), P(p), static_cast<std::uint64_t>(flags), mode});
  };
  // Created and truncated once, by the kernel's own open: nothing done here beforehand.
  CHECK(open(d / "out/made.txt", O_WRONLY | O_CREAT, 0644).kind == Response::Kind::cont);
  CHECK_FALSE(exists(d / "out/made.txt"));
  put(d / "out/full.txt", "contents");
  CHECK(open(d / "out/full.txt", O_WRONLY | O_TRUNC).kind == Response::Kind::cont);
  struct stat st {};
  CHECK((::stat((d / "out/full.txt").c_str(), &st) == 0 && st.st_size == 8));
  ::mkdir((d / "out/sub").c_str(), 0755);
  CHECK(open(d / "out/sub", O_RDONLY | O_DIRECTORY).kind == Response::Kind::cont);
  // A missing name: ENOENT, decided and recorded as before.
  std::size_t before = log.recs.size();
  CHECK(open(d / "out/none.txt", O_RDONLY).err == ENOENT);
  CHECK(log.recs.size() == before + 1);
  // A symbolic link on the way: the long way decides (here the secret's denial).
  CHECK(open(d / "out/evil", O_RDONLY).kind == Response::Kind::error);
  // Only an answer (CONTINUE or an errno): no ID_VALID where the answer proves it...
  t.valid = false;
  t.proves = true;
  CHECK(open(d / "pub/a.txt", O_RDONLY).kind == Response::Kind::cont);
  CHECK(open(d / "out/none.txt", O_RDONLY).err == ENOENT);
  // ...but before anything is opened here and injected (another task lives; a file the
  // session may write), as before; and everywhere without the proof.
  sess.alone = false;
  CHECK(open(d / "out/full.txt", O_RDONLY).err == EINTR);
  t.proves = false;
  sess.alone = true;
  CHECK(open(d / "pub/a.txt", O_RDONLY).err == EINTR);
}

TEST_CASE_FIXTURE(Fixture, "an open of a process alone in its memory is continued beside others; renames wait for it") {
  opts.continue_stable_reads = true;
  sess.private_mem = true;
  sess.private_fds = true;
  make();
  auto open = [&](const std::string& p, int flags, std::uint64_t mode = 0) {
    return run(SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), P(p), static_cast<std::uint64_t>(flags), mode}).kind;
  };
  put(d / "out/w.txt", "w");
  // Not known to be walk-private (no tracer to wait with, a shared table or cwd): emulated.
  CHECK(open(d / "out/w.txt", O_RDWR) == Response::Kind::inject_fd);
  CHECK(sess.continued.empty());
  sess.walks = true;
  CHECK(open(d / "out/w.txt", O_RDWR) == Response::Kind::cont);
  CHECK(open(d / "out/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644) == Response::Kind::cont);
  CHECK_FALSE(exists(d / "out/new.txt"));  // the kernel's own open makes it
  // Each continued open is noted until its thread is seen again (here at once: the
  // fixture's notifications all come from this thread).
  const pid_t me = static_cast<pid_t>(::syscall(SYS_gettid));
  CHECK(sess.continued == std::vector<pid_t>{me});
  // Denials stay denials, and a link the session planted still leads to the denial.
  CHECK(open(d / "secret/s.txt", O_RDONLY) == Response::Kind::error);
  CHECK(open(d / "out/evil", O_RDONLY) == Response::Kind::error);
  // Memory another task may write, or a shared descriptor table: emulated.
  t.buffer = Tracee::Backing::other;
  CHECK(open(d / "out/w.txt", O_RDWR) == Response::Kind::inject_fd);
  t.buffer = Tracee::Backing::anonymous;
  sess.private_fds = false;
  CHECK(open(d / "out/w.txt", O_RDWR) == Response::Kind::inject_fd);
  sess.private_fds = true;
  // Under /proc a name also changes as processes come and go: emulated.
  dec.read.push_back("/proc");
  dec.write.push_back("/proc");
  make();
  CHECK(open("/proc/self/comm", O_WRONLY) == Response::Kind::inject_fd);
  // A rename, a link or a symlink is made only after every other thread's continued walk
  // has ended; unlink and mkdir need not wait (they change no walk's way).
  sess.continued = {me + 100000};
  put(d / "out/r1", "r");
  CHECK(run(SYS_mkdir, {P(d / "out/dd"), 0755}).kind != Response::Kind::error);
  CHECK(run(SYS_unlink, {P(d / "out/w.txt")}).kind != Response::Kind::error);
  CHECK(sess.settles == 0);
  CHECK(run(SYS_rename, {P(d / "out/r1"), P(d / "out/r2")}).kind != Response::Kind::error);
  CHECK(sess.settles == 1);
  CHECK(exists(d / "out/r2"));
  sess.continued = {me + 100000};
  CHECK(run(SYS_symlink, {P("r2"), P(d / "out/l2")}).kind != Response::Kind::error);
  CHECK(sess.settles == 2);
  sess.continued = {me + 100000};
  CHECK(run(SYS_link, {P(d / "out/r2"), P(d / "out/h2")}).kind != Response::Kind::error);
  CHECK(sess.settles == 3);
  // Removing a symbolic link waits too (a walk through its name would lead to the name
  // itself next); removing a file does not.
  sess.continued = {me + 100000};
  put(d / "out/plain", "p");
  CHECK(run(SYS_unlink, {P(d / "out/plain")}).kind != Response::Kind::error);
  CHECK(sess.settles == 3);
  CHECK(run(SYS_unlinkat, {static_cast<std::uint64_t>(AT_FDCWD), P(d / "out/l2"), 0}).kind != Response::Kind::error);
  CHECK(sess.settles == 4);
  CHECK_FALSE(exists(d / "out/l2"));
  // A denied rename makes nothing, so waits for nothing.
  sess.continued = {me + 100000};
  CHECK(run(SYS_rename, {P(d / "out/r2"), P(d / "secret/r2")}).kind == Response::Kind::error);
  CHECK(sess.settles == 4);
}

TEST_CASE_FIXTURE(Fixture, "open of a secret is denied with EACCES and a record with a tip") {
  std::string p = d / "secret/s.txt";
  auto r = run(SYS_open, {P(p), O_RDONLY, 0});
  CHECK(r.kind == Response::Kind::error);
  CHECK(r.err == EACCES);
  auto* rec = log.last_deny();
  REQUIRE(rec);
  CHECK(rec->path == p);
  CHECK(rec->raw_path == p);
  CHECK(rec->err == EACCES);
  CHECK_FALSE(rec->tip.empty());
  CHECK(rec->category == guardian::policy::Category::file);
}

TEST_CASE_FIXTURE(Fixture, "a symlink planted where the session writes does not reach the secret") {
  std::string p = d / "out/evil";
  auto r = run(SYS_open, {P(p), O_RDONLY, 0});
  CHECK(r.kind == Response::Kind::error);
  REQUIRE(log.last_deny());
  CHECK(log.last_deny()->path == d / "secret/s.txt");
  // And through /proc/self/fd of a descriptor held for reading: reopening for write is a write.
  int fd = ::open((d / "pub/a.txt").c_str(), O_RDONLY);
  std::string via = "/proc/self/fd/" + std::to_string(fd);
  auto w = run(SYS_open, {P(via), O_WRONLY, 0});
  CHECK(w.kind == Response::Kind::error);
  auto rd = run(SYS_open, {P(via), O_RDONLY, 0});
  CHECK(rd.kind == Response::Kind::inject_fd);
  ::close(fd);
}

TEST_CASE_FIXTURE(Fixture, "O_CREAT creates only where writing is allowed, with the tracee's umask") {
  std::string ok = d / "out/new.txt", no = d / "pub/new.txt";
  mode_t old = ::umask(027);
  auto r = run(SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), P(ok), O_WRONLY | O_CREAT, 0666});
  ::umask(old);
  REQUIRE(r.kind == Response::Kind::inject_fd);
  CHECK(::write(r.fd.get(), "x", 1) == 1);
  struct stat st;
  REQUIRE(::stat(ok.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  auto n = run(SYS_creat, {P(no), 0644});
  CHECK(n.kind == Response::Kind::error);
  CHECK_FALSE(exists(no));
  auto e = run(SYS_open, {P(ok), O_WRONLY | O_CREAT | O_EXCL, 0644});
  CHECK(e.err == EEXIST);
  // O_PATH cannot be installed by ADDFD: decided as stat, then run by the kernel.
  CHECK(run(SYS_open, {P(d.path), O_PATH | O_DIRECTORY, 0}).kind == Response::Kind::cont);
  CHECK(run(SYS_open, {P(d / "secret/s.txt"), O_PATH, 0}).err == EACCES);
  auto missing = run(SYS_open, {P(d / "pub/none"), O_RDONLY, 0});
  CHECK(missing.kind == Response::Kind::error);
  CHECK(missing.err == ENOENT);
}

TEST_CASE_FIXTURE(Fixture, "write-class path calls are performed on the checked directory") {
  put(d / "out/f", "f");
  std::string f = d / "out/f", g = d / "out/g", pubf = d / "pub/a.txt", pubg = d / "pub/g";
  CHECK(run(SYS_rename, {P(f), P(pubg)}).err == EACCES);
  CHECK(exists(f));
  CHECK(run(SYS_rename, {P(f), P(g)}).kind == Response::Kind::value);
  CHECK(exists(g));
  CHECK_FALSE(exists(f));
  CHECK(run(SYS_unlink, {P(pubf)}).err == EACCES);
  CHECK(exists(pubf));
  CHECK(run(SYS_unlinkat, {static_cast<std::uint64_t>(AT_FDCWD), P(g), 0}).kind == Response::Kind::value);
  CHECK_FALSE(exists(g));
  std::string nd = d / "out/dir";
  CHECK(run(SYS_mkdir, {P(nd), 0755}).kind == Response::Kind::value);
  CHECK(exists(nd));
  CHECK(run(SYS_rmdir, {P(nd)}).kind == Response::Kind::value);
  CHECK_FALSE(exists(nd));
  CHECK(run(SYS_mkdir, {P(d / "pub/dir"), 0755}).err == EACCES);
  CHECK_FALSE(exists(d / "pub/dir"));
  std::string lnk = d / "out/l", sec = d / "secret/s.txt";
  CHECK(run(SYS_symlink, {P(sec), P(lnk)}).kind == Response::Kind::value);
  CHECK(run(SYS_link, {P(sec), P(d / "out/hard")}).err == EACCES);  // link: both ends
  CHECK_FALSE(exists(d / "out/hard"));
  CHECK(run(SYS_chmod, {P(pubf), 0777}).err == EACCES);
  struct stat st;
  ::stat(pubf.c_str(), &st);
  CHECK((st.st_mode & 0777) == 0755);
  // chmod through the planted symlink: decided on the secret, refused.
  CHECK(run(SYS_chmod, {P(d / "out/evil"), 0777}).err == EACCES);
  ::stat(sec.c_str(), &st);
  CHECK((st.st_mode & 0777) == 0755);
  CHECK(run(SYS_truncate, {P(pubf), 0}).err == EACCES);
  CHECK(slurp(::open(pubf.c_str(), O_RDONLY)) == "hello");
}

TEST_CASE_FIXTURE(Fixture, "fd-based metadata writes are decided by the path the fd names") {
  int fd = ::open((d / "pub/a.txt").c_str(), O_RDONLY);
  CHECK(run(SYS_fchmod, {static_cast<std::uint64_t>(fd), 0600}).err == EACCES);
  struct stat st;
  ::fstat(fd, &st);
  CHECK((st.st_mode & 0777) == 0755);
  ::close(fd);
  put(d / "out/m", "m");
  fd = ::open((d / "out/m").c_str(), O_RDONLY);
  CHECK(run(SYS_fchmod, {static_cast<std::uint64_t>(fd), 0600}).kind == Response::Kind::value);
  ::fstat(fd, &st);
  CHECK((st.st_mode & 0777) == 0600);
  ::close(fd);
}

TEST_CASE_FIXTURE(Fixture, "fd-based metadata writes on a private table: decided, then continued") {
  sess.private_fds = true;
  int fd = ::open((d / "pub/a.txt").c_str(), O_RDONLY);
  CHECK(run(SYS_fchmod, {static_cast<std::uint64_t>(fd), 0600}).err == EACCES);
  REQUIRE(log.last_deny());
  CHECK(log.last_deny()->path == d / "pub/a.txt");
  CHECK(log.last_deny()->raw_path == d / "pub/a.txt");
  ::close(fd);
  put(d / "out/m", "m");
  fd = ::open((d / "out/m").c_str(), O_RDONLY);
  std::size_t before = log.recs.size();
  // Allowed: the kernel runs the call on the tracee's own descriptor (nothing done here).
  CHECK(run(SYS_fchmod, {static_cast<std::uint64_t>(fd), 0600}).kind == Response::Kind::cont);
  CHECK(run(SYS_fchown, {static_cast<std::uint64_t>(fd), 0, 0}).kind == Response::Kind::cont);
  CHECK(run(SYS_utimensat, {static_cast<std::uint64_t>(fd), 0, 0, 0}).kind == Response::Kind::cont);
  CHECK(run(SYS_fsetxattr, {static_cast<std::uint64_t>(fd), 0, 0, 0, 0}).kind == Response::Kind::cont);
  CHECK(log.recs.size() == before + 4);
  CHECK(log.recs.back().path == d / "out/m");
  struct stat st;
  ::fstat(fd, &st);
  CHECK((st.st_mode & 0777) == 0755);
  CHECK(t.takes == 0);  // no pidfd_getfd
  ::close(fd);
  CHECK(run(SYS_fchmod, {999, 0600}).err == EBADF);
  // Not provably private: the emulation as before.
  sess.private_fds = false;
  fd = ::open((d / "out/m").c_str(), O_RDONLY);
  CHECK(run(SYS_fchmod, {static_cast<std::uint64_t>(fd), 0600}).kind == Response::Kind::value);
  CHECK(t.takes == 1);
  ::close(fd);
}

TEST_CASE_FIXTURE(Fixture, "ID_VALID is skipped only where the answer proves it") {
  t.valid = false;  // the notification is gone: an ID_VALID would say so
  t.proves = true;  // ...and a successful answer would prove it was not
  std::string pub = d / "pub/a.txt", outf = d / "out/new";
  struct stat st;
  // Only an answer: decided without ID_VALID (a gone thread never hears it).
  CHECK(run(SYS_stat, {P(pub), reinterpret_cast<std::uint64_t>(&st)}).kind == Response::Kind::cont);
  CHECK(run(SYS_access, {P(pub), F_OK}).kind == Response::Kind::cont);
  // The supervisor acts on what it read: still proven first.
  CHECK(run(SYS_open, {P(pub), O_RDONLY, 0}).err == EINTR);
  CHECK(run(SYS_mkdir, {P(outf), 0755}).err == EINTR);
  CHECK_FALSE(exists(outf));
  // Without the proof (no WAIT_KILLABLE_RECV, ptrace): ID_VALID everywhere.
  t.proves = false;
  CHECK(run(SYS_stat, {P(pub), reinterpret_cast<std::uint64_t>(&st)}).err == EINTR);
}

TEST_CASE_FIXTURE(Fixture, "lstat of a plain name in a held directory is decided as that entry") {
  int pub = ::open((d / "pub").c_str(), O_RDONLY | O_DIRECTORY);
  int sec = ::open((d / "secret").c_str(), O_RDONLY | O_DIRECTORY);
  int out = ::open((d / "out").c_str(), O_RDONLY | O_DIRECTORY);
  struct stat st;
  auto lstat_at = [&](int dfd, const char* name, int fl) {
    return run(SYS_newfstatat, {static_cast<std::uint64_t>(dfd), P(name),
                                reinterpret_cast<std::uint64_t>(&st),
                                static_cast<std::uint64_t>(fl)});
  };
  CHECK(lstat_at(pub, "a.txt", AT_SYMLINK_NOFOLLOW).kind == Response::Kind::cont);
  CHECK(lstat_at(sec, "s.txt", AT_SYMLINK_NOFOLLOW).err == EACCES);
  REQUIRE(log.last_deny());
  CHECK(log.last_deny()->path == d / "secret/s.txt");
  // The link itself is looked at, not followed; followed, it is the secret.
  CHECK(lstat_at(out, "evil", AT_SYMLINK_NOFOLLOW).kind == Response::Kind::cont);
  CHECK(lstat_at(out, "evil", 0).err == EACCES);
  CHECK(run(SYS_readlinkat, {static_cast<std::uint64_t>(out), P("evil"), P(d.path), 16}).kind ==
        Response::Kind::cont);
  // A missing name: allowed, and the kernel's own call answers ENOENT.
  CHECK(lstat_at(pub, "none", AT_SYMLINK_NOFOLLOW).kind == Response::Kind::cont);
  CHECK(lstat_at(sec, "none", AT_SYMLINK_NOFOLLOW).err == EACCES);
  // Not a plain name: resolved in full as before.
  CHECK(lstat_at(out, "../secret/s.txt", AT_SYMLINK_NOFOLLOW).err == EACCES);
  ::close(pub);
  ::close(sec);
  ::close(out);
}

TEST_CASE_FIXTURE(Fixture, "stat family: secret denied, ancestors allowed, fstat passes") {
  std::string sec = d / "secret/s.txt", anc = d.path, none = d / "pub/none";
  struct stat st;
  CHECK(run(SYS_newfstatat, {static_cast<std::uint64_t>(AT_FDCWD), P(sec), reinterpret_cast<std::uint64_t>(&st), 0}).err == EACCES);
  CHECK(run(SYS_stat, {P(anc), reinterpret_cast<std::uint64_t>(&st)}).kind == Response::Kind::cont);
  CHECK(run(SYS_access, {P(none), F_OK}).err == ENOENT);
  CHECK(run(SYS_newfstatat, {0, P(""), reinterpret_cast<std::uint64_t>(&st), AT_EMPTY_PATH}).kind == Response::Kind::cont);
}

TEST_CASE_FIXTURE(Fixture, "complain mode lets it through as would-deny; on_deny kill kills") {
  opts.mode = Mode::complain;
  make();
  std::string sec = d / "secret/s.txt";
  auto r = run(SYS_open, {P(sec), O_RDONLY, 0});
  REQUIRE(r.kind == Response::Kind::inject_fd);
  CHECK(slurp(r.fd.get()) == "SECRET");
  REQUIRE(log.last_deny());
  CHECK(log.last_deny()->decision == guardian::policy::Verdict::would_deny);
  opts.mode = Mode::enforce;
  dec.ondeny = guardian::policy::OnDeny::kill;
  make();
  CHECK(run(SYS_open, {P(sec), O_RDONLY, 0}).kind == Response::Kind::kill);
  CHECK(log.last_deny()->decision == guardian::policy::Verdict::kill);
}

TEST_CASE_FIXTURE(Fixture, "audit.decisions: deny records only denials") {
  dec.audit_all = false;
  make();
  std::string p = d / "pub/a.txt";
  run(SYS_open, {P(p), O_RDONLY, 0});
  CHECK(log.recs.empty());
}

TEST_CASE_FIXTURE(Fixture, "exec: the program and its #! interpreter must both be allowed") {
  std::string script = d / "pub/s.sh";
  put(script, "#!/bin/sh -e\necho hi\n");
  const char* argv[] = {"s.sh", "arg1", nullptr};
  dec.exec = {d / "pub"};
  make();
  auto r = run(SYS_execve, {P(script), reinterpret_cast<std::uint64_t>(argv), 0});
  CHECK(r.kind == Response::Kind::error);  // /bin/sh not allowed
  REQUIRE(log.last_deny());
  CHECK(log.last_deny()->raw_path == "/bin/sh");
  char sh[4096];
  char* real = ::realpath("/bin/sh", sh);
  REQUIRE(real);
  dec.exec = {d / "pub", real};
  make();
  r = run(SYS_execve, {P(script), reinterpret_cast<std::uint64_t>(argv), 0});
  CHECK(r.kind == Response::Kind::cont);
  REQUIRE(log.recs.size() >= 2);
  auto& first = log.recs[log.recs.size() - 2];
  CHECK(first.path == script);
  REQUIRE(first.argv.size() == 2);
  CHECK(first.argv[1] == "arg1");
  pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  CHECK(h->verify_exec(tid, ::getpid(), real));
  r = run(SYS_execve, {P(script), reinterpret_cast<std::uint64_t>(argv), 0});
  CHECK_FALSE(h->verify_exec(tid, ::getpid(), "/usr/bin/other"));
}

TEST_CASE_FIXTURE(Fixture, "exec: a script rewritten in place is decided on its new #! line") {
  // The interpreter of a file exec'd before is remembered by the file's identity and change
  // times: a rewrite of the same size at once must still be seen.
  std::string script = d / "pub/s2.sh";
  put(script, "#!/bin/sh -e\necho hi\n");
  const char* argv[] = {"s2.sh", nullptr};
  char sh[4096];
  char* real = ::realpath("/bin/sh", sh);
  REQUIRE(real);
  dec.exec = {d / "pub", real};
  make();
  pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  for (int round = 0; round < 3; ++round) {
    put(script, "#!/bin/sh -e\necho hi\n");
    auto r = run(SYS_execve, {P(script), reinterpret_cast<std::uint64_t>(argv), 0});
    CHECK(r.kind == Response::Kind::cont);
    CHECK(h->verify_exec(tid, ::getpid(), real));
    // Same size, same inode, rewritten in place: now names a program the profile denies.
    int fd = ::open(script.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "#!/bin/ls -e\necho hi\n", 21, 0) == 21);
    ::close(fd);
    r = run(SYS_execve, {P(script), reinterpret_cast<std::uint64_t>(argv), 0});
    CHECK(r.kind == Response::Kind::error);
    REQUIRE(log.last_deny());
    CHECK(log.last_deny()->raw_path == "/bin/ls");
    // And into no script at all: the file itself is what the kernel will load.
    fd = ::open(script.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "\x7f" "ELF", 4, 0) == 4);
    ::close(fd);
    r = run(SYS_execve, {P(script), reinterpret_cast<std::uint64_t>(argv), 0});
    CHECK(r.kind == Response::Kind::cont);
    CHECK_FALSE(h->verify_exec(tid, ::getpid(), real));
    r = run(SYS_execve, {P(script), reinterpret_cast<std::uint64_t>(argv), 0});
    CHECK(h->verify_exec(tid, ::getpid(), script));
  }
}

TEST_CASE_FIXTURE(Fixture, "exec of the first command is allowed once; memfd needs a rule") {
  std::string prog = d / "secret/s.txt";
  h->allow_first_exec(prog);
  const char* argv[] = {"x", nullptr};
  CHECK(run(SYS_execve, {P(prog), reinterpret_cast<std::uint64_t>(argv), 0}).kind == Response::Kind::cont);
  CHECK(run(SYS_execve, {P(prog), reinterpret_cast<std::uint64_t>(argv), 0}).err == EACCES);
  int mfd = static_cast<int>(::syscall(SYS_memfd_create, "payload", 0));
  auto r = run(SYS_execveat, {static_cast<std::uint64_t>(mfd), P(""), reinterpret_cast<std::uint64_t>(argv), 0, AT_EMPTY_PATH});
  CHECK(r.err == EACCES);
  REQUIRE(log.last_deny());
  CHECK(log.last_deny()->path.find("memfd:payload") != std::string::npos);
  ::close(mfd);
}

TEST_CASE_FIXTURE(Fixture, "process family: outsiders are refused, the session is not") {
  CHECK(run(SYS_kill, {1, SIGTERM}).err == EPERM);
  CHECK(run(SYS_kill, {static_cast<std::uint64_t>(-1), SIGKILL}).err == EPERM);
  CHECK(run(SYS_kill, {1, 0}).kind == Response::Kind::cont);
  CHECK(run(SYS_kill, {static_cast<std::uint64_t>(::getpid()), SIGUSR1}).kind == Response::Kind::cont);
  CHECK(run(SYS_process_vm_writev, {1, 0, 0, 0, 0, 0}).err == EPERM);
  CHECK(run(SYS_ptrace, {16 /* PTRACE_ATTACH */, 1}).err == EPERM);
  REQUIRE(log.last_deny());
  CHECK(log.last_deny()->category == guardian::policy::Category::process);
}

TEST_CASE_FIXTURE(Fixture, "system family: chroot and mount refused; chdir decided as stat") {
  CHECK(run(SYS_chroot, {P("/")}).err == EPERM);
  CHECK(run(SYS_mount, {P("none"), P("/mnt"), P("tmpfs"), 0, 0}).err == EPERM);
  CHECK(run(SYS_chdir, {P(d / "secret")}).err == EACCES);
  CHECK(run(SYS_chdir, {P(d / "pub")}).kind == Response::Kind::cont);
  CHECK(run(SYS_open_by_handle_at, {0, 0, 0}).err == EPERM);
}

TEST_CASE_FIXTURE(Fixture, "every notified syscall decodes without crashing on null arguments") {
  for (auto& s : syscall_table()) {
    if (s.filter != Filter::notify || s.family == Family::file_fd || s.name == "utimensat")
      continue;  // fd 0 would be this process's stdin
    if (s.name == "kill" || s.name == "tkill" || s.name == "tgkill" || s.name == "ptrace" ||
        s.name.find("sig") != std::string_view::npos)
      continue;  // would act on this process
    INFO(s.name);
    auto r = run(s.nr, {0, 0, 0, 0, 0, 0});
    CHECK(r.kind != Response::Kind::inject_fd);
  }
  Notification n = fake::notif(SYS_open, {0});
  n.arch = 0x40000003;  // i386
  CHECK(h->handle(n, t).err == ENOSYS);
}

namespace {
struct SerialSession : fake::Session {
  std::uint64_t serial_of(pid_t) const override { return 1; }
};
}  // namespace

TEST_CASE_FIXTURE(Fixture, "the umask of emulated creates is kept until a umask() may change it") {
  SerialSession ss;
  Handler hh(dec, log, ss, opts);
  auto create = [&](const std::string& p) {
    auto r = hh.handle(fake::notif(SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), P(p),
                                                 O_WRONLY | O_CREAT, 0666}),
                       t);
    // The fake tracee is this process, whose umask the emulation sets and keeps between
    // creations (as the supervisor's own): give the "tracee" its own back.
    guardian::emulate::restore_umask();
    REQUIRE(r.kind == Response::Kind::inject_fd);
    struct stat st;
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 0777;
  };
  mode_t old = ::umask(027);
  CHECK(create(d / "out/a") == 0640);
  ::umask(077);  // behind the handler's back (only umask() itself does this in a tracee)
  CHECK(create(d / "out/b") == 0640);
  // umask() is let through and noted; this thread's next notification shows it done.
  CHECK(hh.handle(fake::notif(SYS_umask, {077}), t).kind == Response::Kind::cont);
  CHECK(create(d / "out/c") == 0600);
  // Another thread's umask() not yet seen done: read afresh each time meanwhile.
  auto other = fake::notif(SYS_umask, {022});
  other.tid = 1;
  CHECK(hh.handle(other, t).kind == Response::Kind::cont);
  ::umask(022);
  CHECK(create(d / "out/d") == 0644);
  ::umask(old);
}
