// TESTS ONLY, linked into guardian-test-allow-all and nothing else: the supervisor allows
// every request, so only the kernel's Landlock envelope stands between the command and
// what its profile does not allow. Never installed.
#include <cstdio>

#include "base/test_hooks.hpp"

namespace guardian::testing {

bool supervisor_allow_all() noexcept {
  static const bool warned = [] {
    std::fputs("guardian: TEST BUILD: the supervisor allows every request (test_supervisor_allow_all)\n",
               stderr);
    return true;
  }();
  return warned;
}

}  // namespace guardian::testing
