// Loader: every bad profile gets FILE:LINE:COL: message; variables, extends, values; and
// hostile input never crashes.
#include "policy/loader.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>

#include "policy/engine.hpp"
#include "policy/sha256.hpp"
#include "policy/values.hpp"
#include "policy_fixture.hpp"

using namespace guardian::policy;
using guardian::test::TempDir;

namespace {

// The first error for `text` loaded as DIR/p.yaml, with DIR replaced by "D".
std::string first_error(const std::string& text) {
  TempDir d;
  std::string err;
  guardian::test::load_text(d, text, &err);
  std::size_t at = err.find(d.path);
  while (at != std::string::npos) {
    err.replace(at, d.path.size(), "D");
    at = err.find(d.path);
  }
  return err;
}

struct Bad {
  const char* text;
  const char* error;
};

const Bad kBad[] = {
    {"", "D/p.yaml:1:1: empty profile (expected a map starting with 'version: 1')"},
    {"- a\n- b\n", "D/p.yaml:1:1: a profile must be a YAML map (keys such as 'version', 'files', 'network')"},
    {"files: {}\n", "D/p.yaml:1:1: missing required key 'version' (add 'version: 1')"},
    {"version: 2\n", "D/p.yaml:1:10: unsupported version '2' (this guardian reads version 1)"},
    {"version: 1\nfles:\n  read: []\n", "D/p.yaml:2:1: unknown key 'fles' (did you mean 'files'?)"},
    {"version: 1\nfiles:\n  raed: [/a]\n", "D/p.yaml:3:3: unknown key 'raed' in 'files' (did you mean 'read'?)"},
    {"version: 1\nfiles:\n  zzzzzz: 1\n",
     "D/p.yaml:3:3: unknown key 'zzzzzz' in 'files' (expected one of: read, write, deny, deny_write, metadata)"},
    {"version: 1\nnetwork:\n  conect: []\n", "D/p.yaml:3:3: unknown key 'conect' in 'network' (did you mean 'connect'?)"},
    {"version: 1\nfiles:\n  read: [/a]\n  read: [/b]\n", "D/p.yaml:4:3: duplicate key 'read' in 'files' (first at line 3)"},
    {"version: 1\nversion: 1\n", "D/p.yaml:2:1: duplicate key 'version' (first at line 1)"},
    {"version: 1\nfiles:\n  read: /usr/**\n", "D/p.yaml:3:9: 'files.read' must be a list of strings"},
    {"version: 1\nfiles:\n  read: [[a]]\n", "D/p.yaml:3:10: 'files.read' entries must be strings"},
    {"version: 1\nfiles:\n  read: [\"${NOPE}/x\"]\n", "D/p.yaml:3:10: undefined variable 'NOPE'"},
    {"version: 1\nfiles:\n  read: [\"${HOME/x\"]\n", "D/p.yaml:3:10: unterminated '${' in '${HOME/x'"},
    {"version: 1\nfiles:\n  read: [src/**]\n",
     "D/p.yaml:3:10: pattern 'src/**' in 'files.read' is not an absolute path (start it with '/', '~', '**' or a "
     "variable such as ${CWD})"},
    {"version: 1\nfiles:\n  write: [\"/a/{b\"]\n", "D/p.yaml:3:11: bad pattern '/a/{b': unbalanced '{'"},
    {"version: 1\nexec:\n  allow: [\"/usr/bin/py**\"]\n",
     "D/p.yaml:3:11: bad pattern '/usr/bin/py**': '**' must be a whole path component"},
    {"version: 1\nfiles:\n  read: [\"/a/*/../b\"]\n", "D/p.yaml:3:10: bad pattern '/a/*/../b': '..' after a wildcard"},
    {"version: 1\nnetwork:\n  connect: [\"10.0.0.0/40:443\"]\n",
     "D/p.yaml:3:13: bad address '10.0.0.0/40:443': bad CIDR prefix length '40' (expected 0-32)"},
    {"version: 1\nnetwork:\n  bind: [\"127.0.0.1:9-1\"]\n",
     "D/p.yaml:3:10: bad address '127.0.0.1:9-1': bad port range '9-1' (LOW is greater than HIGH)"},
    {"version: 1\nnetwork:\n  connect: [\"unix:x.sock\"]\n",
     "D/p.yaml:3:13: bad address 'unix:x.sock': unix socket path 'x.sock' is not absolute"},
    {"version: 1\nnetwork:\n  connect: [example.com]\n",
     "D/p.yaml:3:13: bad address 'example.com': missing port in 'example.com' (expected HOST:PORT, HOST:LOW-HIGH or HOST:*)"},
    {"version: 1\nnetwork:\n  dns: maybe\n", "D/p.yaml:3:8: 'network.dns' must be true or false (a boolean, not a string)"},
    {"version: 1\nnetwork:\n  dns: \"true\"\n", "D/p.yaml:3:8: 'network.dns' must be true or false (a boolean, not a string)"},
    {"version: \"1\"\n", "D/p.yaml:1:10: 'version' must be the number 1, not a string (write version: 1)"},
    {"version: 1\nlimits: {pids: '256'}\n", "D/p.yaml:2:16: 'limits.pids' must be a positive integer, not the string '256'"},
    {"version: 1\nlimits: {wall: 10x}\n", "D/p.yaml:2:16: bad duration '10x' for 'limits.wall' (expected e.g. 90s, 10m, 1h30m)"},
    {"version: 1\nlimits:\n  memory: 2XB\n", "D/p.yaml:3:11: bad size '2XB' for 'limits.memory' (expected e.g. 512M, 2GiB)"},
    {"version: 1\nlimits: {pids: -1}\n", "D/p.yaml:2:16: 'limits.pids' must be a positive integer, not '-1'"},
    {"version: 1\nfiles:\n  metadata: sometimes\n", "D/p.yaml:3:13: 'files.metadata' must be 'checked' or 'open', not 'sometimes'"},
    {"version: 1\non_deny: explode\n", "D/p.yaml:2:10: 'on_deny' must be 'errno', 'kill' or 'ask', not 'explode'"},
    {"version: 1\ndeny_errno: EWHAT\n",
     "D/p.yaml:2:13: 'deny_errno' must be an errno name such as EACCES or EPERM, or a number, not 'EWHAT'"},
    {"version: 1\naudit: {decisions: some}\n", "D/p.yaml:2:20: 'audit.decisions' must be 'all' or 'deny', not 'some'"},
    {"version: 1\nenv: [A]\n", "D/p.yaml:2:6: 'env' must be a map (keys keep, drop, set) or 'default'"},
    {"version: 1\nvars:\n  HOME: /x\n", "D/p.yaml:3:3: 'HOME' is a built-in variable and cannot be redefined in 'vars'"},
    {"version: 1\nvars:\n  a: \"${b}\"\n  b: \"${a}\"\nfiles:\n  read: [\"${a}\"]\n",
     "D/p.yaml:3:6: variables nested more than 16 levels deep (a variable refers to itself?)"},
    {"version: 1\nextends: base\n", "D/p.yaml:2:10: 'extends' must be a list (write extends: [base])"},
    {"version: 1\nextends: [nosuch]\n",
     "D/p.yaml:2:11: unknown built-in profile 'nosuch' (built-ins: base, default, node, python; a file needs a '/' or a .yaml or .yml suffix)"},
    {"version: 1\nextends: [missing.yaml]\n", "D/p.yaml:2:11: cannot read profile 'missing.yaml': No such file or directory"},
    {"version: 1\nfiles: [a\n", "D/p.yaml:3:1: syntax error: end of sequence flow not found"},
    {"version: 1\n  files: x\n", "D/p.yaml:2:8: syntax error: illegal map value"},
    {"version: 1\n---\nfiles: {read: [/x]}\n",
     "D/p.yaml:2:1: a profile is one YAML document; remove this '---' and what follows, or merge it"},
    {"# c\n---\nversion: 1\n...\nfiles: {}\n",
     "D/p.yaml:5:1: a profile is one YAML document; remove this '---' and what follows, or merge it"},
};

}  // namespace

