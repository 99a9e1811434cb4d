// guardian profile envelope NAME|FILE: show the Landlock envelope `guardian run` would apply
// under the supervisor for a profile (what the kernel alone would still refuse).
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "cli/commands.hpp"
#include "launch/landlock.hpp"
#include "policy/landlock_envelope.hpp"
#include "policy/loader.hpp"

namespace guardian::cli {
namespace {

constexpr const char* kEnvelopeUsage =
    "usage: guardian profile envelope [--verbose] [--set NAME=VALUE]... NAME|FILE\n"
    "Prints the Landlock envelope guardian run adds under the supervisor for the profile:\n"
    "one line per path (r read, w write, x execute; beneath it unless marked [file]), the\n"
    "TCP ports, the scopes, and notes on what Landlock cannot express. It is a superset of\n"
    "the profile: the supervisor still decides every request precisely. --verbose also lists\n"
    "each target of a system symlink (/usr/bin/clang -> /usr/lib/llvm-14/bin/clang).\n";

}  // namespace

int profile_envelope_main(int argc, char** argv) {
  policy::LoadContext ctx = policy::context_from_environment();
  std::string ref;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kEnvelopeUsage, stdout);
      return 0;
    }
    if (a == "--verbose" || a == "-v") {
      verbose = true;
      continue;
    }
    if (a == "--set" || a.substr(0, 6) == "--set=") {
      std::string kv = a == "--set" ? (i + 1 < argc ? argv[++i] : "") : std::string(a.substr(6));
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "guardian: --set needs NAME=VALUE, not '%s'\n", kv.c_str());
        return kExitGuardianFailure;
      }
      ctx.overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
      continue;
    }
    if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "guardian: profile envelope: unknown option '%s' (try --help)\n", argv[i]);
      return kExitGuardianFailure;
    }
    if (!ref.empty()) {
      std::fputs("guardian: profile envelope takes one profile\n", stderr);
      return kExitGuardianFailure;
    }
    ref = a;
  }
  if (ref.empty()) {
    std::fputs("guardian: profile envelope: missing profile NAME or FILE (try --help)\n", stderr);
    return kExitGuardianFailure;
  }
  policy::LoadResult lr = policy::load_profile(ref, ctx);
  if (!lr.profile) {
    for (const auto& e : lr.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return kExitGuardianFailure;
  }
  policy::EnvelopeOptions eo;
  eo.facts = std::move(lr.facts);  // the load's readlinks, not made twice
  policy::Envelope env = policy::compute_envelope(*lr.profile, eo);
  int abi = launch::landlock_abi();
  std::printf("# Landlock envelope of profile '%s' (a superset of it: Landlock can only allow)\n",
              ref.c_str());
  if (abi == 0) {
    std::puts("# kernel: no Landlock; guardian run would apply nothing beyond the supervisor");
  } else {
    std::printf("# kernel: Landlock ABI %d enforces files%s%s\n", abi,
                abi >= 4 ? ", TCP ports" : " (TCP ports need ABI 4)",
                abi >= 6 ? ", scopes" : " (scopes need ABI 6)");
  }
  std::fputs(policy::format_envelope(env, verbose).c_str(), stdout);
  return 0;
}

}  // namespace guardian::cli
