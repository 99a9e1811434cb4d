// Engine::decide: every rule of spec §2 as a decision a user would see, with provenance.
#include "policy/engine.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "policy/address.hpp"
#include "policy_fixture.hpp"

using namespace guardian::policy;
using guardian::test::file_req;
using guardian::test::TempDir;

namespace {

const char* kParent = R"(version: 1
files:
  read: ["/g/ro/**", "/g/etc/{passwd,group}", "/g/lib/lib?.so", "/g/share/*/doc"]
  write: ["/g/proj/**"]
  deny: ["/g/proj/secret/**", "**/.env"]
exec:
  allow: ["/g/bin/*"]
  deny: ["/g/bin/evil"]
)";

const char* kChild = R"(version: 1
extends: [parent.yaml]
deny_errno: EPERM
files:
  read: ["/g/home/*/docs/**", "/g/data/**/*.csv"]
  write: ["/g/proj/secret/**", "/g/out/**"]
  deny: ["/g/ro/private/**"]
  deny_write: ["/g/proj/.git/hooks/**", "/g/proj/**/.envrc"]
)";

struct Case {
  Op op;
  const char* path;
  const char* verdict;
  const char* rule;  // pattern as written, "" for none
  bool ancestor;
};

// 70 decisions over one two-file profile.
const Case kCases[] = {
    // literal and brace rules
    {Op::read, "/g/etc/passwd", "allow", "/g/etc/{passwd,group}", false},
    {Op::read, "/g/etc/group", "allow", "/g/etc/{passwd,group}", false},
    {Op::read, "/g/etc/shadow", "deny", "", false},
    {Op::write, "/g/etc/passwd", "deny", "", false},
    // ? and *
    {Op::read, "/g/lib/libc.so", "allow", "/g/lib/lib?.so", false},
    {Op::read, "/g/lib/libcc.so", "deny", "", false},
    {Op::read, "/g/share/man/doc", "allow", "/g/share/*/doc", false},
    {Op::read, "/g/share/a/b/doc", "deny", "", false},
    // ** and DIR/** matching DIR
    {Op::read, "/g/ro", "allow", "/g/ro/**", false},
    {Op::read, "/g/ro/a/b/c/d", "allow", "/g/ro/**", false},
    {Op::read, "/g/rox", "deny", "", false},
    {Op::read, "/g/data/x.csv", "allow", "/g/data/**/*.csv", false},
    {Op::read, "/g/data/a/b/x.csv", "allow", "/g/data/**/*.csv", false},
    {Op::read, "/g/data/a/b/x.txt", "deny", "", false},
    {Op::read, "/g/home/bob/docs/cv.txt", "allow", "/g/home/*/docs/**", false},
    {Op::read, "/g/home/bob/other", "deny", "", false},
    // write implies read; read does not imply write
    {Op::read, "/g/proj/src/main.c", "allow", "/g/proj/**", false},
    {Op::write, "/g/proj/src/main.c", "allow", "/g/proj/**", false},
    {Op::write, "/g/ro/file", "deny", "", false},
    {Op::read, "/g/out/log", "allow", "/g/out/**", false},
    // deny overrides allow, across extends, both directions
    {Op::read, "/g/proj/secret/key", "deny", "/g/proj/secret/**", false},   // parent deny beats child write
    {Op::write, "/g/proj/secret/key", "deny", "/g/proj/secret/**", false},
    {Op::read, "/g/ro/private/x", "deny", "/g/ro/private/**", false},       // child deny beats parent read
    {Op::read, "/g/ro/private", "deny", "/g/ro/private/**", false},
    {Op::stat, "/g/ro/private/x", "deny", "/g/ro/private/**", false},
    {Op::read, "/g/proj/a/.env", "deny", "**/.env", false},
    {Op::write, "/g/proj/.env", "deny", "**/.env", false},
    {Op::read, "/g/ro/.env", "deny", "**/.env", false},
    {Op::read, "/g/proj/a/.envx", "allow", "/g/proj/**", false},
    // deny_write: readable, not writable
    {Op::read, "/g/proj/.git/hooks/pre-commit", "allow", "/g/proj/**", false},
    {Op::write, "/g/proj/.git/hooks/pre-commit", "deny", "/g/proj/.git/hooks/**", false},
    {Op::write, "/g/proj/.git/hooks", "deny", "/g/proj/.git/hooks/**", false},
    {Op::write, "/g/proj/.git/HEAD", "allow", "/g/proj/**", false},
    {Op::write, "/g/proj/sub/.envrc", "deny", "/g/proj/**/.envrc", false},
    {Op::write, "/g/proj/.envrc", "deny", "/g/proj/**/.envrc", false},
    {Op::stat, "/g/proj/.envrc", "allow", "/g/proj/**", false},
    // stat: allowed where read/write/exec allow, and on ancestors (metadata only)
    {Op::stat, "/g/ro/x", "allow", "/g/ro/**", false},
    {Op::stat, "/g/bin/tool", "allow", "/g/bin/*", false},
    {Op::stat, "/", "allow", "*", true},
    {Op::stat, "/g", "allow", "*", true},
    {Op::stat, "/g/etc", "allow", "/g/etc/{passwd,group}", true},
    {Op::stat, "/g/home", "allow", "/g/home/*/docs/**", true},
    {Op::stat, "/g/home/bob", "allow", "/g/home/*/docs/**", true},
    {Op::stat, "/g/home/bob/music", "deny", "", false},
    {Op::stat, "/g/share/man", "allow", "/g/share/*/doc", true},
    {Op::stat, "/g/nothing", "deny", "", false},
    {Op::read, "/g/home", "deny", "", false},  // listing an ancestor is not implied
    {Op::read, "/g", "deny", "", false},
    {Op::write, "/g/etc", "deny", "", false},
    // exec
    {Op::exec, "/g/bin/tool", "allow", "/g/bin/*", false},
    {Op::exec, "/g/bin/evil", "deny", "/g/bin/evil", false},
    {Op::exec, "/g/bin/sub/tool", "deny", "", false},
    {Op::exec, "/g/proj/a.out", "deny", "", false},  // writable is not executable
    {Op::read, "/g/bin/tool", "deny", "", false},    // executable is not readable
    {Op::read, "/g/bin/evil", "deny", "", false},
    // . and .. and // are folded before matching
    {Op::read, "/g/proj/./src/../main.c", "allow", "/g/proj/**", false},
    {Op::read, "/g/proj/../etc/passwd", "allow", "/g/etc/{passwd,group}", false},
    {Op::read, "/g/proj/../proj/secret/k", "deny", "/g/proj/secret/**", false},
    {Op::read, "/g//ro///x/", "allow", "/g/ro/**", false},
    {Op::write, "/g/proj/../ro/x", "deny", "", false},
    {Op::read, "/g/proj/../../g/ro/private/k", "deny", "/g/ro/private/**", false},
    {Op::read, "/../../g/ro/x", "allow", "/g/ro/**", false},
    // what cannot be decided is denied
    {Op::read, "g/ro/x", "deny", "", false},
    {Op::read, "", "deny", "", false},
    {Op::write, "/g/out", "allow", "/g/out/**", false},
    {Op::write, "/g/outside", "deny", "", false},
    {Op::signal, "/g/ro/x", "deny", "", false},
    {Op::other, "/g/ro/x", "deny", "", false},
    {Op::stat, "/g/data/sub", "allow", "/g/data/**/*.csv", true},
    {Op::read, "/g/data", "deny", "", false},
};

