// guardian: subcommand dispatch. The only place that turns a subcommand's outcome into the
// process exit status.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>

#include "base/stdio.hpp"
#include "cli/commands.hpp"
#include "version.hpp"

namespace {

constexpr const char* kUsage =
    "usage: guardian run     [options] -- COMMAND [ARG...]\n"
    "       guardian learn   [options] -o OUT.yaml [--merge OLD.yaml] -- COMMAND [ARG...]\n"
    "       guardian learn   --from-audit LOG -o OUT.yaml [--merge OLD.yaml]\n"
    "       guardian profile check [--set NAME=VALUE]... FILE...\n"
    "       guardian profile explain [--set NAME=VALUE]... FILE (--read P | --write P | --stat P |\n"
    "                                --exec P | --connect ADDR | --bind ADDR)\n"
    "       guardian profile show NAME\n"
    "       guardian profile diff A B\n"
    "       guardian profile envelope [--verbose] [--set NAME=VALUE]... NAME|FILE\n"
    "       guardian audit   (summary | query | tree | report | verify) LOG...\n"
    "       guardian --version | --help | SUBCOMMAND --help\n"
    "\n"
    "Runs a command under a least-privilege profile, deciding each file, network and\n"
    "exec syscall of it and its children, and logging every decision.\n"
    "See guardian(1), guardian-profile(5), guardian-audit(5).\n";

}  // namespace

namespace {

// The subcommand's status, unless what it printed could not all be written (a full disk, a
// closed standard output): then a one-line reason and, where it said success, 125.
int checked_stdout(int rc) {
  std::cout.flush();
  if (std::fflush(stdout) == 0 && !std::ferror(stdout) && std::cout.good()) return rc;
  int e = errno;
  if (guardian::stdio::was_closed(STDOUT_FILENO))
    std::fputs("guardian: cannot write standard output: it is closed\n", stderr);
  else
    std::fprintf(stderr, "guardian: cannot write standard output: %s\n", std::strerror(e));
  return rc == 0 ? guardian::cli::kExitGuardianFailure : rc;
}

int dispatch(int argc, char** argv) {
  using namespace guardian::cli;
  if (argc < 2) {
    std::fputs("guardian: missing subcommand (try 'guardian --help')\n", stderr);
    return kExitGuardianFailure;
  }
  std::string_view sub = argv[1];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (sub == "--version" || sub == "-V") {
    if (argc > 2) {
      std::fprintf(stderr, "guardian: %s takes no argument, not '%s' (try 'guardian --help')\n", argv[1], argv[2]);
      return kExitGuardianFailure;
    }
    std::printf("guardian %s\n", GUARDIAN_VERSION);
    return 0;
  }
  // Each subcommand sees argv[0] = "guardian SUB" style: argv shifted by one.
  if (sub == "run") return run_main(argc - 1, argv + 1);
  if (sub == "learn") return learn_main(argc - 1, argv + 1);
  if (sub == "profile") return profile_main(argc - 1, argv + 1);
  if (sub == "audit") return audit_main(argc - 1, argv + 1);
  std::fprintf(stderr, "guardian: unknown subcommand '%s' (try 'guardian --help')\n", argv[1]);
  return kExitGuardianFailure;
}

}  // namespace

int main(int argc, char** argv) {
  guardian::stdio::hold_closed();
  return checked_stdout(dispatch(argc, argv));
}
