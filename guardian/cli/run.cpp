// guardian run: not implemented yet (placeholder until its issue lands).
#include <cstdio>

#include "cli/commands.hpp"

namespace guardian::cli {

int run_main(int, char**) {
  std::fputs("guardian run: not implemented yet\n", stderr);
  return kExitGuardianFailure;
}

}  // namespace guardian::cli