Engine load_engine(const TempDir& d) {
  d.write("parent.yaml", kParent);
  std::string err;
  auto p = guardian::test::load_text(d, kChild, &err, "child.yaml");
  REQUIRE_MESSAGE(p.has_value(), err);
  return Engine(*p);
}

}  // namespace

TEST_CASE("decision table over a profile with extends") {
  TempDir d;
  Engine e = load_engine(d);
  int n = 0;
  for (const Case& c : kCases) {
    ++n;
    Decision dec = e.decide(file_req(c.op, c.path));
    INFO("case " << n << ": " << to_string(c.op) << " " << c.path);
    CHECK(to_string(dec.verdict) == std::string(c.verdict));
    CHECK(dec.ancestor == c.ancestor);
    if (std::string(c.rule) == "*") {
      CHECK(dec.rule != nullptr);
    } else if (*c.rule) {
      REQUIRE(dec.rule != nullptr);
      CHECK(dec.rule->pattern == c.rule);
    } else {
      CHECK(dec.rule == nullptr);
    }
    CHECK(dec.err == (dec.verdict == Verdict::allow ? 0 : 1));  // deny_errno: EPERM
  }
  CHECK(n >= 60);
}

TEST_CASE("an engine built from a moved profile decides and numbers rules as a copied one") {
  TempDir d;
  d.write("parent.yaml", kParent);
  std::string err;
  auto p = guardian::test::load_text(d, kChild, &err, "child.yaml");
  REQUIRE_MESSAGE(p.has_value(), err);
  Engine copied(*p);
  Profile moved_from = *p;
  Engine moved(std::move(moved_from));
  for (const Case& c : kCases) {
    INFO(to_string(c.op) << " " << c.path);
    Decision a = copied.decide(file_req(c.op, c.path));
    Decision b = moved.decide(file_req(c.op, c.path));
    CHECK(a.verdict == b.verdict);
    CHECK(copied.rule_id(a.rule) == moved.rule_id(b.rule));
  }
  CHECK(moved.profile().read.size() == p->read.size());
}

