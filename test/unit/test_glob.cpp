// Path pattern semantics (spec §2): *, ?, {a,b}, **, DIR/** matching DIR, normalisation.
#include "policy/glob.hpp"

#include <unistd.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "policy/fs_facts.hpp"
#include "policy_fixture.hpp"

using namespace guardian::policy;

namespace {

bool m(const std::string& pattern, const std::string& path) {
  std::string err;
  auto globs = parse_pattern(pattern, &err);
  REQUIRE_MESSAGE(!globs.empty(), pattern << ": " << err);
  for (const Glob& g : globs)
    if (g.match(path)) return true;
  return false;
}

std::string bad(const std::string& pattern) {
  std::string err;
  auto globs = parse_pattern(pattern, &err);
  return globs.empty() ? err : std::string("(compiled)");
}

bool below(const std::string& pattern, const std::string& dir) {
  std::string err;
  for (const Glob& g : parse_pattern(pattern, &err))
    if (g.may_match_below(dir)) return true;
  return false;
}

}  // namespace

TEST_CASE("literal patterns match exactly") {
  CHECK(m("/etc/passwd", "/etc/passwd"));
  CHECK_FALSE(m("/etc/passwd", "/etc/passwd2"));
  CHECK_FALSE(m("/etc/passwd", "/etc"));
  CHECK_FALSE(m("/etc/passwd", "/etc/passwd/x"));
  CHECK(m("/", "/"));
}

TEST_CASE("* stays within one component") {
  CHECK(m("/usr/bin/python3*", "/usr/bin/python3"));
  CHECK(m("/usr/bin/python3*", "/usr/bin/python3.11"));
  CHECK_FALSE(m("/usr/bin/python3*", "/usr/bin/python3/x"));
  CHECK(m("/a/*/c", "/a/b/c"));
  CHECK_FALSE(m("/a/*/c", "/a/b/x/c"));
  CHECK(m("/a/*.txt", "/a/.txt"));
  CHECK(m("/a/x*y*z", "/a/xAyBz"));
  CHECK_FALSE(m("/a/x*y*z", "/a/xAyB"));
}

TEST_CASE("? is exactly one non-slash character") {
  CHECK(m("/a/file?.c", "/a/file1.c"));
  CHECK_FALSE(m("/a/file?.c", "/a/file.c"));
  CHECK_FALSE(m("/a/file?.c", "/a/file12.c"));
  CHECK_FALSE(m("/a?b", "/a/b"));
}

TEST_CASE("{a,b} alternatives, nested, with wildcards") {
  CHECK(m("/etc/{passwd,group}", "/etc/passwd"));
  CHECK(m("/etc/{passwd,group}", "/etc/group"));
  CHECK_FALSE(m("/etc/{passwd,group}", "/etc/shadow"));
  CHECK(m("/x/{a,b{1,2}}/y", "/x/b2/y"));
  CHECK(m("/x/id_{rsa,ed25519}*", "/x/id_ed25519.pub"));
  CHECK(m("/x/{,sub/}f", "/x/f"));
  CHECK(m("/x/{,sub/}f", "/x/sub/f"));
}

TEST_CASE("** spans any number of components") {
  CHECK(m("/usr/**", "/usr/lib/x86_64-linux-gnu/libc.so.6"));
  CHECK(m("/usr/**", "/usr"));  // DIR/** matches DIR itself
  CHECK_FALSE(m("/usr/**", "/usrx"));
  CHECK_FALSE(m("/usr/**", "/"));
  CHECK(m("/**", "/"));
  CHECK(m("/**", "/anything/at/all"));
  CHECK(m("/a/**/b", "/a/b"));
  CHECK(m("/a/**/b", "/a/x/b"));
  CHECK(m("/a/**/b", "/a/x/y/z/b"));
  CHECK_FALSE(m("/a/**/b", "/a/xb"));
  CHECK(m("**/.env", "/.env"));
  CHECK(m("**/.env", "/p/q/.env"));
  CHECK_FALSE(m("**/.env", "/p/q/x.env"));
  CHECK(m("/a/*/**", "/a/b"));  // DIR/** with a wildcard in DIR
  CHECK(m("/a/*/**", "/a/b/c/d"));
  CHECK_FALSE(m("/a/*/**", "/a"));
  CHECK(m("/p/**/.git/hooks/**", "/p/.git/hooks/pre-commit"));
  CHECK(m("/p/**/.git/hooks/**", "/p/sub/mod/.git/hooks"));
}

