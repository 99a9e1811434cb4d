// Variables and engine queries shared by `guardian learn` and `guardian profile diff`.
#include "cli/learn_support.hpp"

#include <limits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "policy/address.hpp"

namespace guardian::cli {

namespace {

std::string resolved(const std::string& p) {
  char buf[PATH_MAX];
  if (!p.empty() && realpath(p.c_str(), buf) != nullptr) return buf;
  return p;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

}  // namespace

policy::LoadContext learn_context(const std::string& cwd, const std::string& home, const std::string& tmpdir) {
  policy::LoadContext ctx;
  std::string c = cwd;
  if (c.empty()) {
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof buf) != nullptr) c = buf;
  }
  ctx.builtins["CWD"] = resolved(c);
  ctx.builtins["HOME"] = resolved(home.empty() ? env_or("HOME", "/") : home);
  ctx.builtins["TMPDIR"] = resolved(tmpdir.empty() ? env_or("TMPDIR", "/tmp") : tmpdir);
  ctx.builtins["UID"] = std::to_string(getuid());
  ctx.builtins["USER"] = env_or("USER", env_or("LOGNAME", std::to_string(getuid())));
  return ctx;
}

std::unique_ptr<policy::Engine> load_engine(const std::string& file_or_name, const policy::LoadContext& ctx) {
  auto res = policy::load_profile(file_or_name, ctx);
  if (!res.profile || !res.errors.empty()) {
    for (const auto& e : res.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    if (res.errors.empty()) std::fprintf(stderr, "guardian: cannot load profile '%s'\n", file_or_name.c_str());
    return nullptr;
  }
  try {
    return std::make_unique<policy::Engine>(*res.profile);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "guardian: cannot compile profile '%s': %s\n", file_or_name.c_str(), e.what());
    return nullptr;
  }
}

bool engine_allows(const policy::Engine& engine, const policy::learn::Observation& ob) {
  policy::Request req;
  req.category = ob.category;
  req.op = ob.op;
  req.pid = static_cast<std::int32_t>(ob.pid);
  std::string storage, host, err;
  if (ob.category == policy::Category::network) {
    if (!policy::parse_concrete_address(ob.addr, &req.addr, &host, &storage, &err)) return false;
    if (!ob.host.empty()) host = ob.host;
    req.host = host;
  } else {
    req.path = ob.path;
    req.lexical_path = ob.path;
  }
  return engine.decide(req).verdict == policy::Verdict::allow;
}

}  // namespace guardian::cli
