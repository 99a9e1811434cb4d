// Tests for the ask broker: the JSON Lines protocol (a test client on the socket answers once,
// always, deny, deny-always; bad lines; timeouts), the overlay file, and the terminal prompt
// driven through a pseudo-terminal.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <doctest/doctest.h>

#include "session/ask.hpp"
#include "session/cgroup.hpp"

using namespace guardian;
using namespace guardian::session;

namespace {

// A tiny poll loop standing in for the supervisor's.
struct MiniLoop {
  std::map<int, std::pair<int, std::function<void(short)>>> regs;  // handle -> (fd, cb)
  int next = 1;
  std::vector<std::uint64_t> resumed;
  std::vector<std::string> rules;
  LoopHooks hooks() {
    LoopHooks h;
    h.add = [this](int fd, std::function<void(short)> cb) {
      regs[next] = {fd, std::move(cb)};
      return next++;
    };
    h.remove = [this](int handle) { regs.erase(handle); };
    h.resume = [this](std::uint64_t key) { resumed.push_back(key); };
    h.in_session = [](pid_t) { return false; };
    h.add_rule = [this](const std::string& k, const std::string& p) { rules.push_back(k + " " + p); };
    return h;
  }
  // Serves until pred() or the time runs out.
  template <class P>
  bool run_until(P pred, int ms = 3000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::vector<pollfd> p;
      std::vector<int> handles;
      for (auto& [h, r] : regs) p.push_back({r.first, POLLIN, 0}), handles.push_back(h);
      ::poll(p.data(), p.size(), 20);
      for (std::size_t i = 0; i < p.size(); ++i)
        if (p[i].revents && regs.count(handles[i])) regs[handles[i]].second(p[i].revents);
    }
    return true;
  }
};

std::string tmpdir() {
  char t[] = "/tmp/guardian-ask-XXXXXX";
  REQUIRE(::mkdtemp(t));
  return t;
}

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  return fd;
}

// Reads lines from a client fd while serving the loop, until one contains `needle`.
std::string read_until(MiniLoop& loop, int fd, const std::string& needle, std::string& buf) {
  std::string found;
  loop.run_until([&] {
    char b[4096];
    ssize_t n = ::recv(fd, b, sizeof b, MSG_DONTWAIT);
    if (n > 0) buf.append(b, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (line.find(needle) != std::string::npos) {
        found = line;
        return true;
      }
    }
    return false;
  });
  return found;
}

void send_line(int fd, const std::string& s) {
  std::string l = s + "\n";
  REQUIRE(::send(fd, l.data(), l.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(l.size()));
}

decode::AskQuery query(std::uint64_t key, const std::string& path,
                       policy::Op op = policy::Op::read) {
  decode::AskQuery q;
  q.key = key;
  q.pid = ::getpid();
  q.tid = ::getpid();
  q.exe = "/usr/bin/cat";
  q.syscall = "openat";
  q.category = policy::Category::file;
  q.op = op;
  q.path = path;
  return q;
}

}  // namespace

TEST_CASE("answer lines parse strictly") {
  auto a = parse_answer(R"({"id": 7, "verdict": "deny-always"})");
  REQUIRE(a);
  CHECK(a.value().id == 7);
  CHECK(a.value().verdict == Verdict::deny_always);
  CHECK(parse_answer(R"({"verdict":"once","id":3,"note":"ok","x":null})"));
  CHECK_FALSE(parse_answer(R"({"id": 7})"));
  CHECK_FALSE(parse_answer(R"({"id": "7", "verdict": "once"})"));
  CHECK_FALSE(parse_answer(R"({"id": 7, "verdict": "maybe"})"));
  CHECK_FALSE(parse_answer("not json"));
  CHECK_FALSE(parse_answer(R"({"id": 7, "verdict": "once"} trailing)"));
}

