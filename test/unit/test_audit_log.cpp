// Unit tests for the audit writer: gap-free seq under concurrent producers, byte-exact
// escaping of hostile paths, the hash chain, rotation, OCSF, system-log sinks, options.
#include "audit/log.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "audit/json.hpp"
#include "audit/options.hpp"
#include "audit/reader.hpp"
#include "audit/record.hpp"
#include "policy/profile.hpp"

namespace fs = std::filesystem;
using namespace guardian;
using namespace guardian::audit;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/guardian-audit-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::unique_ptr<AuditLog> must_open(Options o) {
  auto r = open_log(o);
  REQUIRE(r.has_value());
  return std::move(r).value();
}

DecisionRecord deny_read(std::string path) {
  DecisionRecord d;
  d.pid = d.tid = 42;
  d.ppid = 1;
  d.exe = "/usr/bin/cat";
  d.syscall = "openat";
  d.category = policy::Category::file;
  d.op = policy::Op::read;
  d.path = d.raw_path = std::move(path);
  d.decision = policy::Verdict::deny;
  d.err = 13;
  return d;
}

// Checks seq and the chain of one single-session log; returns the records' count.
std::size_t check_chain(const std::vector<std::string>& lines) {
  std::string prev(kChainSeed);
  std::size_t n = 0;
  for (const auto& line : lines) {
    std::string_view body, hash;
    REQUIRE(split_hashed_line(line, body, hash));
    CHECK(chain_hash_body(prev, body) == hash);
    Record r;
    std::string err;
    REQUIRE(parse_line(line, r, err));
    CHECK(r.i64("seq") == static_cast<std::int64_t>(++n));
    prev = std::string(hash);
  }
  return n;
}

}  // namespace

TEST_CASE("seq is gap-free and the chain holds under concurrent producers") {
  TempDir t;
  Options o;
  o.destination = (t.path / "log.jsonl").string();
  o.queue_limit = 64;  // force producers to wait on the writer now and then
  auto log = must_open(o);
  SessionStart s;
  s.argv = {"sh", "-c", "true"};
  s.profile = "default";
  s.mode = "enforce";
  s.backend = "seccomp";
  log->session_start(s);
  constexpr int kThreads = 4, kPer = 3000;
  std::vector<std::thread> th;
  for (int i = 0; i < kThreads; ++i)
    th.emplace_back([&, i] {
      for (int k = 0; k < kPer; ++k) {
        DecisionRecord d = deny_read("/p/" + std::to_string(i) + "/" + std::to_string(k));
        d.decision = k % 2 ? policy::Verdict::allow : policy::Verdict::deny;
        log->decision(d);
      }
    });
  for (auto& x : th) x.join();
  log->session_end(SessionEnd{});
  auto lines = read_lines(o.destination);
  REQUIRE(lines.size() == kThreads * kPer + 2);
  CHECK(check_chain(lines) == lines.size());
  Record end;
  std::string err;
  REQUIRE(parse_line(lines.back(), end, err));
  CHECK(end.str("event") == "session_end");
  CHECK(end.i64("records") == static_cast<std::int64_t>(lines.size()));
  std::string_view body, prev_hash;
  REQUIRE(split_hashed_line(lines[lines.size() - 2], body, prev_hash));
  CHECK(end.str("final_hash") == prev_hash);
  CHECK(end.get("counts")->text == "{\"allow\":6000,\"deny\":6000,\"would-deny\":0,\"kill\":0}");
  // every record names the same session and has v:1 and a nanosecond UTC timestamp
  std::set<std::string> sessions;
  for (const auto& l : lines) {
    Record r;
    REQUIRE(parse_line(l, r, err));
    sessions.insert(r.str("session"));
    CHECK(r.i64("v") == 1);
    CHECK(r.str("ts").size() == 30);
    CHECK(r.str("ts").back() == 'Z');
  }
  CHECK(sessions.size() == 1);
  CHECK(*sessions.begin() == log->session_id());
}

