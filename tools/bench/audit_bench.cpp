// audit_bench: writes a realistic audit log through AuditLog (timing the writer), then
// times `guardian audit summary` and `guardian audit verify` on it and reports records/s.
//   audit_bench GUARDIAN [N] [DIR]        benchmark (default N = 1000000, DIR = /tmp)
//   audit_bench --generate OUT N [ocsf] [ROTATE_BYTES]   only write a log (used by tests)
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "audit/log.hpp"
#include "policy/profile.hpp"

extern char** environ;

namespace {

using namespace guardian;
using Clock = std::chrono::steady_clock;

// A session of `n` records: a shell that spawns children which read, write, stat, exec and
// connect; about 2% of decisions are denials under two rules and the default.
int generate(const std::string& out, std::uint64_t n, const std::string& format, std::uint64_t rotate) {
  audit::Options o;
  o.destination = out;
  o.format = format;
  o.rotate_bytes = rotate;
  auto r = audit::open_log(o);
  if (!r) {
    std::fprintf(stderr, "audit_bench: %s\n", r.error().message.c_str());
    return 1;
  }
  auto log = std::move(r).value();
  audit::SessionStart s;
  s.argv = {"sh", "-c", "make -j2 && ./run-tests"};
  s.cwd = "/home/dev/project";
  s.profile = "default";
  s.profile_sha256 = std::string(64, 'a');
  s.mode = "enforce";
  s.backend = "seccomp";
  s.uid = 1000;
  log->session_start(s);
  audit::ProcessRecord root;
  root.pid = 1000;
  root.what = "spawn";
  root.exe = "/usr/bin/sh";
  root.argv = s.argv;
  log->process(root);
  policy::RuleOrigin read_rule{"builtin:base", 12, 9, "/usr/**"};
  policy::RuleOrigin ssh_rule{"/home/dev/project/guardian.yaml", 8, 11, "~/.ssh/**"};
  std::uint64_t budget = n > 3 ? n - 3 : 0, written = 0;
  int pid = 1000;
  while (written < budget) {
    ++pid;
    audit::ProcessRecord spawn;
    spawn.pid = pid;
    spawn.ppid = 1000;
    spawn.what = "spawn";
    spawn.exe = "/usr/bin/sh";
    if (pid > 1001 && written < budget) log->process(spawn), ++written;
    for (int k = 0; k < 200 && written < budget; ++k, ++written) {
      audit::DecisionRecord d;
      d.pid = d.tid = pid;
      d.ppid = 1000;
      d.exe = "/usr/bin/cc1";
      d.syscall = "openat";
      d.category = policy::Category::file;
      d.op = policy::Op::read;
      d.path = d.raw_path = "/usr/include/x86_64-linux-gnu/bits/header" + std::to_string(k) + ".h";
      d.decision = policy::Verdict::allow;
      d.rule = &read_rule;
      if (k == 0) {
        d.category = policy::Category::exec;
        d.op = policy::Op::exec;
        d.syscall = "execve";
        d.path = d.raw_path = "/usr/bin/cc1";
        d.argv = {"cc1", "-quiet", "src/file" + std::to_string(pid) + ".c"};
      } else if (k % 50 == 7) {
        d.path = d.raw_path = "/home/dev/.ssh/id_ed25519";
        d.decision = policy::Verdict::deny;
        d.rule = &ssh_rule;
        d.err = 13;
        d.tip = "";
      } else if (k % 50 == 23) {
        d.syscall = "connect";
        d.category = policy::Category::network;
        d.op = policy::Op::connect;
        d.path.clear();
        d.raw_path.clear();
        d.addr = "140.82.112." + std::to_string(pid % 250) + ":443";
        d.decision = policy::Verdict::deny;
        d.rule = nullptr;
        d.err = 13;
        d.tip = "network:\n  connect: [\"" + d.addr + "\"]\n";
      } else if (k % 10 == 3) {
        d.syscall = "newfstatat";
        d.op = policy::Op::stat;
      } else if (k % 10 == 5) {
        d.op = policy::Op::write;
        d.path = d.raw_path = "/home/dev/project/build/obj" + std::to_string(pid) + ".o";
      }
      log->decision(d);
    }
    if (written < budget) {
      audit::ProcessRecord exit;
      exit.pid = pid;
      exit.ppid = 1000;
      exit.what = "exit";
      exit.exe = "/usr/bin/cc1";
      exit.status = 0;
      log->process(exit);
      ++written;
    }
  }
  audit::SessionEnd e;
  e.exit_status = 0;
  e.duration_s = 12.5;
  e.usage = {{"maxrss_kb", 81234}, {"utime_ms", 9000}};
  log->session_end(e);
  return 0;
}

struct Timing {
  double wall = 0, cpu = 0;  // seconds; cpu = user + system of the child
};

Timing run_timed(const std::vector<std::string>& args) {
  std::vector<char*> av;
  for (const auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  auto t0 = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, av[0], &fa, nullptr, av.data(), environ) != 0) {
    std::perror("audit_bench: posix_spawn");
    std::exit(1);
  }
  int st = 0;
  struct rusage ru {};
  wait4(pid, &st, 0, &ru);
  Timing t;
  t.wall = std::chrono::duration<double>(Clock::now() - t0).count();
  t.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  posix_spawn_file_actions_destroy(&fa);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::fprintf(stderr, "audit_bench: %s %s failed (status %d)\n", args[0].c_str(), args[2].c_str(), st);
    std::exit(1);
  }
  return t;
}