TEST_CASE("escapes make metacharacters literal") {
  CHECK(m("/a/\\*", "/a/*"));
  CHECK_FALSE(m("/a/\\*", "/a/b"));
  CHECK(m("/a/\\{x\\}", "/a/{x}"));
}

TEST_CASE("malformed patterns are rejected with a reason") {
  CHECK(bad("/a/{b,c") == "unbalanced '{'");
  CHECK(bad("/a/b}") == "unbalanced '}'");
  CHECK(bad("/a/x**") == "'**' must be a whole path component");
  CHECK(bad("/a/***") == "'**' must be a whole path component");
  CHECK(bad("/a/\\") == "pattern ends with a lone '\\'");
  CHECK(bad("relative/x") == "pattern is not an absolute path");
  CHECK(bad("") == "empty pattern");
  CHECK(bad("/{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}") == "too many brace alternatives (more than 256)");
}

TEST_CASE("may_match_below finds ancestors of possible matches") {
  CHECK(below("/home/u/proj/**", "/home"));
  CHECK(below("/home/u/proj/**", "/"));
  CHECK(below("/home/*/proj", "/home/bob"));
  CHECK_FALSE(below("/home/*/proj", "/home/bob/proj"));  // that is a match, not below
  CHECK(below("/a/**/b", "/a/x/y"));
  CHECK_FALSE(below("/etc/passwd", "/etc/passwd"));
  CHECK_FALSE(below("/etc/passwd", "/usr"));
  CHECK(below("/etc/passwd", "/etc"));
}

TEST_CASE("anchors are the literal directory prefix") {
  std::string err;
  CHECK(parse_pattern("/usr/lib/python3*/x", &err)[0].anchor() == "/usr/lib");
  CHECK(parse_pattern("/usr/**", &err)[0].anchor() == "/usr");
  CHECK(parse_pattern("/etc/passwd", &err)[0].anchor() == "/etc/passwd");
  CHECK(parse_pattern("**/x", &err)[0].anchor() == "");
}

TEST_CASE("lexical normalisation folds . and .. and //") {
  CHECK(normalize_path("/a/./b/../c") == "/a/c");
  CHECK(normalize_path("/a//b/") == "/a/b");
  CHECK(normalize_path("/../..") == "/");
  CHECK(normalize_path("/a/b/..") == "/a");
  CHECK(normalize_path("rel/x").empty());
  CHECK(is_normalized_path("/a/b"));
  CHECK(is_normalized_path("/"));
  CHECK_FALSE(is_normalized_path("/a/../b"));
  CHECK_FALSE(is_normalized_path("/a/./b"));
  CHECK_FALSE(is_normalized_path("/a//b"));
  CHECK_FALSE(is_normalized_path("/a/"));
  CHECK_FALSE(is_normalized_path("a"));
}

TEST_CASE("rule prefixes resolve through symlinks, the rest kept as written") {
  guardian::test::TempDir d;
  d.write("real/dir/f", "x");
  REQUIRE(::symlink((d.path + "/real").c_str(), (d.path + "/link").c_str()) == 0);
  CHECK(resolve_pattern_prefix(d.path + "/link/dir/*.c") == d.path + "/real/dir/*.c");
  CHECK(resolve_pattern_prefix(d.path + "/link/dir/f") == d.path + "/real/dir/f");
  CHECK(resolve_pattern_prefix(d.path + "/link/missing/x/**") == d.path + "/real/missing/x/**");
  CHECK(resolve_pattern_prefix("/proc/self/**") == "/proc/self/**");  // never bound to guardian
  CHECK(resolve_pattern_prefix("/g/nonexistent/**") == "/g/nonexistent/**");
}