TEST_CASE("hostile paths survive JSON escaping byte for byte") {
  TempDir t;
  Options o;
  o.destination = (t.path / "log.jsonl").string();
  auto log = must_open(o);
  std::vector<std::string> paths = {
      "/tmp/new\nline", "/tmp/quote\"and\\back", std::string("/tmp/ctl\x01\x1f\x7f"), "/tmp/\xff\xfe-bytes",
      "/tmp/caf\xc3\xa9", "/tmp/overlong\xc0\xaf", "/tmp/emoji\xf0\x9f\x98\x80", "/tmp/surrogate\xed\xa0\x80",
      "/tmp/cut\xe2\x82", "/tmp/latin\xe9", std::string("/tmp/nul\0x", 10), "/tmp/</script><b>"};
  for (const auto& p : paths) log->decision(deny_read(p));
  log->session_end(SessionEnd{});
  auto lines = read_lines(o.destination);
  REQUIRE(lines.size() == paths.size() + 1);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    CAPTURE(i);
    const std::string& l = lines[i];
    for (unsigned char c : l) CHECK(c >= 0x20);  // one physical line, no raw controls
    Record r;
    std::string err;
    REQUIRE(parse_line(l, r, err));
    CHECK(r.str("path") == paths[i]);
  }
  CHECK(lines[4].find("caf\xc3\xa9") != std::string::npos);  // valid UTF-8 is not escaped
  CHECK(lines[3].find("\\u00ff\\u00fe") != std::string::npos);
}

TEST_CASE("json unescape rejects malformed escapes and decodes surrogate pairs") {
  std::string out;
  CHECK(json::unescape("a\\u00e9b", out));
  CHECK(out == "a\xe9" "b");
  CHECK(json::unescape("\\ud83d\\ude00", out));
  CHECK(out == "\xf0\x9f\x98\x80");
  CHECK_FALSE(json::unescape("\\ud83d", out));
  CHECK_FALSE(json::unescape("\\x", out));
  CHECK_FALSE(json::unescape("\\u12", out));
}

TEST_CASE("decisions: deny keeps allows out of the log but in the counts") {
  TempDir t;
  Options o;
  o.destination = (t.path / "log.jsonl").string();
  o.decisions_deny_only = true;
  auto log = must_open(o);
  auto d = deny_read("/a");
  d.decision = policy::Verdict::allow;
  log->decision(d);
  log->decision(deny_read("/b"));
  log->session_end(SessionEnd{});
  auto lines = read_lines(o.destination);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("\"path\":\"/b\"") != std::string::npos);
  CHECK(lines[1].find("\"counts\":{\"allow\":1,\"deny\":1,") != std::string::npos);
}

