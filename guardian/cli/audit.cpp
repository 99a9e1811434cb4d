// guardian audit: not implemented yet (placeholder until its issue lands).
#include <cstdio>

#include "cli/commands.hpp"

namespace guardian::cli {

int audit_main(int, char**) {
  std::fputs("guardian audit: not implemented yet\n", stderr);
  return kExitGuardianFailure;
}

}  // namespace guardian::cli
