// Tests for session limits: option parsing, merging with the profile, the cgroup (join,
// pids limit, kill of a double-forked tree) and the timer-driven wall limit.
#include <signal.h>
#include <sys/wait.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <doctest/doctest.h>

#include "session/cgroup.hpp"
#include "session/limits.hpp"
#include "session/reaper.hpp"

using namespace guardian::session;

TEST_CASE("durations, sizes and counts parse with units and reject junk") {
  CHECK(parse_duration("90").value() == 90);
  CHECK(parse_duration("1.5s").value() == 1.5);
  CHECK(parse_duration("500ms").value() == doctest::Approx(0.5));
  CHECK(parse_duration("10m").value() == 600);
  CHECK(parse_duration("2h").value() == 7200);
  CHECK_FALSE(parse_duration("ten"));
  CHECK_FALSE(parse_duration("5x"));
  CHECK_FALSE(parse_duration("0"));
  CHECK_FALSE(parse_duration("-3s"));
  CHECK(parse_size("64MiB").value() == 64ull << 20);
  CHECK(parse_size("2GiB").value() == 2ull << 30);
  CHECK(parse_size("1G").value() == 1ull << 30);
  CHECK(parse_size("1GB").value() == 1000000000ull);
  CHECK(parse_size("4096").value() == 4096);
  CHECK_FALSE(parse_size("lots"));
  CHECK_FALSE(parse_size("3 parsecs"));
  CHECK(parse_count("256").value() == 256);
  CHECK_FALSE(parse_count("0"));
  CHECK_FALSE(parse_count("-1"));
  CHECK_FALSE(parse_count("12abc"));
  CHECK(format_duration(600) == "10m");
  CHECK(format_duration(2) == "2s");
  CHECK(format_duration(0.5) == "500ms");
  CHECK(format_size(64ull << 20) == "64MiB");
}

TEST_CASE("the command line overrides the profile's limits and names the bad option") {
  guardian::policy::Limits p;
  p.wall_s = 600;
  p.pids = 100;
  p.memory_bytes = 1ull << 30;
  LimitOverrides cli;
  cli.timeout = "5s";
  cli.pids = "20";
  auto s = merge_limits(p, cli);
  REQUIRE(s);
  CHECK(*s.value().wall_s == 5);
  CHECK(*s.value().pids == 20);
  CHECK(*s.value().memory_bytes == 1ull << 30);
  CHECK_FALSE(s.value().cpu_s);
  cli.memory = "huge";
  auto bad = merge_limits(p, cli);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.rfind("--memory: ", 0) == 0);
}

namespace {
// Forks a child that joins the session via apply_in_child and runs `body`.
template <class F>
pid_t spawn(const SessionLimits& l, F body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (l.apply_in_child() != 0) ::_exit(99);
    body();
    ::_exit(0);
  }
  return pid;
}
int wait_status(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
}  // namespace

TEST_CASE("a cgroup session kills a double-forked daemon and enforces pids.max") {
  LimitSettings s;
  s.pids = 8;
  auto l = SessionLimits::prepare(s);
  REQUIRE(l);
  auto& lim = *l.value();
  if (!lim.cgroup()) {
    MESSAGE("no writable cgroup hierarchy: skipped");
    return;
  }
  // Child: double-fork a sleeper daemon, then try to fork 20 more (only a few may succeed).
  int pfd[2];
  REQUIRE(::pipe(pfd) == 0);
  pid_t child = spawn(lim, [&] {
    if (::fork() == 0) {
      ::setsid();
      if (::fork() == 0) {
        ::execl("/bin/sleep", "sleep", "300", nullptr);
        ::_exit(1);
      }
      ::_exit(0);
    }
    int ok = 0;
    for (int i = 0; i < 20; ++i) {
      pid_t p = ::fork();
      if (p == 0) {
        ::pause();
        ::_exit(0);
      }
      if (p > 0) ++ok;
    }
    char c = static_cast<char>(ok);
    (void)!::write(pfd[1], &c, 1);
    ::_exit(0);
  });
  char forked = 0;
  REQUIRE(::read(pfd[0], &forked, 1) == 1);
  CHECK(wait_status(child) == 0);
  if (lim.cgroup()->pids_mech() != CgMech::none) {
    CHECK(forked < 8);
    CHECK(lim.cgroup()->pids_max_hits() > 0);
  }
  // The orphans live on in the group; kill_all ends them all.
  CHECK(lim.cgroup()->populated());
  CHECK(lim.kill_all());
  CHECK_FALSE(lim.cgroup()->populated());
  CHECK(lim.cgroup()->members().empty());
  ::close(pfd[0]);
  ::close(pfd[1]);
}

TEST_CASE("the wall limit sends SIGTERM, then SIGKILL after the grace period, and maps to 124") {
  REQUIRE(enable_subreaper());
  LimitSettings s;
  s.wall_s = 0.3;
  s.grace_s = 0.3;
  auto l = SessionLimits::prepare(s, /*use_cgroup=*/false);
  REQUIRE(l);
  auto& lim = *l.value();
  // Ignores SIGTERM, so only the SIGKILL after the grace period ends it.
  pid_t child = spawn(lim, [] {
    ::signal(SIGTERM, SIG_IGN);
    for (;;) ::pause();
  });
  auto t0 = std::chrono::steady_clock::now();
  lim.start();
  REQUIRE(lim.timer_fd() >= 0);
  int st = -1;
  while (st < 0) {
    pollfd p{lim.timer_fd(), POLLIN, 0};
    ::poll(&p, 1, 50);
    if (p.revents & POLLIN) lim.on_timer();
    int raw;
    if (::waitpid(child, &raw, WNOHANG) == child) st = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  }
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(st == 128 + SIGKILL);
  CHECK(took >= std::chrono::milliseconds(550));
  CHECK(lim.cause() == EndCause::wall);
  CHECK(lim.finish(st) == 124);
}

TEST_CASE("the reaper finds and kills orphans re-parented to a subreaper") {
  REQUIRE(enable_subreaper());
  pid_t child = ::fork();
  if (child == 0) {
    if (::fork() == 0) {
      ::setsid();
      ::execl("/bin/sleep", "sleep", "300", nullptr);
      ::_exit(1);
    }
    ::_exit(0);
  }
  ::waitpid(child, nullptr, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // The orphan is ours now: the /proc walk must run (has_children), and finds it.
  CHECK(has_children());
  CHECK(descendants(::getpid()).size() == 1);
  CHECK(kill_descendants(::getpid(), std::chrono::milliseconds(2000)));
  while (::waitpid(-1, nullptr, 0) > 0) {  // SIGKILLed above: each exits soon
  }
  CHECK_FALSE(has_children());
  CHECK(descendants(::getpid()).empty());
}

TEST_CASE("empty groups left by a dead guardian are removed when the next one starts") {
  auto probe = SessionCgroup::create({});
  if (!probe || probe.value()->kill_mech() != CgMech::v2) {
    MESSAGE("no writable cgroup v2 hierarchy: skipped");
    return;
  }
  std::string parent = probe.value()->path().substr(0, probe.value()->path().rfind('/'));
  probe.value().reset();
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  std::string stale = parent + "/guardian-" + std::to_string(dead);
  REQUIRE(::mkdir(stale.c_str(), 0755) == 0);
  auto cg = SessionCgroup::create({});
  REQUIRE(cg);
  CHECK(::access(stale.c_str(), F_OK) != 0);
  ::rmdir(stale.c_str());
}
