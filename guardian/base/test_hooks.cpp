// Default (release) definitions of the test switches in test_hooks.hpp: all off.
#include "base/test_hooks.hpp"

namespace guardian::testing {

// Weak so that only the test executable can replace it; see test_hooks.hpp.
__attribute__((weak)) bool supervisor_allow_all() noexcept { return false; }

}  // namespace guardian::testing