TEST_CASE("rule prefixes resolved through shared facts read as the C library resolves them") {
  guardian::test::TempDir d;
  d.write("real/dir/f", "x");
  d.write("real/file", "x");
  REQUIRE(::symlink((d.path + "/real").c_str(), (d.path + "/link").c_str()) == 0);
  REQUIRE(::symlink("real/dir", (d.path + "/rel").c_str()) == 0);
  REQUIRE(::symlink("loop2", (d.path + "/loop1").c_str()) == 0);
  REQUIRE(::symlink("loop1", (d.path + "/loop2").c_str()) == 0);
  REQUIRE(::symlink("nowhere", (d.path + "/dangling").c_str()) == 0);
  // One FsFacts for every rule, as the loader keeps one per load: answers must not depend
  // on what an earlier rule made it remember.
  guardian::policy::FsFacts facts;
  for (const std::string tail :
       {"/link/dir/*.c", "/link/dir/f", "/link/missing/x/**", "/rel/f", "/rel/../file", "/real/file/x/**",
        "/loop1/**", "/dangling", "/dangling/x/*", "/link", "/link/**", "/real/dir/f"}) {
    std::string p = d.path + tail;
    CAPTURE(p);
    CHECK(resolve_pattern_prefix(p, facts) == resolve_pattern_prefix(p));
  }
  CHECK(resolve_pattern_prefix("/proc/self/**", facts) == "/proc/self/**");
  // The shared leading directories were read once, not once per rule.
  CHECK(facts.counts().readlink < 40);
}

TEST_CASE("wildcard_match for environment names") {
  CHECK(wildcard_match("*_TOKEN", "GITHUB_TOKEN"));
  CHECK_FALSE(wildcard_match("*_TOKEN", "TOKENS"));
  CHECK(wildcard_match("LC_*", "LC_ALL"));
  CHECK(wildcard_match("A?C", "ABC"));
  CHECK(wildcard_match("*token*", "GH_TOKEN_X", true));
  CHECK_FALSE(wildcard_match("*token*", "GH_TOKEN_X", false));
}

TEST_CASE("hostile paths cannot make matching explode") {
  // Backtracking matchers go exponential on these; the component matcher is linear per
  // segment. (A hang here would trip the test timeout.)
  std::string deep;
  for (int i = 0; i < 2000; ++i) deep += "/a";
  CHECK_FALSE(m("/**/a/**/a/**/a/**/a/**/b", deep + "/x"));
  CHECK(m("/**/a/**/a/**/a/**/a/**", deep));
  std::string comp = "/" + std::string(250, 'a');
  CHECK_FALSE(m("/*a*a*a*a*a*a*a*a*a*b", comp));
  CHECK(m("/*a*a*a*a*a*a*a*a*a*", comp));
  std::string err;
  auto g = parse_pattern("/**/a/**/b", &err);
  CHECK(g[0].may_match_below(deep));
  CHECK_FALSE(g[0].match(deep + "/x"));
}

TEST_CASE("residuals_below: what is left of the pattern below a directory") {
  auto res = [](const char* pat, const char* dir) {
    std::string err;
    auto g = Glob::compile(pat, &err);
    REQUIRE(g);
    std::vector<std::string> out;
    REQUIRE(g->residuals_below(dir, &out));
    std::string s;
    for (const std::string& r : out) s += (s.empty() ? "" : " ") + r;
    return s;
  };
  CHECK(res("/p/**/.git/hooks/**", "/p/a") == "**/.git/hooks/** .git/hooks/**");
  CHECK(res("/p/**/.git/hooks/**", "/p/.git") == "**/.git/hooks/** .git/hooks/** hooks/**");
  CHECK(res("/p/**/.git/hooks/**", "/q") == "");
  CHECK(res("/p/**/.git/hooks/**", "/") == "p/**/.git/hooks/**");
  CHECK(res("/**/.env", "/x/y") == "**/.env .env");
  CHECK(res("/h/.ssh/**", "/h") == ".ssh/**");
  CHECK(res("/h/.ssh/**", "/h/.ssh/k") == "**");
  CHECK(res("/h/.ssh/**", "/h/x") == "");
  CHECK(res("/h/a\\*b", "/h") == "a\\*b");
  CHECK(res("/h/a\\*b", "/h/a*b") == "");  // the pattern itself, nothing below
}

TEST_CASE("dotdot_after_wildcard: a '..' that would fold away a wildcard component") {
  CHECK(dotdot_after_wildcard("/a/*/../b"));
  CHECK(dotdot_after_wildcard("/a/*/b/../../c"));  // the second '..' removes the '*'
  CHECK(dotdot_after_wildcard("/a/{x,y}/.."));
  CHECK_FALSE(dotdot_after_wildcard("/a/b/../c/*"));
  CHECK_FALSE(dotdot_after_wildcard("/a/*/b/.."));  // folds 'b' only
  CHECK_FALSE(dotdot_after_wildcard("/../a/*"));
}
