// Unit tests for launch/landlock: rulesets built in the parent and enforced in a forked child,
// checked by real effect (files read or not, connections made or not, signals delivered or not).
#include "launch/landlock.hpp"
#include "temp_dir.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

using namespace guardian;
using namespace guardian::policy;
namespace fs = std::filesystem;

namespace {

void write_file(const std::string& p, const char* text) {
  FILE* f = std::fopen(p.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fputs(text, f);
  std::fclose(f);
}

// Runs `body` in a forked child confined by `ruleset_fd`; returns the child's exit code
// (body's return value; 200+ for setup failures).
int confined(int ruleset_fd, const std::function<int()>& body) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(201);
    if (launch::landlock_apply_in_child(ruleset_fd) != 0) ::_exit(202);
    ::_exit(body());
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  return WEXITSTATUS(st);
}

// errno of opening `path` with `flags` (0 = success).
int open_errno(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

// An envelope that lets a child run ordinary code: libraries readable, nothing else.
Envelope base_envelope() {
  Envelope env;
  env.paths.push_back({"/usr", kEnvRead | kEnvExec, true, "test"});
  return env;
}

int abi_or_skip() {
  int abi = launch::landlock_abi();
  if (abi == 0) MESSAGE("kernel without Landlock: skipped");
  return abi;
}

}  // namespace

TEST_CASE("masks follow the ABI") {
  auto m1 = launch::landlock_masks(1);
  CHECK(m1.net == 0);
  CHECK(m1.scopes == 0);
  CHECK((m1.handled_fs & (1ULL << 13)) == 0);  // REFER arrived in ABI 2
  auto m7 = launch::landlock_masks(7);
  CHECK((m7.handled_fs & (1ULL << 15)) != 0);  // IOCTL_DEV, ABI 5
  CHECK(m7.net == 3);
  CHECK(m7.scopes == 3);
  CHECK(m7.restrict_flags == 2);  // LOG_NEW_EXEC_ON
  CHECK((m7.read & ~m7.handled_fs) == 0);
  CHECK((m7.write & m7.read) == m7.read);  // write implies read
  CHECK(launch::landlock_masks(0).handled_fs == 0);
}

TEST_CASE("files: read beneath read prefixes, write beneath write prefixes, nothing elsewhere") {
  int abi = abi_or_skip();
  if (abi == 0) return;
  TempDir t{"landlock"};
  fs::create_directories(t / "ro");
  fs::create_directories(t / "rw");
  fs::create_directories(t / "outside");
  write_file(t / "ro/a", "a");
  write_file(t / "outside/secret", "s");
  Envelope env = base_envelope();
  env.paths.push_back({t / "ro", kEnvRead, true, "test"});
  env.paths.push_back({t / "rw", kEnvRead | kEnvWrite, true, "test"});
  auto rs = launch::build_landlock_ruleset(env, abi);
  REQUIRE(rs);
  CHECK(rs.value().skipped.empty());
  int fd = rs.value().fd.get();

  CHECK(confined(fd, [&] { return open_errno(t / "ro/a", O_RDONLY); }) == 0);
  CHECK(confined(fd, [&] { return open_errno(t / "outside/secret", O_RDONLY); }) == EACCES);
  CHECK(confined(fd, [&] { return open_errno(t / "ro/a", O_WRONLY); }) == EACCES);
  CHECK(confined(fd, [&] { return open_errno(t / "ro/new", O_WRONLY | O_CREAT); }) == EACCES);
  CHECK(confined(fd, [&] { return open_errno(t / "rw/new", O_WRONLY | O_CREAT); }) == 0);
  CHECK(fs::exists(t / "rw/new"));
  CHECK_FALSE(fs::exists(t / "ro/new"));
  CHECK(confined(fd, [&] { return ::unlink((t / "outside/secret").c_str()) == 0 ? 0 : errno; }) == EACCES);
  CHECK(fs::exists(t / "outside/secret"));
}

TEST_CASE("exec only beneath exec prefixes") {
  int abi = abi_or_skip();
  if (abi == 0) return;
  Envelope with;
  with.paths.push_back({"/usr", kEnvRead | kEnvExec, true, "test"});
  with.paths.push_back({"/etc", kEnvRead, true, "test"});
  Envelope without;
  without.paths.push_back({"/usr", kEnvRead, true, "test"});
  without.paths.push_back({"/etc", kEnvRead, true, "test"});
  auto a = launch::build_landlock_ruleset(with, abi);
  auto b = launch::build_landlock_ruleset(without, abi);
  REQUIRE(a);
  REQUIRE(b);
  auto run_true = [] {
    int devnull = ::open("/dev/null", O_WRONLY);
    (void)devnull;
    char* argv[] = {const_cast<char*>("true"), nullptr};
    ::execv("/usr/bin/true", argv);
    return errno == EACCES ? 99 : 98;
  };
  CHECK(confined(a.value().fd.get(), run_true) == 0);
  CHECK(confined(b.value().fd.get(), run_true) == 99);
}

TEST_CASE("TCP connect only to ports in the envelope") {
  int abi = abi_or_skip();
  if (abi < 4) return;
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(lfd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  REQUIRE(::listen(lfd, 8) == 0);
  std::uint16_t port = ntohs(sa.sin_port);

  auto try_connect = [&] {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return 97;
    int r = ::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    return r == 0 ? 0 : errno;
  };
  Envelope closed = base_envelope();
  closed.connect.ports = {{static_cast<std::uint16_t>(port == 1 ? 2 : 1), static_cast<std::uint16_t>(port == 1 ? 2 : 1)}};
  Envelope open = base_envelope();
  open.connect.ports = {{port, port}};
  auto a = launch::build_landlock_ruleset(closed, abi);
  auto b = launch::build_landlock_ruleset(open, abi);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(confined(a.value().fd.get(), try_connect) == EACCES);
  CHECK(confined(b.value().fd.get(), try_connect) == 0);
  Envelope all = base_envelope();
  all.connect.all = true;
  auto c = launch::build_landlock_ruleset(all, abi);
  REQUIRE(c);
  CHECK(c.value().handled_net == 1);  // BIND_TCP only: connect left alone
  CHECK(confined(c.value().fd.get(), try_connect) == 0);
  ::close(lfd);
}

TEST_CASE("TCP bind only to ports in the envelope") {
  int abi = abi_or_skip();
  if (abi < 4) return;
  auto try_bind = [] {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(0);
    return ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 ? 0 : errno;
  };
  auto rs = launch::build_landlock_ruleset(base_envelope(), abi);
  REQUIRE(rs);
  CHECK(confined(rs.value().fd.get(), try_bind) == EACCES);
}

TEST_CASE("signals to a process outside the session are refused by the kernel") {
  int abi = abi_or_skip();
  if (abi < 6) return;
  pid_t outsider = ::fork();
  REQUIRE(outsider >= 0);
  if (outsider == 0) {
    ::pause();
    ::_exit(0);
  }
  auto rs = launch::build_landlock_ruleset(base_envelope(), abi);
  REQUIRE(rs);
  CHECK(confined(rs.value().fd.get(), [&] { return ::kill(outsider, SIGTERM) == 0 ? 0 : errno; }) == EPERM);
  // Still alive: the signal never arrived.
  int st = 0;
  CHECK(::waitpid(outsider, &st, WNOHANG) == 0);
  // Signals inside the session still work (a child of the confined process).
  CHECK(confined(rs.value().fd.get(), [] {
          pid_t c = ::fork();
          if (c == 0) {
            ::pause();
            ::_exit(0);
          }
          if (::kill(c, SIGTERM) != 0) return errno;
          int s = 0;
          ::waitpid(c, &s, 0);
          return WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM ? 0 : 96;
        }) == 0);
  ::kill(outsider, SIGKILL);
  ::waitpid(outsider, &st, 0);
}

TEST_CASE("abstract unix sockets outside the session are unreachable unless the profile names one") {
  int abi = abi_or_skip();
  if (abi < 6) return;
  int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "guardian-test-%d", ::getpid());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + std::strlen(sa.sun_path + 1));
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), len) == 0);
  REQUIRE(::listen(lfd, 4) == 0);
  auto try_connect = [&] {
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    return ::connect(s, reinterpret_cast<sockaddr*>(&sa), len) == 0 ? 0 : errno;
  };
  Envelope scoped = base_envelope();
  Envelope unscoped = base_envelope();
  unscoped.scope_abstract_unix = false;
  auto a = launch::build_landlock_ruleset(scoped, abi);
  auto b = launch::build_landlock_ruleset(unscoped, abi);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(confined(a.value().fd.get(), try_connect) == EPERM);
  CHECK(confined(b.value().fd.get(), try_connect) == 0);
  ::close(lfd);
}

