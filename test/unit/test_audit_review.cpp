// Unit tests for the audit readers and reviewer tools: verify finds each kind of tamper on
// the right line, readers skip malformed lines, globs and time filters behave.
#include "audit/review.hpp"

#include <unistd.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "audit/digest.hpp"
#include "audit/log.hpp"
#include "audit/reader.hpp"
#include "audit/record.hpp"

namespace fs = std::filesystem;
using namespace guardian;
using namespace guardian::audit;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/guardian-review-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A small session: start, 10 decisions (every third denied), a process exit, end.
std::vector<std::string> make_log(const fs::path& file) {
  Options o;
  o.destination = file.string();
  auto log = std::move(open_log(o)).value();
  SessionStart s;
  s.argv = {"sh", "-c", "cat secret"};
  s.profile = "default";
  log->session_start(s);
  for (int i = 0; i < 10; ++i) {
    DecisionRecord d;
    d.pid = d.tid = 100 + i % 2;
    d.ppid = 99;
    d.exe = "/usr/bin/cat";
    d.syscall = "openat";
    d.path = d.raw_path = "/data/f" + std::to_string(i);
    d.decision = i % 3 == 0 ? policy::Verdict::deny : policy::Verdict::allow;
    d.err = 13;
    log->decision(d);
  }
  ProcessRecord p;
  p.pid = 100;
  p.ppid = 99;
  p.what = "exit";
  p.status = 1;
  log->process(p);
  log->session_end(SessionEnd{});
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void write_lines(const fs::path& file, const std::vector<std::string>& lines, bool final_newline = true) {
  std::ofstream out(file, std::ios::trunc);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out << lines[i];
    if (i + 1 < lines.size() || final_newline) out << '\n';
  }
}

// Runs verify; returns (exit status, output).
std::pair<int, std::string> run_verify(const std::vector<std::string>& files) {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  int rc = verify(files, out);
  std::fclose(out);
  std::string s(buf, len);
  std::free(buf);
  return {rc, s};
}

}  // namespace

TEST_CASE("verify accepts an intact log and names each kind of tamper with its line") {
  TempDir t;
  fs::path f = t.path / "log.jsonl";
  auto lines = make_log(f);
  REQUIRE(lines.size() == 13);
  std::string name = f.string();

  auto [rc, out] = run_verify({name});
  CHECK(rc == 0);
  CHECK(out.find("OK: 13 records, 1 session") == 0);

  SUBCASE("edited") {
    auto l = lines;
    auto pos = l[4].find("/data/f3");
    REQUIRE(pos != std::string::npos);
    l[4].replace(pos, 8, "/data/XX");
    write_lines(f, l);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":5: hash mismatch") == 0);
  }
  SUBCASE("deleted") {
    auto l = lines;
    l.erase(l.begin() + 6);
    write_lines(f, l);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":7: seq jumps from 6 to 8") == 0);
  }
  SUBCASE("inserted (a copy of an earlier record)") {
    auto l = lines;
    l.insert(l.begin() + 8, lines[3]);
    write_lines(f, l);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":9: seq 4 where 9 was expected") == 0);
  }
  SUBCASE("inserted (forged)") {
    auto l = lines;
    l.insert(l.begin() + 2, R"({"v":1,"event":"decision"})");
    write_lines(f, l);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":3: record has no hash field") == 0);
  }
  SUBCASE("reordered") {
    auto l = lines;
    std::swap(l[5], l[6]);
    write_lines(f, l);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":6: seq jumps from 5 to 7") == 0);
    CHECK(out2.find(name + ":7: seq 6 where 8 was expected") != std::string::npos);
  }
  SUBCASE("truncated") {
    auto l = lines;
    l.resize(9);
    write_lines(f, l);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":9: session " ) == 0);
    CHECK(out2.find("is incomplete: no session_end after seq 9") != std::string::npos);
  }
  SUBCASE("last line cut short") {
    auto l = lines;
    l.back().resize(l.back().size() / 2);
    write_lines(f, l, false);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":13: last line cut short") == 0);
  }
  SUBCASE("first record deleted") {
    auto l = lines;
    l.erase(l.begin());
    write_lines(f, l);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":1: session ") == 0);
    CHECK(out2.find("starts at seq 2") != std::string::npos);
  }
  SUBCASE("record appended after session_end") {
    auto l = lines;
    l.push_back(lines[3]);
    write_lines(f, l);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":14: record after the session's session_end") == 0);
  }
  SUBCASE("edited and re-hashed record breaks the next link") {
    // Without a key anyone can recompute one hash; the chain still breaks at the next line.
    auto l = lines;
    std::string_view body, hash;
    std::string edited = l[4];
    edited.replace(edited.find("/data/f3"), 8, "/data/XX");
    std::string prev = l[3].substr(l[3].size() - 66, 64);
    std::string b = edited.substr(0, edited.size() - 75);
    std::string h = chain_hash_body(prev, b);
    l[4] = b + ",\"hash\":\"" + h + "\"}";
    write_lines(f, l);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
    CHECK(out2.find(name + ":6: hash mismatch") == 0);
  }
  SUBCASE("empty file") {
    write_lines(f, {}, false);
    auto [rc2, out2] = run_verify({name});
    CHECK(rc2 == 1);
  }
}

