// TESTS ONLY: switches that test executables flip and the installed guardian never does.
#pragma once

namespace guardian::testing {

// True only in the test executable `guardian-test-allow-all` (meson option
// test_supervisor_allow_all, never in a release build): the supervisor then allows every
// request it is asked about (denials become CONTINUE, exec checks pass), so tests can show
// that the Landlock envelope holds on its own. The installed `guardian` links the default
// definition in test_hooks.cpp, which returns false; the test executable links a strong
// definition (guardian/test_allow_all.cpp) that overrides it at link time, so the installed
// binary carries no switch at all — no environment variable, no flag.
bool supervisor_allow_all() noexcept;

}  // namespace guardian::testing
