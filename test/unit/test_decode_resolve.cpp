// Unit tests for path resolution against real files: symlinks, .., magic links, creates.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/procfs.hpp"
#include "decode/path_cache.hpp"
#include "decode/resolve.hpp"
#include "decode_fakes.hpp"

using namespace guardian::decode;

namespace {

struct Fixture {
  fake::TempDir d;
  pid_t pid = ::getpid();
  pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  Resolver res{[this](std::string_view p) {
    return p.substr(0, (d / "out").size()) == d / "out";  // the session may write d/out
  }};
  Fixture() {
    ::mkdir((d / "pub").c_str(), 0755);
    ::mkdir((d / "secret").c_str(), 0700);
    ::mkdir((d / "out").c_str(), 0755);
    write(d / "pub/a.txt", "hello");
    write(d / "secret/s.txt", "SECRET");
    ::symlink("pub/a.txt", (d / "rel").c_str());
    ::symlink((d / "secret/s.txt").c_str(), (d / "out/evil").c_str());
    ::symlink("pub", (d / "dirlink").c_str());
    ::symlink("loop2", (d / "loop1").c_str());
    ::symlink("loop1", (d / "loop2").c_str());
  }
  static void write(const std::string& p, const char* s) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(::write(fd, s, strlen(s)) > 0);
    ::close(fd);
  }
  Resolved r;
  Resolved& go(const std::string& p, bool follow = true, bool parent = false, int dirfd = AT_FDCWD) {
    ResolveOpts o;
    o.follow = follow;
    o.need_parent = parent;
    REQUIRE(res.resolve(tid, pid, dirfd, p, o, r));
    return r;
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "plain paths resolve in one step and are trusted") {
  go(d / "pub/a.txt");
  CHECK(r.err == 0);
  CHECK(r.exists);
  CHECK(r.path == d / "pub/a.txt");
  CHECK(r.lexical == r.path);
  CHECK(r.trusted);
  CHECK(S_ISREG(r.st.st_mode));
  go(d / "pub/../secret/./s.txt");
  CHECK(r.path == d / "secret/s.txt");
}

TEST_CASE_FIXTURE(Fixture, "symlinks are followed; lexical path kept; nofollow stops at the link") {
  go(d / "rel");
  CHECK(r.path == d / "pub/a.txt");
  CHECK(r.lexical == d / "rel");
  CHECK(r.trusted);  // the link lies where the session cannot write
  go(d / "out/evil");
  CHECK(r.path == d / "secret/s.txt");
  CHECK_FALSE(r.trusted);  // planted where the session writes: must not widen
  go(d / "rel", false);
  CHECK(r.path == d / "rel");
  CHECK(S_ISLNK(r.st.st_mode));
  go(d / "dirlink/a.txt");
  CHECK(r.path == d / "pub/a.txt");
  go(d / "dirlink/../secret/s.txt");  // .. after a symlink is taken from the target
  CHECK(r.path == d.path + "/secret/s.txt");
}

TEST_CASE_FIXTURE(Fixture, "loops and missing components fail with the kernel's errno") {
  go(d / "loop1");
  CHECK(r.err == ELOOP);
  go(d / "nope/x");
  CHECK(r.err == ENOENT);
  CHECK(r.path == d / "nope/x");
  go(d / "pub/a.txt/x");
  CHECK(r.err == ENOTDIR);
}

TEST_CASE_FIXTURE(Fixture, "a path that does not exist yet is its resolved parent plus the name") {
  go(d / "dirlink/new.txt", true, true);
  CHECK(r.err == 0);
  CHECK_FALSE(r.exists);
  CHECK(r.path == d / "pub/new.txt");
  CHECK(r.parent.valid());
  CHECK(r.name == "new.txt");
  go(d / "pub/newdir/", false, true);
  CHECK(r.path == d / "pub/newdir");
  CHECK(r.name == "newdir/");
}

TEST_CASE_FIXTURE(Fixture, "relative paths start at the cwd or the dirfd") {
  char old[4096];
  REQUIRE(::getcwd(old, sizeof old));
  REQUIRE(::chdir(d.path.c_str()) == 0);
  go("pub/../rel");
  CHECK(r.path == d / "pub/a.txt");
  CHECK(r.lexical == d / "rel");
  int dfd = ::open((d / "secret").c_str(), O_RDONLY | O_DIRECTORY);
  go("s.txt", true, false, dfd);
  CHECK(r.path == d / "secret/s.txt");
  ::close(dfd);
  REQUIRE(::chdir(old) == 0);
}

TEST_CASE_FIXTURE(Fixture, "/proc/self and magic links are followed to what they name") {
  int fd = ::open((d / "secret/s.txt").c_str(), O_RDONLY);
  go("/proc/self/fd/" + std::to_string(fd));
  CHECK(r.path == d / "secret/s.txt");
  CHECK(r.magic);
  CHECK(r.magic_pid == pid);
  CHECK_FALSE(r.trusted);
  go("/proc/thread-self/fd/" + std::to_string(fd));
  CHECK(r.path == d / "secret/s.txt");
  ::close(fd);
  go("/proc/self/status");
  CHECK(r.path == "/proc/" + std::to_string(pid) + "/status");
  CHECK(r.lexical == "/proc/self/status");
  go("/proc/self/root" + d.path + "/rel");
  CHECK(r.path == d / "pub/a.txt");
  int p[2];
  REQUIRE(::pipe(p) == 0);
  go("/dev/fd/" + std::to_string(p[0]));
  CHECK(r.anonymous());
  CHECK(r.path.rfind("pipe:", 0) == 0);
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("lexical_join folds . and .. without touching the filesystem") {
  std::string out;
  lexical_join("/a/b", "../c/./d/", out);
  CHECK(out == "/a/c/d");
  lexical_join("/a", "/x/../../y", out);
  CHECK(out == "/y");
  lexical_join("/", "", out);
  CHECK(out == "/");
}

namespace {
// Another process as the tracee: its cwd, descriptors and /proc/self are not ours.
struct Other {
  pid_t pid = -1;
  int ready[2]{-1, -1};
  // The child chdirs to `cwd`, opens `file` on descriptor `fdnum`, then waits to be killed.
  Other(const std::string& cwd, const std::string& file, int fdnum) {
    REQUIRE(::pipe(ready) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (::chdir(cwd.c_str()) != 0) ::_exit(1);
      int f = ::open(file.c_str(), O_RDONLY);
      if (f < 0 || ::dup2(f, fdnum) < 0) ::_exit(1);
      char c = 'r';
      if (::write(ready[1], &c, 1) != 1) ::_exit(1);
      for (;;) ::pause();
    }
    char c;
    REQUIRE(::read(ready[0], &c, 1) == 1);
  }
  ~Other() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(ready[0]);
    ::close(ready[1]);
  }
};
}  // namespace

TEST_CASE_FIXTURE(Fixture, "another process: its cwd and its /proc/self, never the supervisor's") {
  constexpr int kFd = 57;  // not open in this process
  REQUIRE(::fcntl(kFd, F_GETFD) < 0);
  Other o(d / "pub", d / "secret/s.txt", kFd);
  ::symlink(("/proc/self/fd/" + std::to_string(kFd)).c_str(), (d / "out/tofd").c_str());
  ::symlink("/proc/self/status", (d / "out/tostatus").c_str());
  for (bool kf : {false, true}) {
    CAPTURE(kf);
    ResolveOpts opts;
    opts.kernel_follow = kf;
    REQUIRE(res.resolve(o.pid, o.pid, AT_FDCWD, "a.txt", opts, r));
    CHECK(r.path == d / "pub/a.txt");
    CHECK(r.exists);
    REQUIRE(res.resolve(o.pid, o.pid, AT_FDCWD, "../rel", opts, r));
    CHECK(r.path == d / "pub/a.txt");
    CHECK(r.lexical == d / "rel");
    CHECK(r.followed_fast == kf);
    CHECK(r.trusted != kf);  // the walk knows the link is trusted; the kernel does not say
    REQUIRE(res.resolve(o.pid, o.pid, AT_FDCWD, d / "out/tofd", opts, r));
    CHECK(r.path == d / "secret/s.txt");  // the other process's descriptor
    CHECK(r.magic);
    CHECK(r.magic_pid == o.pid);
    REQUIRE(res.resolve(o.pid, o.pid, AT_FDCWD, d / "out/tostatus", opts, r));
    CHECK(r.path == "/proc/" + std::to_string(o.pid) + "/status");
    CHECK_FALSE(r.followed_fast);
    REQUIRE(res.resolve(o.pid, o.pid, kFd, "", opts, r));  // "" is ENOENT...
    CHECK(r.err == ENOENT);
    opts.empty_path = true;
    REQUIRE(res.resolve(o.pid, o.pid, kFd, "", opts, r));  // ...but AT_EMPTY_PATH names it
    CHECK(r.path == d / "secret/s.txt");
    REQUIRE(res.resolve(o.pid, o.pid, 99, "x", opts, r) == false);
    CHECK(r.err == EBADF);
  }
}

TEST_CASE("path cache keeps only plain resolutions, by start directory and follow flag") {
  using guardian::decode::PathCache;
  guardian::decode::Resolved r;
  r.path = r.lexical = "/usr/bin/true";
  r.exists = true;
  CHECK(PathCache::keepable(r));
  r.path = "/usr/bin/other";  // a symlink crossed by the walk: never kept
  CHECK_FALSE(PathCache::keepable(r));
  r.followed_fast = true;  // the kernel's own follow: kept, re-checked on denial
  CHECK(PathCache::keepable(r));
  r.exists = false;
  CHECK_FALSE(PathCache::keepable(r));
  r.followed_fast = false;
  r.path = r.lexical = "/proc/self/status";  // names the asker: never kept
  r.exists = true;
  CHECK_FALSE(PathCache::keepable(r));
  r.path = r.lexical = "/tmp/x";
  r.magic = true;
  CHECK_FALSE(PathCache::keepable(r));
  r.magic = false;
  r.err = ENOTDIR;
  CHECK_FALSE(PathCache::keepable(r));
  r.err = ENOENT;  // a missing name under a symlink-free parent
  CHECK(PathCache::keepable(r));

  std::string a, b, c, d;
  PathCache::key("/home/u", "x", true, a);
  PathCache::key("/srv", "x", true, b);
  PathCache::key("/srv", "x", false, c);
  PathCache::key("/ignored", "/home/u/x", true, d);
  CHECK(a != b);
  CHECK(b != c);
  CHECK(a == d);  // the same text from the same place

  PathCache cache;
  r.err = 0;
  cache.put(a, r);
  REQUIRE(cache.find(a) != nullptr);
  CHECK(cache.find(a)->path == "/tmp/x");
  CHECK(cache.find(b) == nullptr);
  cache.clear();
  CHECK(cache.find(a) == nullptr);
}

TEST_CASE("procfs names of descriptors, made without printf") {
  char name[12], rel[16];
  CHECK(std::string(guardian::procfs::fd_name(0, name)) == "0");
  CHECK(std::string(guardian::procfs::fd_name(1023, name)) == "1023");
  CHECK(std::string(guardian::procfs::fd_name(2147483647, name)) == "2147483647");
  CHECK(std::string(guardian::procfs::fd_rel(4, rel)) == "fd/4");
  CHECK(std::string(guardian::procfs::fd_rel(2147483647, rel)) == "fd/2147483647");
}