TEST_CASE("requests are JSON Lines with the documented fields") {
  AskMessage m{4, query(9, "/etc/sh\"adow"), {"cat", "/etc/shadow"}, 30};
  std::string line = encode_request(m);
  CHECK(line.back() == '\n');
  CHECK(line.find(R"("type":"request","id":4,)") != std::string::npos);
  CHECK(line.find(R"("argv":["cat","/etc/shadow"])") != std::string::npos);
  CHECK(line.find(R"("path":"/etc/sh\"adow")") != std::string::npos);
  CHECK(line.find(R"("category":"file","op":"read")") != std::string::npos);
  CHECK(line.find(R"("timeout_s":30)") != std::string::npos);
}

TEST_CASE("the socket front end: once, always (saved), deny, deny-always, errors, timeout") {
  std::string dir = tmpdir();
  AskSettings s;
  s.socket_path = dir + "/ask.sock";
  s.save_path = dir + "/overlay.yaml";
  s.profile = "default";
  s.timeout_s = 0.5;
  MiniLoop loop;
  auto b = AskBroker::create(s, loop.hooks());
  REQUIRE(b);
  auto& broker = *b.value();
  CHECK(broker.describe() == "socket:" + s.socket_path);

  // A question asked before any client connects is sent on connect.
  CHECK(broker.consult(query(100, "/etc/secret")).answer == decode::Asker::Answer::pending);
  CHECK(broker.consult(query(100, "/etc/secret")).answer == decode::Asker::Answer::pending);
  int c = connect_to(s.socket_path);
  std::string buf;
  CHECK(read_until(loop, c, "\"hello\"", buf).find("\"protocol\":1") != std::string::npos);
  std::string req = read_until(loop, c, "\"request\"", buf);
  CHECK(req.find("\"path\":\"/etc/secret\"") != std::string::npos);
  CHECK(req.find("\"id\":1,") != std::string::npos);

  send_line(c, "{\"id\": 1, \"verdict\": \"bogus\"}");
  CHECK(read_until(loop, c, "\"error\"", buf).find("unknown verdict") != std::string::npos);
  send_line(c, "{\"id\": 99, \"verdict\": \"once\"}");
  CHECK(read_until(loop, c, "\"error\"", buf).find("no pending request 99") != std::string::npos);

  send_line(c, "{\"id\": 1, \"verdict\": \"once\"}");
  CHECK(read_until(loop, c, "\"resolved\"", buf).find("\"verdict\":\"once\"") != std::string::npos);
  REQUIRE(loop.resumed == std::vector<std::uint64_t>{100});
  CHECK(broker.consult(query(100, "/etc/secret")).answer == decode::Asker::Answer::allow);
  // Once means once: the same path asks again.
  CHECK(broker.consult(query(101, "/etc/secret")).answer == decode::Asker::Answer::pending);
  read_until(loop, c, "\"request\"", buf);
  send_line(c, "{\"id\": 2, \"verdict\": \"deny\"}");
  read_until(loop, c, "\"resolved\"", buf);
  CHECK(broker.consult(query(101, "/etc/secret")).answer == decode::Asker::Answer::deny);

  // Always: saved to the overlay, with the original as extends.
  CHECK(broker.consult(query(102, "/data/in.txt")).answer == decode::Asker::Answer::pending);
  CHECK(broker.consult(query(103, "/data/out.txt", policy::Op::write)).answer ==
        decode::Asker::Answer::pending);
  read_until(loop, c, "\"id\":4", buf);
  send_line(c, "{\"id\": 3, \"verdict\": \"always\"}");
  send_line(c, "{\"id\": 4, \"verdict\": \"deny-always\"}");
  loop.run_until([&] { return loop.resumed.size() == 4; });
  CHECK(broker.consult(query(102, "/data/in.txt")).answer == decode::Asker::Answer::allow);
  CHECK(loop.rules == std::vector<std::string>{"read /data/in.txt"});
  CHECK(broker.consult(query(103, "/data/out.txt", policy::Op::write)).answer ==
        decode::Asker::Answer::deny);
  // deny-always answers later requests at once.
  CHECK(broker.consult(query(104, "/data/out.txt", policy::Op::write)).answer ==
        decode::Asker::Answer::deny);
  std::string overlay = read_small_file(s.save_path);
  CHECK(overlay.find("extends: [\"default\"]") != std::string::npos);
  CHECK(overlay.find("files:\n  read:\n    - \"/data/in.txt\"\n  deny:\n    - \"/data/out.txt\"") !=
        std::string::npos);

  // Timeout: denied without an answer.
  CHECK(broker.consult(query(105, "/late")).answer == decode::Asker::Answer::pending);
  CHECK(read_until(loop, c, "\"by\":\"timeout\"", buf).find("\"id\":5") != std::string::npos);
  CHECK(broker.consult(query(105, "/late")).answer == decode::Asker::Answer::deny);
  ::close(c);

  // A second broker on the same overlay keeps what the first saved.
  b.value().reset();
  CHECK_FALSE(std::filesystem::exists(s.socket_path));
  Overlay again(s.save_path, "ignored");
  REQUIRE(again.load());
  CHECK(again.text().find("extends: [\"default\"]") != std::string::npos);
  CHECK_FALSE(again.add_allow({"read", "/data/in.txt"}));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the terminal prompt shows the request and takes an answer; a timeout denies") {
  int master = -1, slave = -1;
  char name[128];
  REQUIRE(::openpty(&master, &slave, name, nullptr, nullptr) == 0);
  AskSettings s;
  s.tty_path = name;
  s.timeout_s = 1;
  MiniLoop loop;
  auto b = AskBroker::create(s, loop.hooks());
  REQUIRE(b);
  auto& broker = *b.value();
  CHECK(broker.describe() == "terminal");
  CHECK(broker.consult(query(7, "/home/u/.ssh/id_rsa")).answer == decode::Asker::Answer::pending);
  std::string shown;
  REQUIRE(loop.run_until([&] {
    char buf[1024];
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) shown.append(buf, static_cast<std::size_t>(n));
    }
    return shown.find("al[w]ays?") != std::string::npos;
  }));
  CHECK(shown.find("/usr/bin/cat (pid ") != std::string::npos);
  CHECK(shown.find("wants to read /home/u/.ssh/id_rsa") != std::string::npos);
  CHECK(shown.find("syscall: openat") != std::string::npos);
  REQUIRE(::write(master, "x\n", 2) == 2);
  REQUIRE(::write(master, "o\n", 2) == 2);
  REQUIRE(loop.run_until([&] { return loop.resumed.size() == 1; }));
  CHECK(broker.consult(query(7, "/home/u/.ssh/id_rsa")).answer == decode::Asker::Answer::allow);
  CHECK(broker.consult(query(8, "/x")).answer == decode::Asker::Answer::pending);
  REQUIRE(loop.run_until([&] { return loop.resumed.size() == 2; }));
  CHECK(broker.consult(query(8, "/x")).answer == decode::Asker::Answer::deny);
  ::close(master);
  ::close(slave);
}

TEST_CASE("without a terminal or socket, asking denies at once") {
  AskSettings s;
  s.tty_path = "/nonexistent/tty";
  MiniLoop loop;
  auto b = AskBroker::create(s, loop.hooks());
  REQUIRE(b);
  CHECK(b.value()->describe() == "none");
  CHECK(b.value()->consult(query(1, "/x")).answer == decode::Asker::Answer::deny);
}

TEST_CASE("a question whose thread died is closed as gone") {
  std::string dir = tmpdir();
  AskSettings s;
  s.socket_path = dir + "/ask.sock";
  MiniLoop loop;
  auto b = AskBroker::create(s, loop.hooks());
  REQUIRE(b);
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  auto q = query(50, "/x");
  q.pid = q.tid = dead;
  CHECK(b.value()->consult(q).answer == decode::Asker::Answer::pending);
  int c = connect_to(s.socket_path);
  std::string buf;
  CHECK(read_until(loop, c, "\"by\":\"gone\"", buf).find("\"verdict\":\"deny\"") != std::string::npos);
  CHECK(b.value()->consult(q).answer == decode::Asker::Answer::deny);
  ::close(c);
  b.value().reset();
  std::filesystem::remove_all(dir);
}
