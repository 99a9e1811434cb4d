// Tests for policy/learn: audit log reading, the generaliser's choices, rendering and merge.
#include <yaml-cpp/yaml.h>

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/learn_support.hpp"
#include "policy/learn/generalise.hpp"
#include "policy/learn/observe.hpp"

using namespace guardian::policy;
using namespace guardian::policy::learn;

namespace {

LearnOptions opts() {
  LearnOptions o;
  o.cwd = "/work/proj";
  o.home = "/home/u";
  o.tmpdir = "/tmp";
  o.command = {"/usr/bin/python3", "job.py"};
  return o;
}

Observation file(Op op, std::string path, std::string syscall = "openat", std::int64_t pid = 100) {
  Observation o;
  o.category = Category::file;
  o.op = op;
  o.path = std::move(path);
  o.syscall = std::move(syscall);
  o.pid = o.tid = pid;
  return o;
}

std::vector<std::string> patterns(const std::vector<LearnedRule>& rules) {
  std::vector<std::string> v;
  for (const auto& r : rules) v.push_back(r.pattern);
  return v;
}

bool has(const std::vector<LearnedRule>& rules, std::string_view p) {
  return std::any_of(rules.begin(), rules.end(), [&](const LearnedRule& r) { return r.pattern == p; });
}

}  // namespace

TEST_CASE("audit: paths decode byte for byte as guardian's writer escaped them") {
  // guardian writes valid UTF-8 as it is and each byte that is not UTF-8 as \u0080..\u00ff
  // (guardian-audit(5)); the generaliser must get back the very bytes the program used,
  // not the Latin-1 reading of the escape (which names a different file).
  std::istringstream in(
      R"({"v":1,"event":"session_start","argv":["cat","caf\u00e9"],"cwd":"/w"})" "\n"
      R"({"v":1,"event":"decision","category":"file","op":"read","path":"/w/caf\u00e9","decision":"allow"})" "\n"
      "{\"v\":1,\"event\":\"decision\",\"category\":\"file\",\"op\":\"read\",\"path\":\"/w/\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\",\"decision\":\"allow\"}\n"
      R"({"v":1,"event":"decision","category":"file","op":"read","path":"/w/\ud83d\ude00\n","decision":"allow"})" "\n");
  std::string err;
  auto a = read_audit(in, "log.jsonl", err);
  REQUIRE_MESSAGE(a, err);
  REQUIRE(a->observations.size() == 3);
  CHECK(a->observations[0].path == "/w/caf\xe9");
  CHECK(a->observations[1].path == "/w/\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80");
  CHECK(a->observations[2].path == "/w/\xf0\x9f\x98\x80\n");
  CHECK(a->session.argv == std::vector<std::string>{"cat", "caf\xe9"});
}

TEST_CASE("audit: OCSF lines (--audit-format ocsf) are read through their v1 record") {
  std::istringstream in(
      R"({"class_uid":1001,"activity_id":1,"unmapped":{"v":1,"event":"decision","category":"file","op":"write","path":"/w/out","decision":"would-deny"}})" "\n");
  std::string err;
  auto a = read_audit(in, "log.ocsf", err);
  REQUIRE_MESSAGE(a, err);
  REQUIRE(a->observations.size() == 1);
  CHECK(a->observations[0].op == Op::write);
  CHECK(a->observations[0].path == "/w/out");
}

