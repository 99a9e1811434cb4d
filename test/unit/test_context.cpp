// Tests for guardian/context: host table, maps parsing, and ContextLog joining the shim's
// reports to decision records — with reports made by hand and by the real shim in a child.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "context/channel.hpp"
#include "context/context_log.hpp"
#include "context/preload.hpp"
#include "preload/protocol.h"

using namespace guardian;
using namespace std::chrono_literals;

namespace {

// Records what reaches the real log.
class FakeLog : public audit::AuditLog {
 public:
  void session_start(const audit::SessionStart&) override {}
  void decision(const audit::DecisionRecord& r) override {
    std::lock_guard lk(mu);
    decisions.push_back(r);
  }
  void process(const audit::ProcessRecord&) override {}
  void limit(const audit::LimitRecord&) override {}
  void session_end(const audit::SessionEnd&) override { ended = true; }
  void flush() override {}
  std::string denial_summary() const override { return {}; }

  std::size_t count() {
    std::lock_guard lk(mu);
    return decisions.size();
  }
  audit::DecisionRecord at(std::size_t i) {
    std::lock_guard lk(mu);
    return decisions.at(i);
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (count() < n && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
    return count() >= n;
  }

  std::mutex mu;
  std::vector<audit::DecisionRecord> decisions;
  bool ended = false;
};

audit::DecisionRecord denial(pid_t pid, pid_t tid, const std::string& sc, const std::string& raw) {
  audit::DecisionRecord r;
  r.pid = pid;
  r.tid = tid;
  r.ppid = 1;
  r.syscall = sc;
  r.category = policy::Category::file;
  r.op = policy::Op::read;
  r.raw_path = raw;
  r.path = raw;
  r.decision = policy::Verdict::deny;
  r.err = EACCES;
  return r;
}

void send_hello(int fd) {
  gshim_header h{};
  h.magic = GSHIM_MAGIC;
  h.kind = GSHIM_HELLO;
  h.size = sizeof h;
  REQUIRE(::send(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h));
}

// Sends a context report like the shim does, with an eventfd for the ack; returns it.
int send_context(int fd, const char* path, std::uint64_t frame) {
  gshim_context m{};
  m.h.magic = GSHIM_MAGIC;
  m.h.kind = GSHIM_CONTEXT;
  m.h.size = sizeof m;
  m.h.pid = getpid();
  m.h.tid = gettid();
  m.family = GSHIM_FAM_OPEN;
  m.err = EACCES;
  m.nframes = 2;
  m.frames[0] = frame;
  m.frames[1] = frame;
  std::strncpy(m.path, path, sizeof m.path - 1);
  int efd = eventfd(0, EFD_CLOEXEC);
  struct iovec iov = {&m, sizeof m};
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))]{};
  struct msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &efd, sizeof efd);
  REQUIRE(::sendmsg(fd, &mh, 0) == static_cast<ssize_t>(sizeof m));
  return efd;
}

bool acked(int efd, int ms) {
  struct pollfd p = {efd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1;
}

__attribute__((noinline)) std::uint64_t where_am_i() {
  return reinterpret_cast<std::uint64_t>(__builtin_return_address(0));
}

__attribute__((noinline)) std::uint64_t calling_site_marker() {
  std::uint64_t v = where_am_i();
  asm volatile("" ::: "memory");  // no tail call: the return address must lie in here
  return v;
}

std::filesystem::path build_dir() {
  // test/unit/test_context -> build root
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path();
}

}  // namespace

TEST_CASE("address_only strips ports, brackets and the IPv4-mapped prefix") {
  using context::HostTable;
  CHECK(HostTable::address_only("1.2.3.4:80") == "1.2.3.4");
  CHECK(HostTable::address_only("[::1]:22") == "::1");
  CHECK(HostTable::address_only("[::ffff:10.0.0.1]:443") == "10.0.0.1");
  CHECK(HostTable::address_only("::1") == "::1");
  CHECK(HostTable::address_only("127.0.0.1") == "127.0.0.1");
}

TEST_CASE("host table answers per process, then for its parent, never across processes") {
  context::HostTable t;
  t.add(10, "localhost", {"127.0.0.1", "::1"});
  CHECK(t.lookup(10, 1, "127.0.0.1:8080") == "localhost");
  CHECK(t.lookup(11, 10, "[::1]:22") == "localhost");
  CHECK(t.lookup(12, 1, "127.0.0.1:8080").empty());
  t.forget(10);
  CHECK(t.lookup(10, 1, "127.0.0.1:8080").empty());
}