double cpu_now() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::strcmp(argv[1], "--generate") == 0)
    return generate(argv[2], std::strtoull(argv[3], nullptr, 10), argc > 4 ? argv[4] : "jsonl",
                    argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 0);
  if (argc < 2) {
    std::fputs("usage: audit_bench GUARDIAN [N] [DIR] | audit_bench --generate OUT N [ocsf] [ROTATE]\n", stderr);
    return 2;
  }
  std::string guardian = argv[1];
  std::uint64_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
  std::string dir = argc > 3 ? argv[3] : "/tmp";
  std::string log = dir + "/audit_bench." + std::to_string(getpid()) + ".jsonl";
  auto t0 = Clock::now();
  double c0 = cpu_now();
  if (generate(log, n, "jsonl", 0) != 0) return 1;
  double gen = std::chrono::duration<double>(Clock::now() - t0).count(), gen_cpu = cpu_now() - c0;
  FILE* f = std::fopen(log.c_str(), "r");
  std::fseek(f, 0, SEEK_END);
  double mb = static_cast<double>(std::ftell(f)) / 1e6;
  std::fclose(f);
  std::printf("audit log: %llu records, %.0f MB\n", static_cast<unsigned long long>(n), mb);
  // CPU time is the fair figure on a shared machine; wall time is what a user waits.
  std::printf("%-28s %8s %14s %8s %14s\n", "step", "wall s", "records/s", "cpu s", "records/cpu-s");
  std::printf("%-28s %8.3f %14.0f %8.3f %14.0f\n", "write (AuditLog, 2 threads)", gen, n / gen, gen_cpu, n / gen_cpu);
  for (const char* sub : {"summary", "verify", "tree", "query --decision deny"}) {
    std::vector<std::string> args = {guardian, "audit"};
    std::string s = sub;
    for (std::size_t p = 0; p != std::string::npos;) {
      std::size_t q = s.find(' ', p);
      args.push_back(s.substr(p, q == std::string::npos ? q : q - p));
      p = q == std::string::npos ? q : q + 1;
    }
    args.push_back(log);
    Timing best{1e9, 1e9};
    for (int i = 0; i < 3; ++i) {
      Timing t = run_timed(args);
      best.wall = std::min(best.wall, t.wall);
      best.cpu = std::min(best.cpu, t.cpu);
    }
    std::printf("%-28s %8.3f %14.0f %8.3f %14.0f\n", ("audit " + s).c_str(), best.wall, n / best.wall, best.cpu,
                n / best.cpu);
  }
  unlink(log.c_str());
  return 0;
}