TEST_CASE("audit: decision records become folded observations") {
  std::istringstream in(
      R"({"v":1,"ts":"2026-01-01T00:00:00.000000000Z","seq":0,"session":"s","event":"session_start","argv":["cat","a"],"cwd":"/work/proj","profile":"x","profile_sha256":"0","mode":"complain","backend":"seccomp","guardian_version":"0.1.0","uid":1000})"
      "\n"
      R"({"v":1,"ts":"2026-01-01T00:00:00.000000001Z","seq":1,"session":"s","event":"decision","pid":7,"tid":7,"ppid":1,"exe":"/usr/bin/cat","syscall":"openat","category":"file","op":"read","path":"/work/proj/a","raw_path":"a","decision":"would-deny","errno":13,"tip":"files: {read: [\"${CWD}/a\"]}","via":"seccomp"})"
      "\n"
      R"({"v":1,"ts":"2026-01-01T00:00:00.000000002Z","seq":2,"session":"s","event":"decision","pid":7,"tid":7,"ppid":1,"exe":"/usr/bin/cat","syscall":"openat","category":"file","op":"read","path":"/work/proj/a","raw_path":"./a","decision":"allow","rule":{"file":"p.yaml","line":3,"pattern":"x"},"via":"seccomp"})"
      "\n"
      R"({"v":1,"ts":"2026-01-01T00:00:00.000000003Z","seq":3,"session":"s","event":"decision","pid":7,"tid":7,"ppid":1,"exe":"/usr/bin/cat","syscall":"connect","category":"network","op":"connect","addr":"10.0.0.1:443","host":"example.org","decision":"would-deny","via":"seccomp"})"
      "\n"
      R"({"v":1,"ts":"2026-01-01T00:00:00.000000004Z","seq":4,"session":"s","event":"session_end","exit_status":0)");
  std::string err;
  auto a = read_audit(in, "log.jsonl", err);
  REQUIRE_MESSAGE(a, err);
  CHECK(a->session.cwd == "/work/proj");
  CHECK(a->session.argv == std::vector<std::string>{"cat", "a"});
  REQUIRE(a->observations.size() == 2);
  CHECK(a->observations[0].count == 2);
  CHECK(a->observations[1].host == "example.org");
  CHECK(a->warnings.size() == 1);  // the cut last line
}