TEST_CASE("a vanished path is skipped, never widening anything") {
  int abi = abi_or_skip();
  if (abi == 0) return;
  Envelope env = base_envelope();
  env.paths.push_back({"/nonexistent/guardian/path", kEnvRead, true, "test"});
  auto rs = launch::build_landlock_ruleset(env, abi);
  REQUIRE(rs);
  REQUIRE(rs.value().skipped.size() == 1);
  CHECK(rs.value().skipped[0].find("/nonexistent/guardian/path") != std::string::npos);
}

TEST_CASE("a long envelope (rules added from two threads): every entry holds, skips keep their order") {
  int abi = abi_or_skip();
  if (abi == 0) return;
  TempDir t{"landlock"};
  Envelope env = base_envelope();
  for (int i = 0; i < 100; ++i) {
    std::string name = "f" + std::to_string(100 + i);
    write_file(t / name, "x");
    write_file(t / ("denied" + std::to_string(i)), "x");
    if (i == 10 || i == 90) env.paths.push_back({t / ("gone" + std::to_string(i)), kEnvRead, false, "test"});
    env.paths.push_back({t / name, kEnvRead, false, "test"});
  }
  auto rs = launch::build_landlock_ruleset(env, abi);
  REQUIRE(rs);
  REQUIRE(rs.value().skipped.size() == 2);
  CHECK(rs.value().skipped[0].find("gone10") != std::string::npos);
  CHECK(rs.value().skipped[1].find("gone90") != std::string::npos);
  int fd = rs.value().fd.get();
  // The first entries and the last ones (each half of the list) are readable; nothing else.
  CHECK(confined(fd, [&] {
    for (int i = 0; i < 100; ++i)
      if (int e = open_errno(t / ("f" + std::to_string(100 + i)), O_RDONLY)) return 100 + (e == EACCES ? 0 : 1);
    return 0;
  }) == 0);
  CHECK(confined(fd, [&] { return open_errno(t / "denied5", O_RDONLY); }) == EACCES);
  CHECK(confined(fd, [&] { return open_errno(t / "denied95", O_RDONLY); }) == EACCES);
}

TEST_CASE("prepare_landlock: off on request, fields for the audit log") {
  Profile p;
  auto off = launch::prepare_landlock(p, {}, "--no-landlock");
  CHECK_FALSE(off.active);
  CHECK(off.status == "off (--no-landlock)");
  CHECK(off.audit_fields().at("landlock") == "off (--no-landlock)");
  if (launch::landlock_abi() == 0) return;
  p.read = {PathRule{"/usr/**", {}}};
  auto on = launch::prepare_landlock(p, {}, "");
  CHECK(on.active);
  CHECK(on.ruleset.valid());
  auto f = on.audit_fields();
  CHECK(f.at("landlock") == "applied");
  CHECK(f.at("landlock_read").find("/usr") != std::string::npos);
  CHECK(f.at("landlock_connect_tcp") == "none");
}