TEST_CASE("shim families map to the syscalls the audit log names") {
  CHECK(context::family_matches(GSHIM_FAM_OPEN, "openat"));
  CHECK(context::family_matches(GSHIM_FAM_STAT, "newfstatat"));
  CHECK(context::family_matches(GSHIM_FAM_EXEC, "execve"));
  CHECK_FALSE(context::family_matches(GSHIM_FAM_OPEN, "execve"));
  CHECK_FALSE(context::family_matches(GSHIM_FAM_CONNECT, "openat"));
}

TEST_CASE("parse_maps keeps file mappings with their offsets") {
  auto m = context::parse_maps(
      "55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 1234 /usr/bin/cat\n"
      "7ffd1000-7ffd2000 rw-p 00000000 00:00 0 \n"
      "7f0000001000-7f0000005000 r-xp 00001000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
      "7ffe0000-7ffe2000 r-xp 00000000 00:00 0                          [vdso]\n");
  REQUIRE(m.size() == 3);
  CHECK(m[0].path == "/usr/bin/cat");
  CHECK(m[0].start == 0x55d0c0a00000ULL);
  CHECK(m[1].offset == 0x1000);
  CHECK(m[1].inode == 99);
  CHECK(m[2].path == "[vdso]");
}

namespace {
std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}
}  // namespace

// run_session grows the descriptor table before any thread exists (a shared table grows
// only after an RCU grace period: 15-20 ms of start-up): nothing may be left open by it,
// and the channel still goes to its high number, not the lowest free one.
TEST_CASE("reserve_channel_number leaves nothing open; the channel still lands high") {
  const std::size_t before = open_descriptors();
  context::reserve_channel_number();
  CHECK(open_descriptors() == before);
  auto ch = context::open_channel();
  REQUIRE(ch);
  struct rlimit lim {};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  if (lim.rlim_cur > 64) CHECK(ch.value().child.get() > 64);
  CHECK(ch.value().supervisor.get() <= ch.value().child.get());
}

TEST_CASE("a held denial gets the reporter's symbolised backtrace") {
  auto ch = context::open_channel();
  REQUIRE(ch);
  auto fake = std::make_unique<FakeLog>();
  FakeLog* log = fake.get();
  context::ContextOptions opts;
  opts.hold = 5s;
  context::ContextLog cl(std::move(fake), std::move(ch.value().supervisor), opts);
  int fd = ch.value().child.get();
  send_hello(fd);
  cl.decision(denial(getpid(), gettid(), "openat", "/secret/key"));
  CHECK(log->count() == 0);  // held for its context
  int efd = send_context(fd, "/secret/key", calling_site_marker());
  CHECK(acked(efd, 2000));
  ::close(efd);
  REQUIRE(log->wait_for(1, 3s));
  auto r = log->at(0);
  REQUIRE_FALSE(r.backtrace.empty());
  INFO(r.backtrace[0]);
  CHECK(r.backtrace[0].find("calling_site_marker") != std::string::npos);
  CHECK(r.backtrace[0].find("test_context") != std::string::npos);
}

TEST_CASE("an unmatched report is acknowledged at once and the denial is released later") {
  auto ch = context::open_channel();
  REQUIRE(ch);
  auto fake = std::make_unique<FakeLog>();
  FakeLog* log = fake.get();
  context::ContextOptions opts;
  opts.hold = 100ms;
  context::ContextLog cl(std::move(fake), std::move(ch.value().supervisor), opts);
  int fd = ch.value().child.get();
  send_hello(fd);
  cl.decision(denial(getpid(), gettid(), "openat", "/secret/a"));
  int efd = send_context(fd, "/other/path", 0x1234);
  CHECK(acked(efd, 1000));
  ::close(efd);
  REQUIRE(log->wait_for(1, 2s));
  CHECK(log->at(0).backtrace.empty());
  CHECK(log->at(0).raw_path == "/secret/a");
}