TEST_CASE("a path longer than PATH_MAX is denied, even where a tree is allowed") {
  TempDir d;
  Engine e = load_engine(d);
  std::string longp = "/g/ro";
  while (longp.size() < 5000) longp += "/abcdefgh";
  CHECK(e.decide(file_req(Op::read, longp)).verdict == Verdict::deny);
  CHECK(e.decide(file_req(Op::read, "/g/ro/x", longp)).verdict == Verdict::deny);
}

TEST_CASE("provenance names the file and line across extends") {
  TempDir d;
  Engine e = load_engine(d);
  Decision a = e.decide(file_req(Op::read, "/g/proj/secret/k"));
  REQUIRE(a.rule);
  CHECK(a.rule->file == d.path + "/parent.yaml");
  CHECK(a.rule->line == 5);
  CHECK(a.rule->column == 10);
  Decision b = e.decide(file_req(Op::read, "/g/ro/private/k"));
  REQUIRE(b.rule);
  CHECK(b.rule->file == d.path + "/child.yaml");
  CHECK(b.rule->line == 7);
}

TEST_CASE("lexical paths: deny matches them always, allow only when trusted") {
  TempDir d;
  std::string err;
  auto p = guardian::test::load_text(d, "version: 1\nfiles:\n  read: [/g/alias/tool, /g/real/**]\n  deny: [/g/secret-link/**]\n", &err);
  REQUIRE_MESSAGE(p, err);
  Engine e(*p);
  // A read through a system alias: the written rule matches the lexical path when trusted.
  CHECK(e.decide(file_req(Op::read, "/g/other/tool", "/g/alias/tool", true)).verdict == Verdict::allow);
  CHECK(e.decide(file_req(Op::read, "/g/other/tool", "/g/alias/tool", false)).verdict == Verdict::deny);
  // A planted link to a secret: denied by the link's name even though the target is readable.
  CHECK(e.decide(file_req(Op::read, "/g/real/x", "/g/secret-link/x", false)).verdict == Verdict::deny);
  CHECK(e.decide(file_req(Op::read, "/g/real/x", "/g/secret-link/x", true)).verdict == Verdict::deny);
  CHECK(e.decide(file_req(Op::read, "/g/real/x", "/g/elsewhere/x", false)).verdict == Verdict::allow);
}

