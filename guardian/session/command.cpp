// Finding COMMAND as execvp would, before launching.
#include "session/command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace guardian::session {

namespace {

// 0 = executable regular file; else the errno execve would give.
int check_file(const std::string& p) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (access(p.c_str(), X_OK) != 0) return errno;
  return 0;
}

ResolvedCommand found(const std::string& p) {
  ResolvedCommand r;
  r.path = p;
  char buf[PATH_MAX];
  r.real = realpath(p.c_str(), buf) ? buf : p;
  return r;
}

}  // namespace

ResolvedCommand resolve_command(const std::string& cmd, const std::string& path_var) {
  ResolvedCommand r;
  if (cmd.empty()) {
    r.status = 127;
    r.message = "guardian: missing command";
    return r;
  }
  if (cmd.find('/') != std::string::npos) {
    int e = check_file(cmd);
    if (e == 0) return found(cmd);
    r.status = (e == ENOENT || e == ENOTDIR) ? 127 : 126;
    r.message = "guardian: cannot execute '" + cmd + "': " + std::strerror(e);
    return r;
  }
  const std::string& pv = path_var;  // "" is one empty element: the current directory
  int seen_err = 0;
  std::size_t start = 0;
  while (start <= pv.size()) {
    std::size_t end = pv.find(':', start);
    if (end == std::string::npos) end = pv.size();
    std::string dir = pv.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + cmd;
    int e = check_file(cand);
    if (e == 0) return found(cand);
    if (e != ENOENT && e != ENOTDIR) seen_err = e;  // exists but not executable: remember
    start = end + 1;
  }
  if (seen_err) {
    r.status = 126;
    r.message = "guardian: cannot execute '" + cmd + "': " + std::strerror(seen_err);
  } else {
    r.status = 127;
    r.message = "guardian: " + cmd + ": command not found";
  }
  return r;
}

}  // namespace guardian::session