TEST_CASE("denials of processes without the shim, and allows, are not held") {
  auto ch = context::open_channel();
  REQUIRE(ch);
  auto fake = std::make_unique<FakeLog>();
  FakeLog* log = fake.get();
  context::ContextOptions opts;
  opts.hold = 10s;
  context::ContextLog cl(std::move(fake), std::move(ch.value().supervisor), opts);
  cl.decision(denial(424242, 424242, "openat", "/x"));
  auto allow = denial(getpid(), gettid(), "openat", "/y");
  allow.decision = policy::Verdict::allow;
  cl.decision(allow);
  CHECK(log->count() == 2);
}

TEST_CASE("connect records get the host the process looked up") {
  auto ch = context::open_channel();
  REQUIRE(ch);
  auto fake = std::make_unique<FakeLog>();
  FakeLog* log = fake.get();
  context::ContextLog cl(std::move(fake), std::move(ch.value().supervisor), {});
  gshim_host h{};
  h.h.magic = GSHIM_MAGIC;
  h.h.kind = GSHIM_HOST;
  h.h.size = sizeof h;
  std::strcpy(h.name, "localhost");
  h.naddrs = 1;
  h.addrs[0].family = 4;
  const unsigned char lo[4] = {127, 0, 0, 1};
  std::memcpy(h.addrs[0].bytes, lo, 4);
  REQUIRE(::send(ch.value().child.get(), &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h));
  audit::DecisionRecord r;
  r.pid = getpid();
  r.tid = gettid();
  r.syscall = "connect";
  r.category = policy::Category::network;
  r.op = policy::Op::connect;
  r.addr = "127.0.0.1:9";
  r.decision = policy::Verdict::allow;
  cl.decision(r);
  REQUIRE(log->count() == 1);
  CHECK(log->at(0).host == "localhost");
  CHECK(cl.host_for(getpid(), 1, "127.0.0.1:22") == "localhost");
  CHECK(cl.host_for(getpid() + 1, 1, "127.0.0.1:22").empty());
}

TEST_CASE("the real shim in a child reports its call site and keeps errno") {
  auto lib = build_dir() / "preload" / "libguardian-preload.so";
  auto probe = build_dir() / "test" / "integration" / "shim_probe";
  if (!std::filesystem::exists(lib) || !std::filesystem::exists(probe)) {
    MESSAGE("shim or probe not built; skipped");
    return;
  }
  auto ch = context::open_channel();
  REQUIRE(ch);
  auto fake = std::make_unique<FakeLog>();
  FakeLog* log = fake.get();
  context::ContextOptions opts;
  opts.hold = 5s;
  opts.deny_errno = ENOENT;  // no supervisor here: a missing file plays the denial
  std::string env_value = context::shim_env_value(ch.value(), ENOENT);
  int child_fd = ch.value().child.get();
  context::ContextLog cl(std::move(fake), std::move(ch.value().supervisor), opts);

  int go[2], out[2];
  REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  std::vector<std::string> env = {"PATH=/usr/bin:/bin"};
  context::inject_env(env, lib.string(), env_value);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string probe_s = probe.string();
  const char* argv[] = {probe_s.c_str(), "open", "/nonexistent/guardian-secret", nullptr};
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    char c;
    ::fcntl(child_fd, F_SETFD, 0);
    ::dup2(out[1], 1);
    if (::read(go[0], &c, 1) != 1) _exit(99);
    ::execve(argv[0], const_cast<char* const*>(argv), envp.data());
    _exit(98);
  }
  ::close(go[0]);
  ::close(out[1]);
  // What the supervisor would have decided for the probe's openat.
  auto r = denial(pid, pid, "openat", "/nonexistent/guardian-secret");
  r.ppid = getpid();
  // The hello arrives after exec; until then the parent (the test) must count as a shim
  // process for the record to be held: send our own hello.
  send_hello(child_fd);
  cl.decision(r);
  REQUIRE(::write(go[1], "x", 1) == 1);
  ::close(go[1]);
  char buf[256] = {};
  ssize_t n = ::read(out[0], buf, sizeof buf - 1);
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(n > 0);
  CHECK(std::string(buf) == "open errno=ENOENT\n");
  REQUIRE(log->wait_for(1, 4s));
  auto got = log->at(0);
  REQUIRE_FALSE(got.backtrace.empty());
  INFO(got.backtrace[0]);
  CHECK(got.backtrace[0].find("read_secret") != std::string::npos);
  CHECK(got.backtrace[0].find("shim_probe.c:") != std::string::npos);
}