TEST_CASE("rules resolved at load match resolved paths; the written form matches when trusted") {
  TempDir d;
  d.write("usr/bin/dash", "");
  REQUIRE(::symlink("usr/bin", (d.path + "/bin").c_str()) == 0);
  REQUIRE(::symlink("dash", (d.path + "/usr/bin/sh").c_str()) == 0);
  std::string err;
  auto p = guardian::test::load_text(d, "version: 1\nexec:\n  allow: [\"${PROFILE_DIR}/bin/sh\"]\n", &err);
  REQUIRE_MESSAGE(p, err);
  CHECK(p->exec_allow[0].resolved == d.path + "/usr/bin/dash");
  Engine e(*p);
  Decision dec = e.decide(file_req(Op::exec, d.path + "/usr/bin/dash"));
  CHECK(dec.verdict == Verdict::allow);
  REQUIRE(dec.rule);
  CHECK(dec.rule->pattern == "${PROFILE_DIR}/bin/sh");
  CHECK(e.decide(file_req(Op::exec, d.path + "/usr/bin/other")).verdict == Verdict::deny);
}

TEST_CASE("/proc/self rules match the asking process's /proc/PID") {
  TempDir d;
  std::string err;
  auto p = guardian::test::load_text(d, "version: 1\nfiles:\n  read: [/proc/self/**]\n", &err);
  REQUIRE_MESSAGE(p, err);
  Engine e(*p);
  Request q = file_req(Op::read, "/proc/4242/maps");
  q.pid = 4242;
  CHECK(e.decide(q).verdict == Verdict::allow);
  q.pid = 4243;
  CHECK(e.decide(q).verdict == Verdict::deny);
  q.path = "/proc/42421/maps";
  q.pid = 4242;
  CHECK(e.decide(q).verdict == Verdict::deny);
}

TEST_CASE("metadata: open allows every stat except denied paths") {
  TempDir d;
  std::string err;
  auto p = guardian::test::load_text(d, "version: 1\nfiles:\n  metadata: open\n  deny: [/g/s/**]\n", &err);
  REQUIRE_MESSAGE(p, err);
  Engine e(*p);
  CHECK(e.metadata_open());
  Decision s = e.decide(file_req(Op::stat, "/g/anything"));
  CHECK(s.verdict == Verdict::allow);
  REQUIRE(s.rule);
  CHECK(s.rule->line == 3);
  CHECK(e.decide(file_req(Op::read, "/g/anything")).verdict == Verdict::deny);
  CHECK(e.decide(file_req(Op::stat, "/g/s/x")).verdict == Verdict::deny);
}