TEST_CASE("bad profiles: exact location and message") {
  int n = 0;
  for (const Bad& b : kBad) {
    ++n;
    INFO("case " << n << ":\n" << b.text);
    CHECK(first_error(b.text) == b.error);
  }
  CHECK(n >= 20);
}

TEST_CASE("one YAML document: markers around a single one are fine") {
  for (const char* ok : {"---\nversion: 1\n", "%YAML 1.2\n---\nversion: 1\n...\n# end\n",
                         "--- {version: 1}\n", "version: 1\nname: \"a\n  --- b\"\n"})
    CHECK_MESSAGE(first_error(ok) == "", ok);
}

TEST_CASE("extends cycles are reported where the cycle closes") {
  TempDir d;
  d.write("a.yaml", "version: 1\nextends: [b.yaml]\n");
  d.write("b.yaml", "version: 1\nextends: [a.yaml]\n");
  auto r = load_profile(d.path + "/a.yaml", guardian::test::fake_context());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].str() == d.path + "/b.yaml:2:11: extends cycle: " + d.path + "/a.yaml -> " + d.path + "/b.yaml -> " +
                                 d.path + "/a.yaml");
  CHECK_FALSE(r.profile);
}

TEST_CASE("a missing top-level profile names the file") {
  auto r = load_profile("/g/none.yaml", guardian::test::fake_context());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].str() == "guardian: cannot read profile '/g/none.yaml': No such file or directory");
  auto n = load_profile("nosuchbuiltin", guardian::test::fake_context());
  REQUIRE(n.errors.size() == 1);
  CHECK(n.errors[0].str() ==
        "guardian: unknown profile 'nosuchbuiltin' (not a file, and no built-in of that name: base, default, node, python)");
}

