// guardian learn: not implemented yet (placeholder until its issue lands).
#include <cstdio>

#include "cli/commands.hpp"

namespace guardian::cli {

int learn_main(int, char**) {
  std::fputs("guardian learn: not implemented yet\n", stderr);
  return kExitGuardianFailure;
}

}  // namespace guardian::cli