TEST_CASE("network decisions: deny first, then connect/bind lists") {
  TempDir d;
  std::string err;
  auto p = guardian::test::load_text(d, R"(version: 1
network:
  connect: ["10.0.0.0/8:443", "api.example.com:443", "unix:/g/run/*.sock", "*:53"]
  bind: ["127.0.0.1:8000-8999"]
  deny: ["10.1.0.0/16:*"]
)", &err);
  REQUIRE_MESSAGE(p, err);
  Engine e(*p);
  Request q;
  q.category = Category::network;
  q.op = Op::connect;
  q.addr.kind = NetAddr::Kind::ip;
  q.addr.v4 = true;
  q.addr.port = 443;
  std::uint8_t a[4] = {10, 2, 3, 4};
  std::memcpy(q.addr.ip.data() + 12, a, 4);
  CHECK(e.decide(q).verdict == Verdict::allow);
  a[1] = 1;
  std::memcpy(q.addr.ip.data() + 12, a, 4);
  Decision dn = e.decide(q);
  CHECK(dn.verdict == Verdict::deny);
  REQUIRE(dn.rule);
  CHECK(dn.rule->pattern == "10.1.0.0/16:*");
  q.op = Op::bind;
  CHECK(e.decide(q).verdict == Verdict::deny);
  std::uint8_t lo[4] = {127, 0, 0, 1};
  std::memcpy(q.addr.ip.data() + 12, lo, 4);
  q.addr.port = 8080;
  CHECK(e.decide(q).verdict == Verdict::allow);
  q.op = Op::connect;
  CHECK(e.decide(q).verdict == Verdict::deny);  // bind rules do not grant connect
  q.addr.port = 53;
  CHECK(e.decide(q).verdict == Verdict::allow);
  // host name rule via Request::host
  std::uint8_t pub[4] = {93, 184, 216, 34};
  std::memcpy(q.addr.ip.data() + 12, pub, 4);
  q.addr.port = 443;
  CHECK(e.decide(q).verdict == Verdict::deny);
  q.host = "api.example.com";
  CHECK(e.decide(q).verdict == Verdict::allow);
  NetAddr u;
  u.kind = NetAddr::Kind::unix_path;
  u.unix_name = "/g/run/app.sock";
  q.addr = u;
  q.host = {};
  CHECK(e.decide(q).verdict == Verdict::allow);
  q.op = Op::socket;
  CHECK(e.decide(q).verdict == Verdict::deny);
}

TEST_CASE("add_rule: command-line rules with provenance") {
  TempDir d;
  std::string err;
  auto p = guardian::test::load_text(d, "version: 1\n", &err);
  REQUIRE_MESSAGE(p, err);
  Engine e(*p);
  CHECK(e.decide(file_req(Op::read, "/g/extra/f")).verdict == Verdict::deny);
  e.add_rule("read", "/g/extra/**");
  Decision r = e.decide(file_req(Op::read, "/g/extra/f"));
  CHECK(r.verdict == Verdict::allow);
  REQUIRE(r.rule);
  CHECK(r.rule->file == "command line");
  const RuleOrigin* before = r.rule;
  e.add_rule("write", "~/notes");
  e.add_rule("exec", "bin/tool");  // relative to ${CWD}
  e.add_rule("connect", "127.0.0.1:9000");
  CHECK(e.decide(file_req(Op::read, "/g/extra/f")).rule == before);  // pointers stay valid
  CHECK(e.decide(file_req(Op::write, "/g/home/u/notes")).verdict == Verdict::allow);
  CHECK(e.decide(file_req(Op::exec, "/g/proj/bin/tool")).verdict == Verdict::allow);
  CHECK(e.decide(file_req(Op::stat, "/g/home")).ancestor);
  CHECK_THROWS_AS(e.add_rule("read", "/g/{x"), std::invalid_argument);
  CHECK_THROWS_AS(e.add_rule("frobnicate", "/x"), std::invalid_argument);
  CHECK_THROWS_AS(e.add_rule("connect", "nohost"), std::invalid_argument);
  CHECK(e.profile().read.size() == 1);
}

TEST_CASE("tip: the smallest rule that would allow the request") {
  TempDir d;
  std::string err;
  auto p = guardian::test::load_text(d, "version: 1\nfiles:\n  deny: [/g/no/**]\n", &err);
  REQUIRE_MESSAGE(p, err);
  Engine e(*p);
  CHECK(e.tip(file_req(Op::read, "/g/proj/data.csv")) == "files: {read: [\"${CWD}/data.csv\"]}");
  CHECK(e.tip(file_req(Op::write, "/g/home/u/x")) == "files: {write: [\"~/x\"]}");
  CHECK(e.tip(file_req(Op::exec, "/opt/t*")) == "exec: {allow: [\"/opt/t\\\\*\"]}");
  CHECK(e.tip(file_req(Op::read, "/g/no/x")).rfind("# denied by ", 0) == 0);
  // Too long to decide (a deep working directory): denied whatever the rules say, so the
  // tip says that rather than offer a rule that would not help.
  std::string deep = "/g/proj";
  while (deep.size() < 4200) deep += "/" + std::string(200, 'd');
  CHECK(e.tip(file_req(Op::write, deep)).find("longer than PATH_MAX") != std::string::npos);
  Request q;
  q.category = Category::network;
  q.op = Op::connect;
  q.addr.kind = NetAddr::Kind::ip;
  q.addr.v4 = true;
  q.addr.port = 443;
  std::uint8_t a[4] = {1, 2, 3, 4};
  std::memcpy(q.addr.ip.data() + 12, a, 4);
  CHECK(e.tip(q) == "network: {connect: [\"1.2.3.4:443\"]}");
  q.host = "example.com";
  CHECK(e.tip(q) == "network: {connect: [\"example.com:443\"]}");
}