TEST_CASE("an error message stays on one line whatever bytes the file held") {
  LoadError e{"p.yaml", 2, 16, std::string("bad pattern '/a\0b\nc'", 20)};
  CHECK(e.str() == "p.yaml:2:16: bad pattern '/a\\x00b\\x0ac'");
}

TEST_CASE("variables that repeat each other stop at 64 KiB instead of exhausting memory") {
  TempDir d;
  std::string text = "version: 1\nvars:\n";
  for (int i = 0; i < 14; ++i) {
    text += "  v" + std::to_string(i) + ": \"";
    for (int k = 0; k < 10; ++k) text += "${v" + std::to_string(i + 1) + "}";
    text += "\"\n";
  }
  text += "  v14: xxxxxxxxxx\nfiles: {read: [\"/${v0}\"]}\n";
  std::string err;
  auto p = guardian::test::load_text(d, text, &err, "p.yaml");
  CHECK(!p);
  CHECK(err.find("expands to more than 64 KiB") != std::string::npos);
}

TEST_CASE("every error of a file is reported, not just the first") {
  TempDir d;
  std::string f = d.write("p.yaml", "version: 1\nfiles:\n  raed: []\nexec:\n  allow: [rel]\non_deny: x\n");
  auto r = load_profile(f, guardian::test::fake_context());
  CHECK(r.errors.size() == 3);
}

TEST_CASE("variables: built-ins, ~, vars, --set, PROFILE_DIR") {
  TempDir d;
  LoadContext ctx = guardian::test::fake_context();
  std::string text = "version: 1\nvars:\n  ws: \"${CWD}/work\"\nfiles:\n  read: [\"${ws}/**\", \"~/docs/**\", \"${PROFILE_DIR}/x\", "
                     "\"${TMPDIR}/${USER}-${UID}\"]\n";
  std::string err;
  auto p = guardian::test::load_text(d, text, &err, "p.yaml", ctx);
  REQUIRE_MESSAGE(p, err);
  REQUIRE(p->read.size() == 4);
  CHECK(p->read[0].pattern == "/g/proj/work/**");
  CHECK(p->read[0].origin.pattern == "${ws}/**");
  CHECK(p->read[1].pattern == "/g/home/u/docs/**");
  CHECK(p->read[2].pattern == d.path + "/x");
  CHECK(p->read[3].pattern == "/g/tmp/u-1000");
  CHECK(p->vars.at("ws") == "/g/proj/work");
  ctx.overrides["ws"] = "/g/elsewhere";
  p = guardian::test::load_text(d, text, &err, "p.yaml", ctx);
  REQUIRE_MESSAGE(p, err);
  CHECK(p->read[0].pattern == "/g/elsewhere/**");
}

TEST_CASE("--set of a variable the profile neither defines nor uses is an error") {
  TempDir d;
  LoadContext ctx = guardian::test::fake_context();
  std::string text = "version: 1\nvars:\n  ws: \"${CWD}\"\nfiles:\n  read: [\"${ws}/**\", \"${other}/x\"]\n";
  std::string err;
  ctx.overrides["other"] = "/o";  // used, not defined: fine
  ctx.overrides["HOME"] = "/h";   // built-in: fine
  auto p = guardian::test::load_text(d, text, &err, "p.yaml", ctx);
  REQUIRE_MESSAGE(p, err);
  ctx.overrides["wz"] = "/narrow";  // a typo for ws: the broader ${CWD} would stay
  p = guardian::test::load_text(d, text, &err, "p.yaml", ctx);
  CHECK(!p);
  CHECK(err.find("has no variable 'wz' (its variables: ws)") != std::string::npos);
}

