// Finding COMMAND as execvp would, before launching, so that 126/127 are decided by us.
#pragma once

#include <string>

namespace guardian::session {

struct ResolvedCommand {
  int status = 0;        // 0 found; 126 cannot execute; 127 not found
  std::string path;      // the path to execve (PATH entry + name, or as given)
  std::string real;      // fully resolved (realpath) for allow_first_exec
  std::string message;   // one line for stderr when status != 0
};

// Where COMMAND is looked for when no PATH is set at all (execvp's own default is shorter;
// this one was guardian's before PATH set-but-empty was told apart).
inline constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// Resolves `cmd` on `path_var` (the PATH the command will see; as execvp, an empty element,
// or an empty PATH, is the current directory).
ResolvedCommand resolve_command(const std::string& cmd, const std::string& path_var);

}  // namespace guardian::session
