// Checks the exec part of the Landlock envelope against the profile (see exec_gap.hpp).
// Run once, at the first hand-over of a process to a tracer of the session, never at start.
#include "session/exec_gap.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string_view>
#include <vector>

namespace guardian::session {

namespace {

using policy::Category;
using policy::Op;
using policy::Verdict;

constexpr std::size_t kMaxFiles = 50000;  // more is not checked: a gap (fail closed)

policy::Decision decide(const policy::Engine& e, Category cat, Op op, const std::string& path) {
  policy::Request r;
  r.category = cat;
  r.op = op;
  r.path = path;
  r.lexical_path = path;
  return e.decide(r);
}
bool allowed(const policy::Engine& e, Category cat, Op op, const std::string& path) {
  return decide(e, cat, op, path).verdict == Verdict::allow;
}
// No rule lets `path` run. (A deny rule that refuses it is decided at the call:
// guardian(1) says that this much rests on the supervisor alone for a traced process.)
bool unruled(const policy::Engine& e, const std::string& path) {
  policy::Decision d = decide(e, Category::exec, Op::exec, path);
  return d.verdict != Verdict::allow && d.rule == nullptr;
}

// Every regular executable file below `dir` that no rule lets run (not following symlinks:
// their targets are entries of their own when they are executable at all).
bool walk(const std::string& dir, const policy::Engine& e, std::size_t& seen, std::string& gap) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return true;
  std::vector<std::string> subdirs;
  while (dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n == "." || n == "..") continue;
    if (++seen > kMaxFiles) {
      ::closedir(d);
      gap = "more than " + std::to_string(kMaxFiles) + " files below the envelope's exec entries to check";
      return false;
    }
    std::string p = dir == "/" ? "/" + std::string(n) : dir + "/" + std::string(n);
    struct stat st {};
    if (::fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      subdirs.push_back(std::move(p));
    } else if (S_ISREG(st.st_mode) && (st.st_mode & 0111) && unruled(e, p)) {
      ::closedir(d);
      gap = "the envelope lets " + p + " run, which the profile does not";
      return false;
    }
  }
  ::closedir(d);
  for (const std::string& s : subdirs)
    if (!walk(s, e, seen, gap)) return false;
  return true;
}

}  // namespace

std::string exec_envelope_gap(const policy::Engine& engine, const policy::Envelope& envelope) {
  std::size_t seen = 0;
  std::string gap;
  for (const policy::EnvelopePath& p : envelope.paths) {
    if (!(p.access & policy::kEnvExec)) continue;
    // A file (the command itself, the loader): a gap only if the session could replace
    // it (the loader run as a program is caught at its first open: decode/exec.cpp).
    if (!p.is_dir) {
      if (allowed(engine, Category::file, Op::write, p.path) && unruled(engine, p.path))
        return "the session may write " + p.path + ", which the envelope lets it execute";
      continue;
    }
    // A rule lets anything new below it run (DIR/**): nothing to look at.
    const std::string probe = p.path + "/.guardian-probe";
    if (allowed(engine, Category::exec, Op::exec, probe)) continue;
    // A directory the session may write (the envelope makes the write rules' directories
    // executable): what it plants there would run under a name no rule allows.
    if (allowed(engine, Category::file, Op::write, probe))
      return "the session may write " + p.path + " and the envelope lets it execute what it writes there";
    // Narrower rules (a glob expanded to what it matched): every program there must match.
    if (!walk(p.path, engine, seen, gap)) return gap;
  }
  return {};
}

}  // namespace guardian::session