TEST_CASE("audit: a terminal the session held is not learned, another terminal is") {
  // guardian allows /dev/pts/N without a rule while the session holds terminal N (a pty it
  // made); a rule for it would open that number, the user's other window next time.
  std::istringstream in(
      R"({"v":1,"event":"decision","category":"file","op":"write","path":"/dev/pts/3","decision":"allow"})" "\n"
      R"({"v":1,"event":"decision","category":"file","op":"stat","path":"/dev/pts/3","decision":"allow","rule":{"file":"guardian:terminal","line":0,"pattern":"/dev/pts/3"}})" "\n"
      R"({"v":1,"event":"decision","category":"file","op":"read","path":"/dev/pts/6","decision":"allow","rule":{"file":"guardian:builtin","line":0,"pattern":"/dev/pts/6"}})" "\n"
      R"({"v":1,"event":"decision","category":"file","op":"read","path":"/dev/pts/4","decision":"would-deny"})" "\n"
      R"({"v":1,"event":"decision","category":"file","op":"read","path":"/dev/pts/5","decision":"allow","rule":{"file":"p.yaml","line":3,"pattern":"/dev/pts/*"}})" "\n"
      R"({"v":1,"event":"decision","category":"file","op":"read","path":"/dev/pts/ptmx","decision":"allow"})" "\n");
  std::string err;
  auto a = read_audit(in, "log.jsonl", err);
  REQUIRE_MESSAGE(a, err);
  REQUIRE(a->observations.size() == 4);
  CHECK(a->observations[0].path == "/dev/pts/6");
  CHECK(a->observations[1].path == "/dev/pts/4");
  CHECK(a->observations[2].path == "/dev/pts/5");
  CHECK(a->observations[3].path == "/dev/pts/ptmx");
}

TEST_CASE("audit: an anonymous object reopened by /dev/fd/N (pipe:[N]) is not learned, nor an error") {
  // bash's `cat <(echo x)` opens /dev/fd/63, a pipe: `guardian learn` stopped there with
  // "file decision without an absolute 'path'" and wrote no profile.
  std::istringstream in(
      R"({"v":1,"event":"decision","category":"file","op":"read","path":"pipe:[11187542]","raw_path":"/dev/fd/63","decision":"allow","rule":{"file":"guardian:builtin","line":0,"pattern":"pipe:[11187542]"}})" "\n"
      R"({"v":1,"event":"decision","category":"file","op":"write","path":"socket:[42]","raw_path":"/proc/self/fd/5","decision":"allow"})" "\n"
      R"({"v":1,"event":"decision","category":"file","op":"read","path":"/etc/hosts","decision":"allow"})" "\n");
  std::string err;
  auto a = read_audit(in, "log.jsonl", err);
  REQUIRE_MESSAGE(a, err);
  REQUIRE(a->observations.size() == 1);
  CHECK(a->observations[0].path == "/etc/hosts");
}

TEST_CASE("audit: a bad line is a line-numbered error") {
  std::istringstream in("{\"v\":1,\"event\":\"limit\"}\ngarbage\n{\"v\":1}\n");
  std::string err;
  CHECK_FALSE(read_audit(in, "log.jsonl", err));
  CHECK(err == "log.jsonl:2:1: not a JSON object");
  std::istringstream in2("{\"v\":2,\"event\":\"decision\"}\n");
  CHECK_FALSE(read_audit(in2, "l", err));
  CHECK(err == "l:1:1: unsupported audit log version 2");
  std::istringstream in3("{\"v\":1,\"event\":\"decision\",\"category\":\"file\",\"op\":\"read\"}\n");
  CHECK_FALSE(read_audit(in3, "l", err));
  CHECK(err == "l:1:1: file decision without an absolute 'path'");
}

TEST_CASE("paths under CWD, HOME, TMPDIR use the variables; the longest root wins") {
  auto o = opts();
  o.cwd = "/home/u/src/proj";
  std::vector<Observation> obs{file(Op::read, "/home/u/src/proj/in.txt"), file(Op::read, "/home/u/.gitconfig"),
                               file(Op::write, "/tmp/out.log"), file(Op::read, "/home/u2/x")};
  auto L = generalise(obs, o);
  CHECK(has(L.read, "${CWD}/in.txt"));
  CHECK(has(L.read, "${HOME}/.gitconfig"));
  CHECK(has(L.read, "/home/u2/x"));  // a sibling of HOME is not HOME
  CHECK(has(L.write, "${TMPDIR}/out.log"));
}

TEST_CASE("trees collapse only on enough spread evidence") {
  auto o = opts();
  std::vector<Observation> obs;
  for (int i = 0; i < 6; ++i) obs.push_back(file(Op::read, "/usr/lib/python3.11/m" + std::to_string(i) + ".py"));
  obs.push_back(file(Op::read, "/usr/lib/python3.11/encodings/utf_8.py"));
  SUBCASE("seven paths: listed one by one") {
    auto L = generalise(obs, o);
    CHECK(L.read.size() == 7);
  }
  SUBCASE("eight paths in two branches: the highest eligible directory") {
    obs.push_back(file(Op::stat, "/usr/lib/python3.11/encodings/__pycache__"));
    auto L = generalise(obs, o);
    CHECK(patterns(L.read) == std::vector<std::string>{"/usr/lib/python3.11/**"});
    CHECK(L.read[0].ops == 8);
    CHECK(L.read[0].example == "/usr/lib/python3.11/encodings/__pycache__");
  }
  SUBCASE("eight paths all in one subdirectory: that subdirectory only") {
    std::vector<Observation> one;
    for (int i = 0; i < 9; ++i) one.push_back(file(Op::read, "/usr/share/zoneinfo/Europe/C" + std::to_string(i)));
    auto L = generalise(one, o);
    CHECK(patterns(L.read) == std::vector<std::string>{"/usr/share/zoneinfo/Europe/**"});
  }
}

TEST_CASE("never /**, /X/**, containers, or a tree holding HOME/CWD") {
  auto o = opts();
  std::vector<Observation> obs;
  const char* tops[] = {"/etc", "/usr", "/opt", "/var", "/srv"};
  for (const char* t : tops)
    for (int i = 0; i < 3; ++i) obs.push_back(file(Op::read, std::string(t) + "/f" + std::to_string(i)));
  for (int i = 0; i < 10; ++i) obs.push_back(file(Op::read, "/usr/share/p" + std::to_string(i) + "/x"));
  for (int i = 0; i < 10; ++i) obs.push_back(file(Op::read, "/home/u/d" + std::to_string(i) + "/x"));
  for (int i = 0; i < 10; ++i) obs.push_back(file(Op::read, "/work/proj/f" + std::to_string(i)));
  for (int i = 0; i < 10; ++i) obs.push_back(file(Op::read, "/work/other" + std::to_string(i)));
  auto L = generalise(obs, o);
  for (const auto& r : L.read) {
    INFO(r.pattern);
    CHECK(r.pattern.find("**") == std::string::npos);
  }
  CHECK(L.read.size() == obs.size());
}

TEST_CASE("a HOME subtree may collapse, HOME itself never") {
  auto o = opts();
  std::vector<Observation> obs;
  for (int i = 0; i < 8; ++i) obs.push_back(file(Op::read, "/home/u/.config/app/" + std::string(i % 2 ? "a/" : "b/") + std::to_string(i)));
  auto L = generalise(obs, o);
  CHECK(patterns(L.read) == std::vector<std::string>{"${HOME}/.config/app/**"});
}

TEST_CASE("temporary names become patterns") {
  auto o = opts();
  o.pids = {4242};
  std::vector<Observation> obs{
      file(Op::write, "/tmp/ccAb12Cd.s"),        // gcc (mkstemp)
      file(Op::write, "/tmp/tmpk3j_x9ab"),       // Python tempfile
      file(Op::write, "/tmp/tmp.Q2wE4rT6yU"),    // mktemp(1)
      file(Op::write, "/tmp/job.4242.lock"),     // a PID of the session
      file(Op::write, "/tmp/report.txt"),        // a fixed name stays
      file(Op::write, "/tmp/qwhzkxye"),          // Python's probe of a new TMPDIR
      file(Op::write, "/tmp/ccabcdef.o"),        // gcc, random part all lowercase
      file(Op::write, "/tmp/ccMnWY7o.cdtor.c"),  // collect2: the random part is not last
      file(Op::read, "/tmp/ccAb12Cd.s"),         // the same file read back: covered by the write
  };
  auto L = generalise(obs, o);
  CHECK(patterns(L.write) == std::vector<std::string>{"${TMPDIR}/????????", "${TMPDIR}/cc??????.cdtor.c",
                                                       "${TMPDIR}/cc??????.o", "${TMPDIR}/cc??????.s", "${TMPDIR}/job.*.lock",
                                                       "${TMPDIR}/report.txt", "${TMPDIR}/tmp.??????????",
                                                       "${TMPDIR}/tmp????????"});
  CHECK(L.read.empty());
}

TEST_CASE("a temporary pattern that would match the working directory stays literal") {
  auto o = opts();
  o.cwd = "/tmp/tmp.AbCdEf1234";
  std::vector<Observation> obs{file(Op::write, "/tmp/tmp.Zz9Yy8Xx77")};
  auto L = generalise(obs, o);
  CHECK(patterns(L.write) == std::vector<std::string>{"${TMPDIR}/tmp.Zz9Yy8Xx77"});
}

TEST_CASE("random names are generalised only where the session created them") {
  auto o = opts();
  std::vector<Observation> obs{
      file(Op::read, "/work/proj/data2023ABC.csv"),  // an input: kept exactly
      file(Op::write, "/work/proj/repo/.git/objects/ab", "mkdirat"),
      file(Op::write, "/work/proj/repo/.git/objects/ab/0123456789abcdef0123456789abcdef012345"),
  };
  auto L = generalise(obs, o);
  CHECK(has(L.read, "${CWD}/data2023ABC.csv"));
  CHECK(patterns(L.write) == std::vector<std::string>{"${CWD}/repo/.git/objects/*/**"});
}

TEST_CASE("a directory moved into place is the command's own tree") {
  // cp -a a z && mv z y: the move is decided on everything below both ends, so y/b and
  // y/b/c as single rules refused the same mv next time (EXDEV, a summary line).
  auto o = opts();
  std::vector<Observation> obs{
      file(Op::write, "/work/proj/z", "mkdir"),
      file(Op::write, "/work/proj/z/b", "mkdir"),
      file(Op::write, "/work/proj/z/b/c"),
      file(Op::write, "/work/proj/z", "renameat2"),
      file(Op::write, "/work/proj/y", "renameat2"),
      file(Op::write, "/work/proj/y/b", "unlinkat"),
      file(Op::write, "/work/proj/y/b/c", "unlinkat"),
      file(Op::write, "/work/proj/out.txt", "rename"),  // a file renamed: nothing below it
      file(Op::write, "/work/proj/out.txt.tmp", "openat"),
  };
  auto L = generalise(obs, o);
  CHECK(has(L.write, "${CWD}/y/**"));
  CHECK(has(L.write, "${CWD}/z/**"));
  CHECK(has(L.write, "${CWD}/out.txt"));
  CHECK_FALSE(has(L.write, "${CWD}/y/b"));
  CHECK_FALSE(has(L.write, "${CWD}/out.txt/**"));
}

TEST_CASE("a new object in an older repository's fan-out directory is any object") {
  // git clone of a local repository hard-links its objects (link: a write of both ends);
  // the fan-out directories were there before. The next clone of a changed repository
  // links other objects, in other fan-out directories.
  auto o = opts();
  std::vector<Observation> obs{
      file(Op::write, "/work/proj/src/.git/objects/3b/e22be77da4887e869c981806d8452f034dd014", "linkat"),
      file(Op::read, "/work/proj/src/.git/objects/d3/e0c6689e5c1e65d06ae45918a6062bf4107464"),
  };
  auto L = generalise(obs, o);
  CHECK(patterns(L.write) == std::vector<std::string>{"${CWD}/src/.git/objects/*/*"});
  CHECK(L.read.empty());  // another object read: the same rule covers it
}

TEST_CASE("directories the command created are its own; HOME needs two levels") {
  auto o = opts();
  std::vector<Observation> obs{
      file(Op::write, "/work", "mkdir"),  // mkdir -p walking up: never a tree at / or above CWD
      file(Op::write, "/work/proj", "mkdir"),
      file(Op::write, "/work/proj/out", "mkdir"),
      file(Op::write, "/work/proj/out/a.o"),
      file(Op::write, "/work/proj/out/sub", "mkdir"),
      file(Op::write, "/work/proj/out/sub/b.o"),
      file(Op::read, "/work/proj/out/sub/b.o"),
      file(Op::write, "/home/u/.cache", "mkdir"),
      file(Op::write, "/home/u/.cache/tool", "mkdir"),
      file(Op::write, "/home/u/.cache/tool/x"),
  };
  auto L = generalise(obs, o);
  CHECK(has(L.write, "${CWD}/out/**"));
  CHECK(has(L.write, "${HOME}/.cache/tool/**"));
  CHECK(has(L.write, "${HOME}/.cache"));
  CHECK(has(L.write, "${CWD}"));
  CHECK(has(L.write, "/work"));
  CHECK(L.write.size() == 5);
  CHECK(L.read.empty());
}

TEST_CASE("reads and writes are kept apart; stat of ancestors needs nothing") {
  auto o = opts();
  std::vector<Observation> obs{
      file(Op::read, "/work/proj/in.txt"), file(Op::write, "/work/proj/out.txt"), file(Op::read, "/work/proj/out.txt"),
      file(Op::stat, "/work/proj"),        file(Op::stat, "/work"),                file(Op::stat, "/work/proj/missing.cfg"),
  };
  auto L = generalise(obs, o);
  CHECK(patterns(L.read) == std::vector<std::string>{"${CWD}/in.txt", "${CWD}/missing.cfg"});
  CHECK(L.read[1].stat_only);
  CHECK(patterns(L.write) == std::vector<std::string>{"${CWD}/out.txt"});
  CHECK(L.ancestor_ops == 2);
}

TEST_CASE("many stray metadata probes turn into metadata: open") {
  auto o = opts();
  o.thresholds.metadata_open_min = 5;
  std::vector<Observation> obs{file(Op::read, "/work/proj/in.txt")};
  for (int i = 0; i < 6; ++i) obs.push_back(file(Op::stat, "/nonexistent" + std::to_string(i) + "/x"));
  auto L = generalise(obs, o);
  CHECK(L.metadata_open);
  CHECK(L.metadata_ops == 6);
  CHECK(patterns(L.read) == std::vector<std::string>{"${CWD}/in.txt"});
}

TEST_CASE("a server on port 0: HOST:*, and its own clients need no rule") {
  // python -m http.server 0, a test suite's server: bind 127.0.0.1:0, then listen() decided
  // on the port the kernel picked, which the clients of the session connect to
  // (guardian:own-listener). Learned as they were, the next run's port was refused.
  std::istringstream in(
      R"({"v":1,"event":"decision","category":"network","op":"bind","syscall":"bind","addr":"127.0.0.1:0","decision":"would-deny"})" "\n"
      R"({"v":1,"event":"decision","category":"network","op":"bind","syscall":"listen","addr":"127.0.0.1:45487","decision":"would-deny"})" "\n"
      R"({"v":1,"event":"decision","category":"network","op":"connect","syscall":"connect","addr":"127.0.0.1:45487","decision":"allow","rule":{"file":"guardian:own-listener","line":0,"pattern":"127.0.0.1:45487"}})" "\n"
      R"({"v":1,"event":"decision","category":"network","op":"bind","syscall":"bind","addr":"127.0.0.1:8080","decision":"would-deny"})" "\n"
      R"({"v":1,"event":"decision","category":"network","op":"bind","syscall":"listen","addr":"[::1]:9000","decision":"would-deny"})" "\n");
  std::string err;
  auto a = read_audit(in, "log.jsonl", err);
  REQUIRE_MESSAGE(a, err);
  REQUIRE(a->observations.size() == 4);  // the own-listener connect is not one
  auto L = generalise(a->observations, opts());
  CHECK(L.connect.empty());
  CHECK(patterns(L.bind) == std::vector<std::string>{"127.0.0.1:*", "127.0.0.1:8080", "[::1]:9000"});
}

TEST_CASE("what the base already allows produces no rule; exec and network rules") {
  auto o = opts();
  o.already_allowed = [](const Observation& ob) { return ob.path.rfind("/usr/lib/x86_64-linux-gnu/", 0) == 0; };
  Observation ex;
  ex.category = Category::exec;
  ex.op = Op::exec;
  ex.path = "/usr/bin/python3.11";
  Observation c1, c2, b1;
  c1.category = c2.category = b1.category = Category::network;
  c1.op = c2.op = Op::connect;
  b1.op = Op::bind;
  c1.addr = "93.184.216.34:443";
  c1.host = "example.org";
  c2.addr = "127.0.0.53:53";
  b1.addr = "127.0.0.1:8080";
  Observation u = c1;
  u.addr = "unix:/run/app.sock";
  u.host = "";
  std::vector<Observation> obs{file(Op::read, "/usr/lib/x86_64-linux-gnu/libc.so.6"), ex, c1, c2, b1, u};
  auto L = generalise(obs, o);
  CHECK(L.covered_ops == 1);
  CHECK(L.read.empty());
  CHECK(patterns(L.exec) == std::vector<std::string>{"/usr/bin/python3.11"});
  CHECK(patterns(L.connect) == std::vector<std::string>{"example.org:443", "unix:/run/app.sock"});
  CHECK(patterns(L.bind) == std::vector<std::string>{"127.0.0.1:8080"});
  CHECK(L.dns);
}

TEST_CASE("/proc of the process itself becomes /proc/self; glob characters are neutralised") {
  auto o = opts();
  std::vector<Observation> obs{file(Op::read, "/proc/100/status", "openat", 100),
                              file(Op::read, "/opt/guardian/lib/libguardian-preload.so"),  // guardian's own
                              file(Op::read, "/work/proj/a*b{c}.txt")};
  auto L = generalise(obs, o);
  CHECK(has(L.read, "/proc/self/status"));
  CHECK(has(L.read, "${CWD}/a?b?c?.txt"));
  CHECK(L.read.size() == 2);
}

TEST_CASE("render: a commented profile that YAML reads back") {
  auto o = opts();
  std::vector<Observation> obs{file(Op::read, "/work/proj/in.txt"), file(Op::write, "/work/proj/out.txt")};
  auto L = generalise(obs, o);
  std::string text = render_profile(L, o);
  CHECK(text.find("- \"${CWD}/in.txt\"  # 1 op: /work/proj/in.txt") != std::string::npos);
  YAML::Node n = YAML::Load(text);
  CHECK(n["version"].as<int>() == 1);
  CHECK(n["extends"][0].as<std::string>() == "base");
  CHECK(n["files"]["write"][0].as<std::string>() == "${CWD}/out.txt");
  CHECK(n["name"].as<std::string>() == "python3");
}

TEST_CASE("merge: new rules join the lists, hand-written rules and comments stay") {
  std::string old =
      "# my tool\n"
      "version: 1\n"
      "extends: [base]\n"
      "files:\n"
      "  read:\n"
      "    - \"${CWD}/in.txt\"   # hand-written\n"
      "  write: [\"${CWD}/out.txt\"]  # outputs\n"
      "exec:\n"
      "  allow: []\n";
  Learned L;
  L.read.push_back(LearnedRule{"${CWD}/more.txt", 2, 1, "/w/more.txt", false});
  L.write.push_back(LearnedRule{"${CWD}/log.txt", 1, 1, "/w/log.txt", false});
  L.exec.push_back(LearnedRule{"/usr/bin/env", 1, 1, "/usr/bin/env", false});
  L.connect.push_back(LearnedRule{"127.0.0.1:80", 1, 1, "127.0.0.1:80", false});
  L.dns = true;
  std::string out, err;
  REQUIRE_MESSAGE(merge_profile(old, L, out, err), err);
  CHECK(out.find("# my tool\n") == 0);
  CHECK(out.find("# hand-written") != std::string::npos);
  CHECK(out.find("write:  # outputs") != std::string::npos);
  YAML::Node n = YAML::Load(out);
  CHECK(n["files"]["read"].size() == 2);
  CHECK(n["files"]["read"][1].as<std::string>() == "${CWD}/more.txt");
  CHECK(n["files"]["write"][0].as<std::string>() == "${CWD}/out.txt");
  CHECK(n["files"]["write"][1].as<std::string>() == "${CWD}/log.txt");
  CHECK(n["exec"]["allow"][0].as<std::string>() == "/usr/bin/env");
  CHECK(n["network"]["connect"][0].as<std::string>() == "127.0.0.1:80");
  CHECK(n["network"]["dns"].as<bool>());
}

TEST_CASE("pattern_covers") {
  CHECK(pattern_covers("${CWD}/out/**", "${CWD}/out"));
  CHECK(pattern_covers("${CWD}/out/**", "${CWD}/out/a/b"));
  CHECK_FALSE(pattern_covers("${CWD}/out/**", "${CWD}/outx"));
  CHECK(pattern_covers("${TMPDIR}/cc??????.s", "${TMPDIR}/cc??????.s"));
  CHECK_FALSE(pattern_covers("${TMPDIR}/cc??????.s", "${TMPDIR}/ccA.s"));
}

TEST_CASE("base subtraction asks the real engine; the rendered profile loads") {
  LoadContext ctx;
  ctx.builtins = {{"HOME", "/home/u"}, {"CWD", "/work/proj"}, {"TMPDIR", "/tmp"}, {"USER", "u"}, {"UID", "1000"}};
  auto engine = guardian::cli::load_engine("base", ctx);
  REQUIRE(engine);
  auto o = opts();
  o.already_allowed = [&](const Observation& ob) { return guardian::cli::engine_allows(*engine, ob); };
  std::vector<Observation> obs{
      file(Op::read, "/usr/lib/python3.11/os.py"), file(Op::read, "/etc/ld.so.cache"),
      file(Op::read, "/proc/100/status", "openat", 100),  // the process's own /proc: base
      file(Op::stat, "/home"),                             // an ancestor of nothing base allows
      file(Op::read, "/home/u/.gitconfig"),                // HOME: never in base
      file(Op::write, "/work/proj/out.txt"),
  };
  auto L = generalise(obs, o);
  CHECK(L.covered_ops == 3);
  CHECK(patterns(L.read) == std::vector<std::string>{"${HOME}/.gitconfig"});
  CHECK(patterns(L.write) == std::vector<std::string>{"${CWD}/out.txt"});
  CHECK(L.ancestor_ops == 1);

  char dir[] = "/tmp/test_learn.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/p.yaml";
  {
    std::ofstream f(path);
    f << render_profile(L, o);
  }
  auto loaded = load_profile(path, ctx);
  CHECK(loaded.errors.empty());
  REQUIRE(loaded.profile);
  Engine learned(*loaded.profile);
  Observation home_other = file(Op::read, "/home/u/.ssh/id_rsa");
  CHECK(guardian::cli::engine_allows(learned, obs[4]));
  CHECK_FALSE(guardian::cli::engine_allows(learned, home_other));
  CHECK(guardian::cli::engine_allows(learned, obs[0]));  // through extends: [base]
  std::remove(path.c_str());
  rmdir(dir);
}

TEST_CASE("merge: a missing key goes at the end of its section, a missing section at the end") {
  std::string old =
      "version: 1\n"
      "files:\n"
      "    read:\n"
      "      - /a   # keep\n"
      "    # trailing comment of files\n"
      "limits: {wall: 1m}\n";
  Learned L;
  L.write.push_back(LearnedRule{"${CWD}/w", 1, 1, "/w", false});
  L.bind.push_back(LearnedRule{"127.0.0.1:9000", 1, 1, "127.0.0.1:9000", false});
  L.metadata_open = true;
  std::string out, err;
  REQUIRE_MESSAGE(merge_profile(old, L, out, err), err);
  YAML::Node n = YAML::Load(out);
  CHECK(n["files"]["read"][0].as<std::string>() == "/a");
  CHECK(n["files"]["write"][0].as<std::string>() == "${CWD}/w");
  CHECK(n["files"]["metadata"].as<std::string>() == "open");
  CHECK(n["network"]["bind"][0].as<std::string>() == "127.0.0.1:9000");
  CHECK(n["limits"]["wall"].as<std::string>() == "1m");
  CHECK(out.find("# keep") != std::string::npos);
  std::string flow = "version: 1\nfiles: {read: [/a]}\n";
  CHECK_FALSE(merge_profile(flow, L, out, err));
  CHECK(err.find("block mapping") != std::string::npos);
}

TEST_CASE("a Python temporary name whose random part starts with '_' is still a pattern") {
  auto o = opts();
  std::vector<Observation> obs{file(Op::write, "/tmp/tmp_k3jx9ab")};
  auto L = generalise(obs, o);
  CHECK(patterns(L.write) == std::vector<std::string>{"${TMPDIR}/tmp????????"});
}