TEST_CASE("glob characters in built-in variables stay literal") {
  TempDir d;
  LoadContext ctx = guardian::test::fake_context();
  ctx.builtins["HOME"] = "/g/h*me";
  std::string err;
  auto p = guardian::test::load_text(d, "version: 1\nfiles:\n  read: [\"~/x\"]\n", &err, "p.yaml", ctx);
  REQUIRE_MESSAGE(p, err);
  Engine e(*p);
  CHECK(guardian::test::verdict(e, Op::read, "/g/h*me/x") == "allow");
  CHECK(guardian::test::verdict(e, Op::read, "/g/hoome/x") == "deny");
}

TEST_CASE("scalars: limits, env, on_deny, deny_errno, audit, name, sha256") {
  TempDir d;
  std::string text = R"(version: 1
limits: {wall: 10m, cpu: 1h30m, memory: 2GiB, pids: 256, nofile: 1024}
env:
  keep: [PATH, "LC_*"]
  drop: [default, "MY_*"]
  set: {PYTHONDONTWRITEBYTECODE: "1", WS: "${CWD}"}
on_deny: kill
deny_errno: ENOENT
audit: {decisions: deny}
)";
  std::string err;
  auto p = guardian::test::load_text(d, text, &err, "tool.yaml");
  REQUIRE_MESSAGE(p, err);
  CHECK(p->name == "tool");
  CHECK(*p->limits.wall_s == 600);
  CHECK(*p->limits.cpu_s == 5400);
  CHECK(*p->limits.memory_bytes == 2147483648ULL);
  CHECK(*p->limits.pids == 256);
  CHECK(*p->limits.nofile == 1024);
  CHECK(p->env.has_keep);
  CHECK(p->env.keep.size() == 2);
  CHECK(p->env.drop.size() == default_env_drop().size() + 1);
  REQUIRE(p->env.set.size() == 2);
  CHECK(p->env.set[1].second == "/g/proj");
  CHECK(p->on_deny == OnDeny::kill);
  CHECK(p->deny_errno == 2);
  CHECK(p->audit == AuditLevel::deny);
  CHECK(p->sha256 == sha256_hex(text));
  CHECK(p->files.size() == 1);
}

TEST_CASE("env absent: the credential drop list applies") {
  TempDir d;
  std::string err;
  auto p = guardian::test::load_text(d, "version: 1\n", &err);
  REQUIRE_MESSAGE(p, err);
  CHECK(p->env.drop == default_env_drop());
  p = guardian::test::load_text(d, "version: 1\nenv: {drop: []}\n", &err);
  REQUIRE_MESSAGE(p, err);
  CHECK(p->env.drop.empty());
}

TEST_CASE("extends: parents first, child scalars win, diamonds merge once") {
  TempDir d;
  d.write("common.yaml", "version: 1\nname: common\nfiles:\n  read: [/g/common/**]\n  metadata: open\non_deny: kill\n");
  d.write("left.yaml", "version: 1\nextends: [common.yaml]\n");
  d.write("right.yaml", "version: 1\nextends: [common.yaml, base]\n");
  std::string err;
  auto p = guardian::test::load_text(d, "version: 1\nextends: [left.yaml, right.yaml]\non_deny: errno\n", &err, "top.yaml");
  REQUIRE_MESSAGE(p, err);
  CHECK(p->name == "top");
  CHECK(p->on_deny == OnDeny::errno_);
  CHECK(p->metadata == MetadataMode::open);
  int common = 0;
  for (const PathRule& r : p->read) common += r.pattern == "/g/common/**";
  CHECK(common == 1);
  CHECK(p->files.size() == 5);  // common, left, base, right, top
}

TEST_CASE("duration and size parsers") {
  CHECK(*parse_duration("90s") == 90);
  CHECK(*parse_duration("10m") == 600);
  CHECK(*parse_duration("1h") == 3600);
  CHECK(*parse_duration("1.5h") == 5400);
  CHECK(*parse_duration("250ms") == doctest::Approx(0.25));
  CHECK(*parse_duration("30") == 30);
  CHECK_FALSE(parse_duration("0s"));
  CHECK_FALSE(parse_duration("10"
                             "x"));
  CHECK_FALSE(parse_duration("m"));
  CHECK(*parse_size("512M") == 512ULL << 20);
  CHECK(*parse_size("2GiB") == 2ULL << 30);
  CHECK(*parse_size("1KB") == 1000);
  CHECK(*parse_size("4096") == 4096);
  CHECK_FALSE(parse_size("2XB"));
  CHECK_FALSE(parse_size("-1G"));
  CHECK(*parse_errno("EACCES") == 13);
  CHECK(*parse_errno("1") == 1);
  CHECK_FALSE(parse_errno("0"));
}