TEST_CASE("inject_env appends to the user's LD_PRELOAD and replaces a stale GUARDIAN_SHIM") {
  std::vector<std::string> env = {"PATH=/bin", "LD_PRELOAD=/opt/mine.so", "GUARDIAN_SHIM=9:9:9"};
  context::inject_env(env, "/lib/libguardian-preload.so", "4:13:77");
  CHECK(std::find(env.begin(), env.end(), "LD_PRELOAD=/opt/mine.so:/lib/libguardian-preload.so") !=
        env.end());
  CHECK(std::count_if(env.begin(), env.end(),
                      [](const std::string& e) { return e.starts_with("GUARDIAN_SHIM="); }) == 1);
  CHECK(std::find(env.begin(), env.end(), "GUARDIAN_SHIM=4:13:77") != env.end());
  std::vector<std::string> bare = {"PATH=/bin"};
  context::inject_env(bare, "/lib/libguardian-preload.so", "4:13:77");
  CHECK(std::find(bare.begin(), bare.end(), "LD_PRELOAD=/lib/libguardian-preload.so") != bare.end());
}

TEST_CASE("--no-preload injects nothing; the library rule names its origin") {
  std::vector<std::string> env = {"PATH=/bin"};
  auto off = context::PreloadSession::prepare(false, EACCES, env);
  REQUIRE(off);
  CHECK_FALSE(off.value().active());
  CHECK(off.value().child_fd() == -1);
  CHECK(env.size() == 1);
  policy::Profile p;
  off.value().allow_library(p);
  CHECK(p.read.empty());
}

TEST_CASE("a process cannot attach a backtrace to another process's denial") {
  auto ch = context::open_channel();
  REQUIRE(ch);
  auto fake = std::make_unique<FakeLog>();
  FakeLog* log = fake.get();
  context::ContextOptions opts;
  opts.hold = 300ms;
  context::ContextLog cl(std::move(fake), std::move(ch.value().supervisor), opts);
  int fd = ch.value().child.get();
  send_hello(fd);
  // A denial of some other process whose parent is us (so it is held) ...
  auto r = denial(getpid() + 100000, gettid(), "openat", "/secret/other");
  r.ppid = getpid();
  cl.decision(r);
  // ... and a report from us naming its path and our tid: the kernel-supplied pid differs.
  int efd = send_context(fd, "/secret/other", calling_site_marker());
  CHECK(acked(efd, 1000));
  ::close(efd);
  REQUIRE(log->wait_for(1, 2s));
  CHECK(log->at(0).backtrace.empty());
}

TEST_CASE("a denial is held when the process has the shim mapped, with no hello sent") {
  // The shim no longer announces itself: the supervisor finds the library in the process's
  // memory map. Here the test process maps a file named like the shim.
  char dir[] = "/tmp/guardian-ctx-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string lib = std::string(dir) + "/libguardian-test-shim.so";
  int lfd = ::open(lib.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(lfd >= 0);
  REQUIRE(::write(lfd, "x", 1) == 1);
  auto ch = context::open_channel();
  REQUIRE(ch);
  auto fake = std::make_unique<FakeLog>();
  FakeLog* log = fake.get();
  context::ContextOptions opts;
  opts.hold = 300ms;
  opts.shim_name = "libguardian-test-shim.so";
  context::ContextLog cl(std::move(fake), std::move(ch.value().supervisor), opts);
  // Not mapped yet: written at once.
  cl.decision(denial(getpid(), gettid(), "openat", "/secret/a"));
  CHECK(log->count() == 1);
  // A new image (exec) is looked at again; now it maps the library: held, then released
  // without context when the window passes.
  audit::ProcessRecord exec;
  exec.pid = getpid();
  exec.what = "exec";
  cl.process(exec);
  void* m = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, lfd, 0);
  REQUIRE(m != MAP_FAILED);
  cl.decision(denial(getpid(), gettid(), "openat", "/secret/b"));
  CHECK(log->count() == 1);
  // Not a family the shim hooks: never held.
  cl.decision(denial(getpid(), gettid(), "unlink", "/secret/c"));
  CHECK(log->count() == 2);
  REQUIRE(log->wait_for(3, 2s));
  CHECK(log->at(2).raw_path == "/secret/b");
  CHECK(log->at(2).backtrace.empty());
  ::munmap(m, 4096);
  ::close(lfd);
  ::unlink(lib.c_str());
  ::rmdir(dir);
}