TEST_CASE("built-in profiles: default protects what runs later and secrets") {
  guardian::policy::LoadContext ctx = guardian::test::fake_context();
  auto r = load_profile("default", ctx);
  REQUIRE(r.errors.empty());
  Engine e(*r.profile);
  using guardian::test::verdict;
  CHECK(verdict(e, Op::write, "/g/proj/src/a.py") == "allow");
  CHECK(verdict(e, Op::write, "/g/tmp/x") == "allow");
  CHECK(verdict(e, Op::read, "/g/proj/.git/config") == "allow");
  for (const char* p : {"/g/proj/.git/hooks/pre-commit", "/g/proj/.git/config", "/g/proj/.envrc", "/g/proj/.vscode/tasks.json",
                        "/g/proj/.bashrc", "/g/proj/sub/.zshrc", "/g/proj/vendor/lib/.git/hooks/post-checkout",
                        "/g/proj/.gitconfig", "/g/proj/.config/git/config", "/g/proj/.local/bin/ls",
                        "/g/proj/.config/systemd/user/x.service", "/g/proj/.config/autostart/a.desktop",
                        "/g/proj/.vimrc", "/g/proj/.vim/plugin/x.vim", "/g/proj/.config/nvim/init.lua"})
    CHECK_MESSAGE(verdict(e, Op::write, p) == "deny", p);
  for (const char* p : {"/g/proj/.env", "/g/proj/app/.env.local", "/g/proj/certs/server-key.pem",
                        "/g/proj/privkey.pem", "/g/tmp/x/tls.key", "/g/proj/id_rsa",
                        "/g/home/u/.ssh/id_ed25519", "/g/home/u/.aws/credentials", "/g/home/u/.gnupg/x"})
    CHECK_MESSAGE(verdict(e, Op::read, p) == "deny", p);
  // Certificates and CA bundles are public; a new virtualenv gets certifi's cacert.pem.
  for (const char* p : {"/g/proj/.venv/lib/python3.11/site-packages/pip/_vendor/certifi/cacert.pem",
                        "/g/proj/certs/ca.pem", "/g/proj/fullchain.pem"})
    CHECK_MESSAGE(verdict(e, Op::write, p) == "allow", p);
  CHECK(verdict(e, Op::read, "/g/home/u/notes.txt") == "deny");  // no HOME
  CHECK(verdict(e, Op::exec, "/usr/bin/env") == "allow");
  // Spec: default executes what is under /usr/bin and /bin, not what the session wrote.
  CHECK(verdict(e, Op::exec, "/g/proj/a.out") == "deny");
  CHECK(verdict(e, Op::exec, "/g/tmp/go-build1/b001/x.test") == "deny");
  CHECK(verdict(e, Op::exec, "/g/home/u/bin/tool") == "deny");
  CHECK(verdict(e, Op::exec, "/g/proj/.git/hooks/pre-commit") == "allow");  // the user's hooks
  CHECK(verdict(e, Op::read, "/etc/shadow") == "deny");
  CHECK(verdict(e, Op::write, "/dev/null") == "allow");
  CHECK(e.profile().connect.empty());
}

