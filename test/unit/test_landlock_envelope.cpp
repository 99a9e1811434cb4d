// Unit tests for policy/landlock_envelope: prefixes, widening, ports and scopes.
#include "policy/landlock_envelope.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <string>

using namespace guardian::policy;
namespace fs = std::filesystem;

namespace {

void touch(const std::string& p) {
  FILE* f = std::fopen(p.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fclose(f);
}

PathRule rule(const std::string& pattern, int line = 1) {
  return PathRule{pattern, RuleOrigin{"test.yaml", line, 1, pattern}};
}

const EnvelopePath* find(const Envelope& env, const std::string& path) {
  for (const auto& p : env.paths)
    if (p.path == path) return &p;
  return nullptr;
}

EnvelopeOptions no_loaders() {
  EnvelopeOptions o;
  o.loaders.clear();
  return o;
}

}  // namespace

TEST_CASE("literal_prefix stops at the first component holding a glob") {
  CHECK(literal_prefix("/usr/**") == "/usr");
  CHECK(literal_prefix("/usr/lib/*.so*") == "/usr/lib");
  CHECK(literal_prefix("/etc/hosts") == "/etc/hosts");
  CHECK(literal_prefix("/home/u/{a,b}/x") == "/home/u");
  CHECK(literal_prefix("/**/.env") == "/");
  CHECK(literal_prefix("//tmp//x?/y") == "/tmp");
}

TEST_CASE("read, write and exec rules become resolved prefixes with their rights") {
  TempDir t{"envelope"};
  fs::create_directories(t / "src/deep");
  fs::create_directories(t / "out");
  touch(t / "config");
  Profile p;
  p.read = {rule(t / "src/**"), rule(t / "config")};
  p.write = {rule(t / "out/*.o")};
  p.exec_allow = {rule(t / "src/deep/tool*")};
  Envelope env = compute_envelope(p, no_loaders());

  const auto* src = find(env, t / "src");
  REQUIRE(src);
  CHECK(src->access == kEnvRead);
  CHECK(src->is_dir);
  const auto* cfg = find(env, t / "config");
  REQUIRE(cfg);
  CHECK_FALSE(cfg->is_dir);  // a literal file: only that file, not its directory
  CHECK(find(env, t.path) == nullptr);
  const auto* out = find(env, t / "out");
  REQUIRE(out);
  CHECK(out->access == (kEnvRead | kEnvWrite));  // write implies read
  // Nothing matches tool* now, and nobody in the session can create one there.
  CHECK(find(env, t / "src/deep") == nullptr);
  touch(t / "src/deep/tool1");
  touch(t / "src/deep/other");
  env = compute_envelope(p, no_loaders());
  const auto* tool = find(env, t / "src/deep/tool1");
  REQUIRE(tool);  // the match itself, not its directory
  CHECK(tool->access == kEnvExec);
  CHECK_FALSE(tool->is_dir);
  CHECK(tool->why.find("test.yaml:1") != std::string::npos);
  CHECK(find(env, t / "src/deep/other") == nullptr);
}

TEST_CASE("globs below read-only directories expand to their matches; below writable ones they do not") {
  TempDir t{"envelope"};
  fs::create_directories(t / "etc/python3/x");
  fs::create_directories(t / "etc/python3.11");
  fs::create_directories(t / "etc/secret");
  fs::create_directories(t / "work/bin");
  Profile p;
  p.read = {rule(t / "etc/python3*/**")};
  p.write = {rule(t / "work/**")};
  p.exec_allow = {rule(t / "work/bin/*")};
  Envelope env = compute_envelope(p, no_loaders());
  CHECK(find(env, t / "etc/python3"));
  CHECK(find(env, t / "etc/python3.11"));
  CHECK_FALSE(find(env, t / "etc"));  // /etc itself (and so etc/secret) stays out
  // work/bin is writable: a program built later must still run, so the directory counts.
  const auto* bin = find(env, t / "work/bin");
  REQUIRE(bin);
  CHECK(bin->access == kEnvExec);
}

TEST_CASE("entries covered by an ancestor with the same rights are dropped") {
  TempDir t{"envelope"};
  fs::create_directories(t / "a/b");
  Profile p;
  p.read = {rule(t / "a/**"), rule(t / "a/b/**")};
  p.write = {rule(t / "a/b/c*")};
  Envelope env = compute_envelope(p, no_loaders());
  CHECK(find(env, t / "a"));
  const auto* b = find(env, t / "a/b");
  REQUIRE(b);  // kept: it adds write
  CHECK((b->access & kEnvWrite));
  Profile q;
  q.write = {rule(t / "a/**")};
  q.read = {rule(t / "a/b/**")};
  Envelope env2 = compute_envelope(q, no_loaders());
  CHECK(env2.paths.size() == 1);
}

TEST_CASE("symlinked prefixes are resolved: Landlock rules name inodes") {
  TempDir t{"envelope"};
  fs::create_directories(t / "real");
  fs::create_directory_symlink(t / "real", t / "link");
  Profile p;
  p.read = {rule(t / "link/**")};
  Envelope env = compute_envelope(p, no_loaders());
  CHECK(find(env, t / "real"));
  CHECK_FALSE(find(env, t / "link"));
}

TEST_CASE("a missing read prefix grants nothing; a missing write prefix widens to its existing ancestor") {
  TempDir t{"envelope"};
  Profile p;
  p.read = {rule(t / "absent/**")};
  Envelope env = compute_envelope(p, no_loaders());
  CHECK(env.paths.empty());
  bool noted = false;
  for (const auto& n : env.notes) noted |= n.find("absent") != std::string::npos;
  CHECK(noted);

  Profile w;
  w.write = {rule(t / "build/out/**")};
  Envelope env2 = compute_envelope(w, no_loaders());
  const auto* anc = find(env2, t.path);
  REQUIRE(anc);
  CHECK((anc->access & kEnvWrite));
}

TEST_CASE("a program the session will build, named exactly, widens exec to where it is made") {
  // guardian learn: `exec: [${CWD}/a.out]` for gcc's output, which does not exist when the
  // next session starts; the envelope granted nothing and the kernel refused the exec the
  // profile allows.
  TempDir t{"envelope"};
  Profile p;
  p.write = {rule(t / "a.out")};
  p.exec_allow = {rule(t / "a.out")};
  Envelope env = compute_envelope(p, no_loaders());
  const auto* dir = find(env, t.path);
  REQUIRE(dir);
  CHECK((dir->access & kEnvExec));
  // Where the session cannot create it: nothing.
  Profile q;
  q.exec_allow = {rule(t / "absent/prog")};
  Envelope env2 = compute_envelope(q, no_loaders());
  CHECK(env2.paths.empty());
}

TEST_CASE("per-process /proc rules widen to /proc") {
  Profile p;
  p.read = {rule("/proc/self/**"), rule("/proc/self/status")};
  p.write = {rule("/dev/fd/**")};  // /dev/fd -> /proc/self/fd -> /proc/PID/fd
  Envelope env = compute_envelope(p, no_loaders());
  const auto* proc = find(env, "/proc");
  REQUIRE(proc);
  CHECK((proc->access & kEnvWrite));
  for (const auto& e : env.paths) CHECK(e.path.rfind("/proc/", 0) != 0);
}

TEST_CASE("the command and the dynamic loader are executable") {
  TempDir t{"envelope"};
  touch(t / "prog");
  Profile p;
  EnvelopeOptions o;
  o.loaders = {t / "ld.so", "/nonexistent/ld.so"};
  touch(t / "ld.so");
  o.extra_exec = {t / "prog"};
  Envelope env = compute_envelope(p, o);
  const auto* prog = find(env, t / "prog");
  REQUIRE(prog);
  CHECK(prog->access == kEnvExec);
  CHECK_FALSE(prog->is_dir);
  CHECK(find(env, t / "ld.so"));
  CHECK(env.paths.size() == 2);
}

TEST_CASE("TCP ports from network rules; '*' means every port; unix rules are not TCP") {
  Profile p;
  p.connect = {NetRule{"127.0.0.1:8080", {}}, NetRule{"[::1]:443", {}},
               NetRule{"10.0.0.0/8:8000-8002", {}}, NetRule{"api.github.com:443", {}},
               NetRule{"unix:/run/app.sock", {}}, NetRule{"8001", {}}};
  // "8001" has no port part: it cannot be pinned, so connect is not restricted.
  Envelope all = compute_envelope(p, no_loaders());
  CHECK(all.connect.all);
  CHECK(port_set_text(all.connect) == "all");

  p.connect.pop_back();
  p.bind = {NetRule{"127.0.0.1:*", {}}};
  Envelope env = compute_envelope(p, no_loaders());
  CHECK_FALSE(env.connect.all);
  CHECK(port_set_text(env.connect) == "443,8000-8002,8080");
  CHECK(env.bind.all);
  CHECK(env.scope_abstract_unix);
  CHECK(env.scope_signal);
}

TEST_CASE("no network rules: no TCP port at all; dns adds TCP port 53") {
  Profile p;
  Envelope env = compute_envelope(p, no_loaders());
  CHECK(port_set_text(env.connect) == "none");
  CHECK(port_set_text(env.bind) == "none");
  p.dns = true;
  env = compute_envelope(p, no_loaders());
  CHECK(port_set_text(env.connect) == "53");
}

TEST_CASE("an abstract unix connect rule turns the abstract socket scope off") {
  Profile p;
  p.connect = {NetRule{"unix:@/tmp/.X11-unix/X0", {}}};
  Envelope env = compute_envelope(p, no_loaders());
  CHECK_FALSE(env.scope_abstract_unix);
  CHECK(scopes_text(env) == "signal");
}

TEST_CASE("huge port ranges become every port rather than tens of thousands of rules") {
  Profile p;
  p.connect = {NetRule{"*:1024-65535", {}}};
  Envelope env = compute_envelope(p, no_loaders());
  CHECK(env.connect.all);
}

TEST_CASE("deny rules are reported as not expressible") {
  Profile p;
  p.deny = {rule("/home/u/.ssh/**")};
  Envelope env = compute_envelope(p, no_loaders());
  bool noted = false;
  for (const auto& n : env.notes) noted |= n.find("deny rules") != std::string::npos;
  CHECK(noted);
  std::string text = format_envelope(env);
  CHECK(text.find("tcp connect: none") != std::string::npos);
  CHECK(text.find("note: deny rules") != std::string::npos);
}

TEST_CASE("system symlinks in an exec directory make their targets executable; planted ones do not") {
  TempDir t{"envelope"};
  fs::create_directories(t / "bin");
  fs::create_directories(t / "opt/tool");
  fs::create_directories(t / "alternatives");
  fs::create_directories(t / "work");
  touch(t / "opt/tool/clang");
  touch(t / "opt/tool/java");
  touch(t / "opt/tool/other");
  touch(t / "opt/tool/planted");
  fs::create_symlink(t / "opt/tool/clang", t / "bin/clang");
  fs::create_symlink(t / "opt/tool/java", t / "alternatives/java");
  fs::create_symlink("../alternatives/java", t / "bin/java");  // relative, two hops
  fs::create_symlink(t / "opt/tool/other", t / "bin/zz");
  fs::create_symlink(t / "opt/tool/planted", t / "work/planted");
  Profile p;
  p.exec_allow = {rule(t / "bin/**"), rule(t / "work/*")};
  p.write = {rule(t / "work/**")};
  Envelope env = compute_envelope(p, no_loaders());
  const auto* clang = find(env, t / "opt/tool/clang");
  REQUIRE(clang);
  CHECK(clang->access == kEnvExec);
  CHECK(clang->why.find("alias") != std::string::npos);
  CHECK(find(env, t / "opt/tool/java"));
  CHECK(find(env, t / "opt/tool/other"));
  CHECK_FALSE(find(env, t / "opt/tool/planted"));  // the session could have planted it

  EnvelopeOptions off = no_loaders();
  off.follow_aliases = false;
  Envelope env2 = compute_envelope(p, off);
  CHECK_FALSE(find(env2, t / "opt/tool/clang"));
}

TEST_CASE("a chain through another link of the same directory keeps its outside target") {
  // bin/a -> b (same directory), bin/b -> ../alt/b, alt/b -> opt/real: the listing of bin
  // (read for the scan or the glob) must not make b look like the end of a chain.
  TempDir t{"envelope"};
  fs::create_directories(t / "bin");
  fs::create_directories(t / "alt");
  fs::create_directories(t / "opt");
  touch(t / "opt/real");
  touch(t / "opt/other");
  touch(t / "bin/plain");
  fs::create_symlink("b", t / "bin/a");
  fs::create_symlink("../alt/b", t / "bin/b");
  fs::create_symlink(t / "opt/real", t / "alt/b");
  for (const char* rule_text : {"bin/**", "bin/a*"}) {
    CAPTURE(rule_text);
    Profile p;
    p.exec_allow = {rule(t / rule_text)};
    Envelope env = compute_envelope(p, no_loaders());
    const auto* real = find(env, t / "opt/real");
    REQUIRE(real);
    CHECK(real->access == kEnvExec);
    CHECK_FALSE(find(env, t / "opt/other"));
    CHECK_FALSE(find(env, t / "opt"));
  }
  // Planted on the way (alt writable): the chain no longer counts, from either link.
  Profile w;
  w.exec_allow = {rule(t / "bin/**")};
  w.write = {rule(t / "alt/**")};
  Envelope env = compute_envelope(w, no_loaders());
  CHECK_FALSE(find(env, t / "opt/real"));
}

TEST_CASE("alias scans of several directories give the same envelope as one at a time") {
  // The scans' links are read on two threads; the result must not depend on which.
  TempDir t{"envelope"};
  fs::create_directories(t / "opt");
  Profile p;
  for (int d = 0; d < 6; ++d) {
    std::string dir = t / ("bin" + std::to_string(d));
    fs::create_directories(dir);
    for (int i = 0; i < 20; ++i) {
      std::string target = t / ("opt/t" + std::to_string(d) + "_" + std::to_string(i));
      touch(target);
      fs::create_symlink(target, dir + "/l" + std::to_string(i));
    }
    p.exec_allow.push_back(rule(dir + "/**"));
  }
  Envelope env = compute_envelope(p, no_loaders());
  for (int d = 0; d < 6; ++d)
    for (int i = 0; i < 20; ++i) CHECK(find(env, t / ("opt/t" + std::to_string(d) + "_" + std::to_string(i))));
  CHECK(env.paths.size() == 6 + 6 * 20);
}