TEST_CASE("built-in profiles load and name themselves") {
  for (const std::string& n : builtin_profile_names()) {
    auto r = load_profile(n, guardian::test::fake_context());
    INFO(n);
    REQUIRE(r.errors.empty());
    CHECK(r.profile->name == n);
    CHECK(r.profile->sha256.size() == 64);
    Engine e(*r.profile);  // every rule compiles
  }
  CHECK(builtin_profile_text("default")->find("Knowingly left out") != std::string::npos);
}

TEST_CASE("hostile input never crashes the loader") {
  TempDir d;
  LoadContext ctx = guardian::test::fake_context();
  auto load = [&](const std::string& text) {
    std::string f = d.write("h.yaml", text);
    auto r = load_profile(f, ctx);
    CHECK((r.profile.has_value() != !r.errors.empty()));
    if (r.profile) Engine e(*r.profile);
  };
  // Every truncation of a real profile.
  const std::string& full = *builtin_profile_text("default");
  for (std::size_t i = 0; i < full.size(); i += 7) load(full.substr(0, i));
  // Random bytes and random YAML-ish punctuation.
  std::mt19937 rng(12345);
  const std::string alphabet = "version: 1\nfiles{}[],:-*&!|>'\"#%@`~${}/\\\t ab\x01\xff";
  for (int i = 0; i < 300; ++i) {
    std::string s;
    int len = static_cast<int>(rng() % 400);
    for (int k = 0; k < len; ++k) s.push_back(i % 2 ? static_cast<char>(rng() & 0xff) : alphabet[rng() % alphabet.size()]);
    load(s);
    load("version: 1\n" + s);
  }
  // Deep nesting, flow and block.
  load(std::string(100000, '['));
  std::string braces;
  for (int i = 0; i < 20000; ++i) braces += "{a: ";
  load(braces);
  std::string block = "version: 1\n";
  for (int i = 0; i < 3000; ++i) block += std::string(static_cast<std::size_t>(i), ' ') + "- \n";
  load(block);
  load("version: 1\nfiles:\n  read:\n" + std::string(50000, ' ') + "- /x\n");
  // Alias fan-out ("billion laughs") and alias to a map where a string is expected.
  load("version: 1\na: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\n");
  load("version: 1\nvars: &v {x: *v}\n");
  load("version: 1\nfiles: &f\n  read: *f\n");
  // Too large.
  load("version: 1\n#" + std::string(2 << 20, 'x') + "\n");
  // Many rules.
  std::string many = "version: 1\nfiles:\n  read:\n";
  for (int i = 0; i < 25000; ++i) many += "    - /g/" + std::to_string(i) + "\n";
  load(many);
}

TEST_CASE("the example profile of the spec loads and means what the spec says") {
  auto r = load_profile(GUARDIAN_TEST_DATA "/spec_example.yaml", guardian::test::fake_context());
  for (const LoadError& e : r.errors) MESSAGE(e.str());
  REQUIRE(r.profile);
  const Profile& p = *r.profile;
  CHECK(p.name == "my-tool");
  CHECK(p.dns);
  CHECK(*p.limits.wall_s == 600);
  CHECK(*p.limits.cpu_s == 300);
  CHECK(*p.limits.memory_bytes == 2ULL << 30);
  CHECK(*p.limits.pids == 256);
  CHECK(p.deny_errno == 13);
  CHECK(p.on_deny == OnDeny::errno_);
  CHECK(p.audit == AuditLevel::all);
  CHECK(p.env.keep.size() == 5);
  Engine e(p);
  using guardian::test::verdict;
  CHECK(verdict(e, Op::read, "/g/proj/src/x.py") == "allow");  // ${workspace}/** = ${CWD}/**
  CHECK(verdict(e, Op::write, "/g/proj/out/x") == "allow");
  CHECK(verdict(e, Op::write, "/g/proj/src/x.py") == "deny");
  CHECK(verdict(e, Op::write, "/g/tmp/x") == "allow");
  CHECK(verdict(e, Op::read, "/g/home/u/.ssh/id_rsa") == "deny");
  CHECK(verdict(e, Op::read, "/g/proj/.env") == "deny");
  CHECK(verdict(e, Op::exec, "/usr/bin/git") == "allow");
  CHECK(verdict(e, Op::exec, "/usr/bin/gcc") == "deny");
  Request q;
  q.category = Category::network;
  q.op = Op::connect;
  q.addr.port = 443;
  q.host = "files.pypi.org";
  CHECK(e.decide(q).verdict == Verdict::allow);
  q.host = "api.github.com";
  CHECK(e.decide(q).verdict == Verdict::allow);
  q.host = "evil.example";
  CHECK(e.decide(q).verdict == Verdict::deny);
}

