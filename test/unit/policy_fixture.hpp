// Helpers for the policy tests: profiles written into a private temp dir, loaded with a
// fixed context (no host configuration), and one-line decision queries.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "policy/engine.hpp"
#include "policy/loader.hpp"

namespace guardian::test {

// A temp directory removed at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/guardian-policy-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    path = p ? std::filesystem::canonical(p).string() : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  // Writes `text` to DIR/name (creating parents) and returns the full path.
  std::string write(const std::string& name, const std::string& text) const {
    std::string full = path + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(full).parent_path());
    std::ofstream(full, std::ios::binary) << text;
    return full;
  }
};

// A context that names paths which do not exist on the host, so rule resolution is inert.
inline policy::LoadContext fake_context() {
  policy::LoadContext c;
  c.builtins = {{"HOME", "/g/home/u"}, {"CWD", "/g/proj"}, {"TMPDIR", "/g/tmp"}, {"USER", "u"}, {"UID", "1000"}};
  return c;
}

// Loads `text` as DIR/name; on failure returns the first error's str() in *err.
inline std::optional<policy::Profile> load_text(const TempDir& d, const std::string& text, std::string* err = nullptr,
                                                const std::string& name = "p.yaml",
                                                const policy::LoadContext& ctx = fake_context()) {
  std::string f = d.write(name, text);
  auto r = policy::load_profile(f, ctx);
  if (err) *err = r.errors.empty() ? std::string() : r.errors[0].str();
  return r.profile;
}

inline policy::Request file_req(policy::Op op, std::string_view path, std::string_view lexical = {}, bool trusted = false) {
  policy::Request q;
  q.category = op == policy::Op::exec ? policy::Category::exec : policy::Category::file;
  q.op = op;
  q.path = path;
  q.lexical_path = lexical;
  q.lexical_trusted = trusted;
  return q;
}

// "allow" / "deny" for a file query.
inline std::string verdict(const policy::Engine& e, policy::Op op, std::string_view path) {
  return std::string(policy::to_string(e.decide(file_req(op, path)).verdict));
}

}  // namespace guardian::test