TEST_CASE("built-in profiles: node and python run the project's packages, not its other files") {
  guardian::policy::LoadContext ctx = guardian::test::fake_context();
  using guardian::test::verdict;
  auto n = load_profile("node", ctx);
  REQUIRE(n.errors.empty());
  Engine node(*n.profile);
  CHECK(verdict(node, Op::exec, "/g/proj/node_modules/hello/bin/h.js") == "allow");
  CHECK(verdict(node, Op::exec, "/g/proj/web/node_modules/.bin/jest") == "allow");
  CHECK(verdict(node, Op::exec, "/g/proj/a.out") == "deny");
  CHECK(verdict(node, Op::exec, "/g/tmp/x") == "deny");
  auto p = load_profile("python", ctx);
  REQUIRE(p.errors.empty());
  Engine py(*p.profile);
  CHECK(verdict(py, Op::exec, "/g/proj/.venv/bin/pytest") == "allow");
  CHECK(verdict(py, Op::exec, "/g/proj/a.out") == "deny");
  CHECK(verdict(py, Op::exec, "/g/proj/.venv/lib/python3.11/site-packages/x.so") == "deny");
}

TEST_CASE("decide_move: a directory moves only where every path below keeps its verdict") {
  guardian::policy::LoadContext ctx = guardian::test::fake_context();
  auto r = load_profile("default", ctx);
  REQUIRE(r.errors.empty());
  Engine e(*r.profile);
  auto move = [&](const char* a, const char* b) {
    Decision d = e.decide_move(a, b);
    return std::string(to_string(d.verdict)) + (d.rule ? " " + d.rule->pattern : "");
  };
  // Ordinary moves: names below keep their verdicts (.env stays .env, *.key stays *.key).
  CHECK(move("/g/proj/src", "/g/proj/lib/src2") == "allow");
  CHECK(move("/g/tmp/a/b", "/g/tmp/c") == "allow");
  // Between CWD and TMPDIR a .bashrc below would gain or lose its protection (the decoder
  // answers EXDEV, so that mv(1) copies, one decided file at a time).
  CHECK(move("/g/proj/build", "/g/tmp/old-build").substr(0, 15) == "deny ${CWD}/**/");
  CHECK(move("/g/tmp/x", "/g/proj/x").substr(0, 15) == "deny ${CWD}/**/");
  // The repository's protected files would change place: refused in both directions.
  CHECK(move("/g/proj/.git", "/g/proj/g2").substr(0, 19) == "deny ${CWD}/**/.git");
  CHECK(move("/g/proj/g2", "/g/proj/.git").substr(0, 19) == "deny ${CWD}/**/.git");
  CHECK(move("/g/proj/vendor/lib/.git", "/g/proj/vendor/lib/old").substr(0, 19) == "deny ${CWD}/**/.git");
  CHECK(move("/g/proj/.config", "/g/proj/c2").substr(0, 23) == "deny ${CWD}/**/.config/");
  // Below the destination nothing may be written.
  CHECK(move("/g/proj/src", "/usr/src2").substr(0, 4) == "deny");
  // Run in HOME: the secrets' directories are in the writable tree, and cannot move.
  ctx.builtins["CWD"] = "/g/home/u";
  auto h = load_profile("default", ctx);
  REQUIRE(h.errors.empty());
  Engine eh(*h.profile);
  CHECK(to_string(eh.decide(file_req(Op::write, "/g/home/u/.aws")).verdict) == std::string("deny"));
  CHECK(to_string(eh.decide(file_req(Op::write, "/g/home/u/.config")).verdict) == std::string("allow"));
  Decision d = eh.decide_move("/g/home/u/.config", "/g/home/u/c");
  CHECK(d.verdict == Verdict::deny);
  CHECK(to_string(eh.decide_move("/g/home/u/src", "/g/home/u/src2").verdict) == std::string("allow"));
}