TEST_CASE("decision records carry rule, errno and tip as the spec names them") {
  TempDir t;
  Options o;
  o.destination = (t.path / "log.jsonl").string();
  auto log = must_open(o);
  policy::RuleOrigin rule{"/p/prof.yaml", 7, 5, "~/.ssh/**"};
  auto d = deny_read("/home/u/.ssh/id");
  d.rule = &rule;
  d.tip = "files:\n  read: [\"/home/u/.ssh/id\"]\n";
  log->decision(d);
  DecisionRecord n;
  n.category = policy::Category::network;
  n.op = policy::Op::connect;
  n.addr = "93.184.216.34:443";
  n.host = "example.org";
  n.decision = policy::Verdict::allow;
  log->decision(n);
  log->flush();
  auto lines = read_lines(o.destination);
  REQUIRE(lines.size() == 2);
  Record r;
  std::string err;
  REQUIRE(parse_line(lines[0], r, err));
  CHECK(r.get("rule")->text == R"({"file":"/p/prof.yaml","line":7,"column":5,"pattern":"~/.ssh/**"})");
  CHECK(r.i64("errno") == 13);
  CHECK(r.str("errno_name") == "EACCES");
  CHECK(r.str("tip") == d.tip);
  CHECK(r.str("raw_path") == "/home/u/.ssh/id");
  CHECK(r.str("via") == "seccomp");
  REQUIRE(parse_line(lines[1], r, err));
  CHECK(r.str("addr") == "93.184.216.34:443");
  CHECK(r.get("path") == nullptr);
  CHECK(r.get("rule") == nullptr);
  CHECK(r.get("errno") == nullptr);
  CHECK(r.str("host") == "example.org");
  log->session_end(SessionEnd{});
}

TEST_CASE("rotation splits between records and the chain continues across files") {
  TempDir t;
  Options o;
  o.destination = (t.path / "log.jsonl").string();
  o.rotate_bytes = 4096;
  auto log = must_open(o);
  for (int i = 0; i < 200; ++i) {
    log->decision(deny_read("/some/fairly/long/path/" + std::to_string(i)));
    if (i % 37 == 0) log->flush();
  }
  log->session_end(SessionEnd{});
  std::vector<std::string> all;
  int files = 0;
  for (int n = 1; fs::exists(o.destination + "." + std::to_string(n)); ++n, ++files) {
    auto f = o.destination + "." + std::to_string(n);
    CHECK(fs::file_size(f) <= 4096);
    for (auto& l : read_lines(f)) all.push_back(l);
  }
  for (auto& l : read_lines(o.destination)) all.push_back(l);
  CHECK(files >= 5);
  CHECK(all.size() == 201);
  CHECK(check_chain(all) == 201);
}

TEST_CASE("OCSF lines map the class and keep the v1 record in unmapped") {
  TempDir t;
  Options o;
  o.destination = (t.path / "log.jsonl").string();
  o.format = "ocsf";
  auto log = must_open(o);
  log->decision(deny_read("/etc/shadow"));
  DecisionRecord n;
  n.category = policy::Category::network;
  n.op = policy::Op::connect;
  n.addr = "[::1]:22";
  log->decision(n);
  ProcessRecord p;
  p.pid = 5;
  p.what = "exit";
  p.status = 3;
  log->process(p);
  log->session_end(SessionEnd{});
  auto lines = read_lines(o.destination);
  REQUIRE(lines.size() == 4);
  CHECK(check_chain(lines) == 4);
  Record r;
  std::string err;
  REQUIRE(r.parse(lines[0], err));
  CHECK(r.i64("class_uid") == 1001);
  CHECK(r.i64("activity_id") == 2);
  CHECK(r.i64("type_uid") == 100102);
  CHECK(r.i64("disposition_id") == 2);
  REQUIRE(r.parse(lines[1], err));
  CHECK(r.i64("class_uid") == 4001);
  CHECK(r.get("dst_endpoint")->text == R"({"ip":"::1","port":22})");
  REQUIRE(r.parse(lines[2], err));
  CHECK(r.i64("class_uid") == 1007);
  CHECK(r.i64("activity_id") == 2);
  CHECK(r.i64("exit_code") == 3);
  REQUIRE(r.parse(lines[3], err));
  CHECK(r.i64("class_uid") == 6002);
  REQUIRE(parse_line(lines[0], r, err));  // unwrapped to v1
  CHECK(r.str("event") == "decision");
  CHECK(r.str("path") == "/etc/shadow");
}

static int bind_dgram(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  return fd;
}

static std::string recv_one(int fd) {
  std::string buf(1 << 16, '\0');
  ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  REQUIRE(n > 0);
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

TEST_CASE("syslog sink sends RFC 5424 messages") {
  TempDir t;
  std::string sock = (t.path / "log.sock").string();
  int fd = bind_dgram(sock);
  Options o;
  o.destination = "syslog";
  o.socket_path = sock;
  auto log = must_open(o);
  log->decision(deny_read("/secret"));
  log->session_end(SessionEnd{});
  std::string m1 = recv_one(fd), m2 = recv_one(fd);
  CHECK(m1.rfind("<84>1 20", 0) == 0);  // authpriv.warning, version 1, RFC 3339 time
  CHECK(m1.find(" guardian " + std::to_string(getpid()) + " decision - {\"v\":1,") != std::string::npos);
  CHECK(m1.find("\"path\":\"/secret\"") != std::string::npos);
  CHECK(m2.rfind("<86>1 ", 0) == 0);
  CHECK(m2.find(" session_end - ") != std::string::npos);
  close(fd);
}

TEST_CASE("journald sink sends native protocol fields, big records through a memfd") {
  TempDir t;
  std::string sock = (t.path / "journal.sock").string();
  int fd = bind_dgram(sock);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  Options o;
  o.destination = "journald";
  o.socket_path = sock;
  auto log = must_open(o);
  log->decision(deny_read("/secret"));
  log->flush();
  std::string m = recv_one(fd);
  CHECK(m.rfind("MESSAGE={\"v\":1,", 0) == 0);
  CHECK(m.find("\nPRIORITY=4\n") != std::string::npos);
  CHECK(m.find("\nGUARDIAN_EVENT=decision\nGUARDIAN_DECISION=deny\n") != std::string::npos);
  CHECK(m.find("\nGUARDIAN_SESSION=" + log->session_id() + "\n") != std::string::npos);
  log->session_end(SessionEnd{});
  close(fd);
}

TEST_CASE("unavailable system-log sinks fail with a clear message") {
  Options o;
  o.destination = "journald";
  o.socket_path = "/nonexistent/journal.sock";
  auto r = open_log(o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("audit sink journald unavailable: /nonexistent/journal.sock") != std::string::npos);
  o.destination = "/nonexistent-dir/log";
  r = open_log(o);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("cannot open audit log '/nonexistent-dir/log'") == 0);
}

TEST_CASE("denial summary without a destination") {
  Options o;
  auto log = must_open(o);
  CHECK(log->denial_summary().empty());
  for (int i = 0; i < 8; ++i) log->decision(deny_read("/secret/" + std::to_string(i)));
  DecisionRecord n;
  n.category = policy::Category::network;
  n.op = policy::Op::connect;
  n.addr = "1.2.3.4:80";
  n.exe = "/usr/bin/curl";
  n.pid = 9;
  n.decision = policy::Verdict::deny;
  log->decision(n);
  log->session_end(SessionEnd{});
  std::string s = log->denial_summary();
  // What the user sees: the count, the kinds (most telling first), the first targets.
  CHECK(s ==
        "guardian: 9 operations denied: 1 connect, 8 read\n"
        "guardian:   connect 1.2.3.4:80 (curl, pid 9)\n"
        "guardian:   read /secret/0 (cat, pid 42)\n"
        "guardian:   read /secret/1 (cat, pid 42)\n"
        "guardian:   read /secret/2 (cat, pid 42)\n"
        "guardian:   read /secret/3 (cat, pid 42)\n"
        "guardian:   ... and 4 more\n"
        "guardian: run with --audit FILE to log every decision; 'guardian profile explain' shows which rule "
        "decides a path\n");
}

TEST_CASE("denial summary: a refused program comes before the PATH probes that preceded it") {
  // A shell looking for `curl` stats each PATH directory (denied in HOME) before the exec
  // that is denied: the exec is what the user needs to see.
  Options o;
  auto log = must_open(o);
  for (const char* dir : {"/home/u/.local/bin", "/home/u/bin", "/home/u/.cargo/bin"}) {
    DecisionRecord st = deny_read(std::string(dir) + "/curl");
    st.exe = "/usr/bin/sh";
    st.op = policy::Op::stat;
    log->decision(st);
  }
  DecisionRecord ex = deny_read("/usr/bin/curl");
  ex.exe = "/usr/bin/sh";
  ex.category = policy::Category::exec;
  ex.op = policy::Op::exec;
  log->decision(ex);
  DecisionRecord w = deny_read("/home/u/.bashrc");
  w.op = policy::Op::write;
  w.decision = policy::Verdict::would_deny;
  log->decision(w);
  log->session_end(SessionEnd{});
  std::string s = log->denial_summary();
  CHECK(s ==
        "guardian: 4 operations denied, 1 operation would be denied: 1 exec, 1 write, 3 stat\n"
        "guardian:   exec /usr/bin/curl (sh, pid 42)\n"
        "guardian:   write /home/u/.bashrc (cat, pid 42, would be denied)\n"
        "guardian:   stat /home/u/.local/bin/curl (sh, pid 42)\n"
        "guardian:   stat /home/u/bin/curl (sh, pid 42)\n"
        "guardian:   stat /home/u/.cargo/bin/curl (sh, pid 42)\n"
        "guardian: a program runs only where the profile's exec rules name it (default: what is "
        "installed, not what the session builds or downloads; -p node and -p python also run the "
        "programs of a project's node_modules and virtualenv); --allow-exec PATH adds one\n"
        "guardian: run with --audit FILE to log every decision; 'guardian profile explain' shows which rule "
        "decides a path\n");
  CHECK(s.find("exec exec") == std::string::npos);
}

TEST_CASE("denial summary says how a program is allowed, unless a deny rule refused it") {
  // gcc's output run under default: the path alone does not tell the user that default
  // runs only installed programs, nor what to add.
  Options o;
  auto log = must_open(o);
  DecisionRecord ex = deny_read("/p/a.out");
  ex.exe = "/usr/bin/bash";
  ex.category = policy::Category::exec;
  ex.op = policy::Op::exec;
  log->decision(ex);
  log->session_end(SessionEnd{});
  const std::string how = "guardian: a program runs only where the profile's exec rules name it";
  CHECK(log->denial_summary().find(how) != std::string::npos);
  // A deny rule is named on the target's line instead: --allow-exec would not undo it.
  auto log2 = must_open(o);
  policy::RuleOrigin rule{"my.yaml", 3, 5, "/usr/bin/curl"};
  ex.rule = &rule;
  log2->decision(ex);
  log2->session_end(SessionEnd{});
  CHECK(log2->denial_summary().find(how) == std::string::npos);
  CHECK(log2->denial_summary().find("deny rule my.yaml:3 /usr/bin/curl") != std::string::npos);
}

TEST_CASE("denial summary: a refused listing says list, not read") {
  // pip's platform probe lists /etc under default: "read /etc" read as if a file in /etc
  // had been wanted.
  Options o;
  auto log = must_open(o);
  DecisionRecord l = deny_read("/etc");
  l.listing = true;
  log->decision(l);
  log->session_end(SessionEnd{});
  std::string s = log->denial_summary();
  CHECK(s.find("guardian: 1 operation denied: 1 read\n") == 0);
  CHECK(s.find("guardian:   list /etc (cat, pid 42)\n") != std::string::npos);
}

TEST_CASE("denial summary names the deny rule that decided") {
  Options o;
  auto log = must_open(o);
  policy::RuleOrigin rule{"builtin:default", 35, 7, "${CWD}/**/.git/**/commondir"};
  DecisionRecord w = deny_read("/p/.git/worktrees/w/commondir");
  w.op = policy::Op::write;
  w.rule = &rule;
  log->decision(w);
  log->decision(deny_read("/etc/gshadow"));
  log->session_end(SessionEnd{});
  std::string s = log->denial_summary();
  CHECK(s.find("write /p/.git/worktrees/w/commondir (cat, pid 42, deny rule builtin:default:35 "
               "${CWD}/**/.git/**/commondir)\n") != std::string::npos);
  CHECK(s.find("read /etc/gshadow (cat, pid 42)\n") != std::string::npos);
}

TEST_CASE("denial summary says which processes on_deny: kill ended") {
  Options o;
  auto log = must_open(o);
  DecisionRecord k = deny_read("/etc/shadow");
  k.decision = policy::Verdict::kill;
  log->decision(k);
  log->decision(deny_read("/etc/gshadow"));
  log->session_end(SessionEnd{});
  std::string s = log->denial_summary();
  CHECK(s.rfind("guardian: 2 operations denied (1 process killed for it, on_deny: kill): 2 read\n", 0) == 0);
  CHECK(s.find("read /etc/shadow (cat, pid 42, killed)\n") != std::string::npos);
  CHECK(s.find("read /etc/gshadow (cat, pid 42)\n") != std::string::npos);
}

TEST_CASE("audit options from the command line") {
  namespace po = boost::program_options;
  po::options_description desc;
  add_options(desc);
  auto parse = [&](std::vector<std::string> args) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    return options_from(vm);
  };
  auto r = parse({"-a", "log", "--audit-format", "ocsf", "--audit-rotate", "10M"});
  REQUIRE(r.has_value());
  CHECK(r.value().destination == "log");
  CHECK(r.value().format == "ocsf");
  CHECK(r.value().rotate_bytes == 10u << 20);
  CHECK_FALSE(parse({"--audit-format", "xml"}).has_value());
  CHECK_FALSE(parse({"-a", "-", "--audit-rotate", "1M"}).has_value());
  CHECK(parse_size("4096").value() == 4096);
  CHECK(parse_size("1GiB").value() == 1ull << 30);
  CHECK(parse_size("512k").value() == 512u << 10);
  CHECK_FALSE(parse_size("12X").has_value());
  CHECK_FALSE(parse_size("").has_value());
}