TEST_CASE("load_profile_text: in-memory text, located like a file") {
  auto r = load_profile_text("version: 1\nfiles:\n  raed: []\n", "/g/mem.yaml", guardian::test::fake_context());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].str() == "/g/mem.yaml:3:3: unknown key 'raed' in 'files' (did you mean 'read'?)");
  r = load_profile_text("version: 1\nfiles: {read: [\"${PROFILE_DIR}/x\"]}\n", "/g/d/mem.yaml", guardian::test::fake_context());
  REQUIRE(r.profile);
  CHECK(r.profile->read[0].pattern == "/g/d/x");
  CHECK(r.profile->name == "mem");
}

TEST_CASE("built-ins parse the same without their comment lines: rules, lines, columns, digest") {
  LoadContext ctx;
  ctx.builtins = {{"HOME", "/home/u"}, {"CWD", "/work"}, {"TMPDIR", "/tmp"}, {"USER", "u"}, {"UID", "1000"}};
  for (const std::string& name : builtin_profile_names()) {
    CAPTURE(name);
    const std::string* text = builtin_profile_text(name);
    const std::string* parsed = builtin_profile_parse_text(name);
    REQUIRE(text != nullptr);
    REQUIRE(parsed != nullptr);
    CHECK(parsed->size() < text->size());  // the comments are gone...
    CHECK(std::count(parsed->begin(), parsed->end(), '\n') == std::count(text->begin(), text->end(), '\n'));
    LoadResult a = load_profile(name, ctx);                                // parses the blanked text
    LoadResult b = load_profile_text(*text, "builtin:" + name, ctx);  // the text with its comments
    REQUIRE(a.errors.empty());
    REQUIRE(b.errors.empty());
    CHECK(a.profile->sha256 == b.profile->sha256);  // ...but the digest is the text's
    auto same = [](const std::vector<PathRule>& x, const std::vector<PathRule>& y) {
      REQUIRE(x.size() == y.size());
      for (std::size_t i = 0; i < x.size(); ++i) {
        CHECK(x[i].pattern == y[i].pattern);
        CHECK(x[i].origin.line == y[i].origin.line);
        CHECK(x[i].origin.column == y[i].origin.column);
        CHECK(x[i].origin.pattern == y[i].origin.pattern);
      }
    };
    same(a.profile->read, b.profile->read);
    same(a.profile->write, b.profile->write);
    same(a.profile->deny, b.profile->deny);
    same(a.profile->exec_allow, b.profile->exec_allow);
    same(a.profile->exec_deny, b.profile->exec_deny);
    CHECK(a.profile->connect.size() == b.profile->connect.size());
    CHECK(a.profile->env.keep == b.profile->env.keep);
  }
}

TEST_CASE("a built-in variable the environment left empty is one clear error") {
  // A removed current directory (getcwd fails) leaves ${CWD} without a value; `default`
  // names it in a dozen rules: one error saying why, not a dozen "undefined variable" lines.
  auto ctx = guardian::test::fake_context();
  ctx.builtins.erase("CWD");
  auto r = load_profile("default", ctx);
  CHECK_FALSE(r.profile);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message == "${CWD} has no value: the current directory cannot be read (was it removed?)");
  ctx = guardian::test::fake_context();
  ctx.builtins.erase("HOME");
  TempDir d;
  std::string err;
  CHECK_FALSE(guardian::test::load_text(d, "version: 1\nfiles:\n  read: [\"~/a\", \"${HOME}/b\"]\n", &err,
                                        "p.yaml", ctx));
  CHECK(err.find("p.yaml:3:10: ${HOME} has no value: HOME is not set") != std::string::npos);
}