TEST_CASE("readers report malformed lines and go on") {
  TempDir t;
  fs::path f = t.path / "log.jsonl";
  auto lines = make_log(f);
  lines.insert(lines.begin() + 3, "not json at all");
  lines.insert(lines.begin() + 5, R"({"v":1,"seq":3,"path":"unterminated)");
  lines.insert(lines.begin() + 7, "");
  lines.insert(lines.begin() + 8, std::string("{\"v\":1,\"ctl\":\"a\x01b\"}"));
  write_lines(f, lines);
  RecordStreamStats st;
  std::uint64_t seen = 0;
  REQUIRE(for_each_record({f.string()}, [&](const LineRef&, const Record&) { ++seen; }, &st));
  CHECK(st.lines == 17);
  CHECK(st.malformed == 4);
  CHECK(seen == 13);
  std::vector<SessionDigest> sessions;
  REQUIRE(digest_logs({f.string()}, sessions, false));
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0].counts[0] == 6);
  CHECK(sessions[0].counts[1] == 4);
  CHECK(sessions[0].denials.size() == 4);
  CHECK(sessions[0].procs.at(100).status == 1);
  CHECK(sessions[0].procs.at(100).counts[1] == 2);
}

TEST_CASE("reader handles lines longer than its buffer and a missing file") {
  TempDir t;
  fs::path f = t.path / "big.jsonl";
  std::string big = "{\"v\":1,\"path\":\"" + std::string(3 << 20, 'x') + "\"}";
  write_lines(f, {big, big});
  std::uint64_t n = 0;
  REQUIRE(for_each_record({f.string()}, [&](const LineRef&, const Record& r) {
    n++;
    CHECK(r.str("path").size() == (3u << 20));
  }));
  CHECK(n == 2);
  CHECK_FALSE(for_each_line({(t.path / "missing").string()}, [](const LineRef&) {}).empty());
}

TEST_CASE("path globs and time normalisation") {
  CHECK(path_glob_match("/home/*/secret", "/home/u/secret"));
  CHECK_FALSE(path_glob_match("/home/*", "/home/u/secret"));
  CHECK(path_glob_match("/home/**", "/home/u/secret"));
  CHECK(path_glob_match("/home/**", "/home"));
  CHECK(path_glob_match("**/.env", "/a/b/.env"));
  CHECK(path_glob_match("/a/**/c", "/a/c"));
  CHECK(path_glob_match("/etc/{passwd,shadow}", "/etc/shadow"));
  CHECK(path_glob_match("/tmp/f?", "/tmp/f1"));
  CHECK_FALSE(path_glob_match("/tmp/f?", "/tmp/f12"));
  CHECK(path_glob_match("/x/{a,{b,c}}/y", "/x/c/y"));  // nested, as in profiles
  CHECK(path_glob_match("/a/\\*", "/a/*"));
  CHECK_FALSE(path_glob_match("/a/\\*", "/a/b"));
  CHECK(path_glob_match("/a/**/b/**", "/a/x/y/b"));
  CHECK_FALSE(path_glob_match("/a/*/b", "/a/x/y/b"));
  CHECK(check_glob("/a/{b,c}").empty());
  CHECK_FALSE(check_glob("/a/{b").empty());
  // Many wildcards against a long path: answered (a backtracking matcher never returns).
  std::string many = "/", longp = "/" + std::string(60, 'a');
  for (int i = 0; i < 12; ++i) many += "*a";
  CHECK_FALSE(path_glob_match(many + "*b", longp));
  CHECK(path_glob_match(many + "*", longp));
  CHECK(normalise_time("2026-11-23T20:00:00Z") == "2026-11-23T20:00:00.000000000Z");
  CHECK(normalise_time("2026-11-23T21:00:00.5+01:00") == "2026-11-23T20:00:00.500000000Z");
  CHECK(normalise_time("2026-11-23") == "2026-11-23T00:00:00.000000000Z");
  CHECK_FALSE(normalise_time("yesterday").has_value());
  CHECK_FALSE(normalise_time("2026-13-01").has_value());
  CHECK(shell_join({"sh", "-c", "cat a; it's"}) == "sh -c 'cat a; it'\\''s'");
}

TEST_CASE("summary json carries counts, denials and processes") {
  TempDir t;
  fs::path f = t.path / "log.jsonl";
  make_log(f);
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  CHECK(summary({f.string()}, out, true) == 0);
  std::fclose(out);
  std::string s(buf, len);
  std::free(buf);
  Record r;
  std::string err;
  REQUIRE(r.parse(s, err));
  CHECK(r.get("counts")->text == R"({"allow":6,"deny":4,"would-deny":0,"kill":0})");
  CHECK(r.str_array("argv") == std::vector<std::string>{"sh", "-c", "cat secret"});
  CHECK(r.get("complete")->text == "true");
}
