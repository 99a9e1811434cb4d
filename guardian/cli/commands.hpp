// One entry point per subcommand; each returns the process exit status (main maps nothing else).
#pragma once

namespace guardian::cli {

// Exit statuses fixed by the spec (§1).
inline constexpr int kExitGuardianFailure = 125;
inline constexpr int kExitCannotExecute = 126;
inline constexpr int kExitNotFound = 127;
inline constexpr int kExitTimeout = 124;

int run_main(int argc, char** argv);      // guardian run ...     (cli/run.cpp)
int learn_main(int argc, char** argv);    // guardian learn ...   (cli/learn.cpp)
int profile_main(int argc, char** argv);  // guardian profile ... (cli/profile.cpp)
int audit_main(int argc, char** argv);    // guardian audit ...   (cli/audit.cpp)

// guardian profile diff A B (cli/profile_diff.cpp, owned by learn); argv[0] is "diff".
int profile_diff_main(int argc, char** argv);
// guardian profile envelope NAME|FILE (cli/profile_envelope.cpp, landlock room); argv[0] is
// "envelope".
int profile_envelope_main(int argc, char** argv);

}  // namespace guardian::cli
