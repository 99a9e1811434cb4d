// guardian profile diff: placeholder until the learn room replaces this file.
#include <cstdio>

#include "cli/commands.hpp"

namespace guardian::cli {

int profile_diff_main(int, char**) {
  std::fputs("guardian profile diff: not implemented yet\n", stderr);
  return kExitGuardianFailure;
}

}  // namespace guardian::cli
