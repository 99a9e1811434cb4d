// Unit tests of the supervisor's pieces that need no child: the process table, the poll
// loop, COMMAND resolution (126/127) and the filter's ownership of argument-checked syscalls.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "decode/syscalls.hpp"
#include "seccomp/filter.hpp"
#include "session/command.hpp"
#include "session/event_loop.hpp"
#include "session/process_table.hpp"

using namespace guardian;

TEST_CASE("process table: a descriptor table is private only when known to be") {
  session::ProcessTable t;
  t.add(100, 100, 1, "/usr/bin/sh");
  CHECK_FALSE(t.fd_table_private(100));  // how it was made is not known yet
  t.confirm(100);
  CHECK(t.fd_table_private(100));
  CHECK_FALSE(t.fd_table_private(999));  // unknown thread
  t.add(101, 100, 1, "");                // a second thread shares it
  CHECK_FALSE(t.fd_table_private(100));
  CHECK_FALSE(t.fd_table_private(101));
  t.remove(101);
  CHECK(t.fd_table_private(100));
  t.add(200, 200, 100, "/usr/bin/sh");  // a child seen before its parent's fork event
  CHECK_FALSE(t.fd_table_private(200));
  t.mark_shared(200);  // clone(CLONE_FILES): both sides, for good
  t.mark_shared(100);
  t.confirm(200);
  CHECK_FALSE(t.fd_table_private(200));
  CHECK_FALSE(t.fd_table_private(100));
  // A new process given a reused pid starts afresh.
  t.remove(200);
  t.add(200, 200, 1, "/usr/bin/sh");
  t.confirm(200);
  CHECK(t.fd_table_private(200));
}

TEST_CASE("process table: memory is private after an exec, with one thread, until shared") {
  session::ProcessTable t;
  t.add(100, 100, 1, "/usr/bin/sh");
  t.confirm(100);
  CHECK_FALSE(t.memory_private(100));  // before its exec: a vfork child runs in its parent's
  t.new_image(100);
  CHECK(t.memory_private(100));
  CHECK_FALSE(t.memory_private(999));  // unknown thread
  t.add(101, 100, 1, "");              // a second thread runs in it
  CHECK_FALSE(t.memory_private(100));
  t.remove(101);
  CHECK(t.memory_private(100));
  t.mark_vm_shared(100);  // clone(CLONE_VM) of a process: until its next exec
  CHECK_FALSE(t.memory_private(100));
  t.new_image(100);
  CHECK(t.memory_private(100));
  t.mark_foreign(100);  // its execs may no longer reach us
  t.new_image(100);
  CHECK_FALSE(t.memory_private(100));
  // A reused pid starts afresh: not private before its own exec.
  t.remove(100);
  t.add(100, 100, 1, "/usr/bin/sh");
  CHECK_FALSE(t.memory_private(100));
}

TEST_CASE("process table: a vfork child and what it makes run in its parent's memory") {
  session::ProcessTable t;
  t.add(100, 100, 1, "/usr/bin/sh");
  t.new_image(100);
  CHECK(t.memory_private(100));
  // vfork: 200 runs in 100's memory until it execs or ends.
  t.add(200, 200, 100, "");
  t.borrow_vm(200, 100);
  CHECK_FALSE(t.memory_private(100));
  t.new_image(200);  // its exec: a memory of its own
  CHECK(t.memory_private(100));
  t.remove(200);
  CHECK(t.memory_private(100));
  // 201 makes a clone(CLONE_VM) process (300) and ends: 300 runs in 100's memory.
  t.add(201, 201, 100, "");
  t.borrow_vm(201, 100);
  t.add(300, 300, 201, "");
  t.mark_vm_shared(201);
  t.remove(201);
  CHECK_FALSE(t.memory_private(100));
  t.remove(300);
  t.new_image(100);
  CHECK(t.memory_private(100));
  // A vfork child of a vfork child (400 then 401), whose thread outlives them both.
  t.add(400, 400, 100, "");
  t.borrow_vm(400, 100);
  t.add(401, 401, 400, "");
  t.borrow_vm(401, 400);
  t.add(402, 401, 400, "");  // a thread of 401
  t.thread_made(401);
  t.remove(400);
  t.remove(401);
  CHECK_FALSE(t.memory_private(100));  // 402 lives on in 100's memory
  t.remove(402);
  t.new_image(100);
  CHECK(t.memory_private(100));
  // 401's vfork parent 400 killed while 401 runs: 100 goes on, 401 is still in its memory.
  t.add(400, 400, 100, "");
  t.borrow_vm(400, 100);
  t.add(401, 401, 400, "");
  t.borrow_vm(401, 400);
  t.remove(400);
  CHECK_FALSE(t.memory_private(100));
  t.new_image(401);
  CHECK(t.memory_private(100));
  t.remove(401);
  // A thread made before its parent's vfork event was seen (its first stop came first).
  t.add(500, 500, 100, "");
  t.add(501, 500, 100, "");
  t.borrow_vm(500, 100);
  t.remove(501);
  t.remove(500);
  CHECK_FALSE(t.memory_private(100));
  // A reused number is another process: an old borrower's end does not touch it.
  t.new_image(100);
  t.add(600, 600, 100, "");
  t.borrow_vm(600, 100);
  t.remove(100);
  t.add(100, 100, 1, "/usr/bin/sh");
  t.new_image(100);
  t.add(700, 700, 100, "");
  t.borrow_vm(700, 100);
  t.remove(600);
  CHECK_FALSE(t.memory_private(100));  // 700 still runs in it
  t.remove(700);
  CHECK(t.memory_private(100));
}

TEST_CASE("process table: threads, processes, exe inheritance and exec collapse") {
  session::ProcessTable t;
  t.add(100, 100, 1, "/usr/bin/sh");
  t.add(101, 100, 1, "");    // a thread of 100
  t.add(200, 200, 100, "/usr/bin/sh");  // a child process
  CHECK(t.in_session(101));
  CHECK(t.tgid_of(101) == 100);
  CHECK(t.ppid_of(200) == 100);
  CHECK(t.exe_of(101) == "/usr/bin/sh");
  auto procs = t.processes();
  std::sort(procs.begin(), procs.end());
  CHECK(procs == std::vector<pid_t>{100, 200});
  // exec by the leader: the other threads are gone
  t.exec_collapse(100);
  t.set_exe(100, "/usr/bin/python3");
  CHECK_FALSE(t.in_session(101));
  CHECK(t.exe_of(100) == "/usr/bin/python3");
  // the last thread leaving removes the process
  t.remove(100);
  CHECK_FALSE(t.in_session(100));
  CHECK(t.processes() == std::vector<pid_t>{200});
  t.remove(200);
  CHECK(t.empty());
  CHECK(t.tgid_of(999) == 0);
}

TEST_CASE("process table: the image number changes at exec and PID reuse, 0 once foreign") {
  session::ProcessTable t;
  t.add(100, 100, 1, "/usr/bin/sh");
  t.add(101, 100, 1, "");  // a thread: same memory, same number
  std::uint64_t first = t.image_of(100);
  CHECK(first != 0);
  CHECK(t.image_of(101) == first);
  t.add(200, 200, 100, "/usr/bin/sh");  // a vfork child: its own process, its own number
  std::uint64_t child = t.image_of(200);
  CHECK(child != 0);
  CHECK(child != first);
  t.new_image(200);  // the child execs: its number changes, the parent's does not
  CHECK(t.image_of(200) != child);
  CHECK(t.image_of(100) == first);
  t.exec_collapse(100);  // exec from a thread
  t.new_image(100);
  CHECK(t.image_of(100) != first);
  CHECK(t.image_of(101) == 0);  // gone with the exec
  // A reused PID is a new process, never the old number.
  std::uint64_t old = t.image_of(200);
  t.remove(200);
  CHECK(t.image_of(200) == 0);
  t.add(200, 200, 1, "/usr/bin/true");
  CHECK(t.image_of(200) != 0);
  CHECK(t.image_of(200) != old);
  // Handed to another tracer: its execs would not reach us.
  t.mark_foreign(200);
  CHECK(t.image_of(200) == 0);
  t.new_image(200);
  CHECK(t.image_of(200) == 0);
  CHECK(t.image_of(999) == 0);
}

TEST_CASE("event loop: callbacks run, may add and remove entries, stop ends run()") {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  session::EventLoop loop;
  int calls = 0, added_calls = 0;
  int h = -1;
  h = loop.add(p[0], POLLIN, [&](short) {
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    ++calls;
    // adding while iterating must be safe; the new entry is served from the next round
    loop.add(p[0], POLLIN, [&](short) { ++added_calls; loop.stop(); });
    loop.remove(h);
  });
  CHECK(write(p[1], "ab", 2) == 2);
  CHECK(loop.run());
  CHECK(calls == 1);
  CHECK(added_calls == 1);
  close(p[0]);
  close(p[1]);
}

TEST_CASE("event loop: ready entries are served in the order they were added") {
  int a[2], b[2];
  REQUIRE(pipe2(a, O_CLOEXEC) == 0);
  REQUIRE(pipe2(b, O_CLOEXEC) == 0);
  session::EventLoop loop;
  std::string order;
  loop.add(b[0], POLLIN, [&](short) { order += 'b'; char c; CHECK(read(b[0], &c, 1) == 1); });
  int ha = loop.add(a[0], POLLIN, [&](short) { order += 'a'; char c; CHECK(read(a[0], &c, 1) == 1); });
  // Made ready in the other order: the supervisor relies on registration order (its ptrace
  // stops before its notifications).
  CHECK(write(a[1], "x", 1) == 1);
  CHECK(write(b[1], "x", 1) == 1);
  CHECK(loop.run_once(1000));
  CHECK(order == "ba");
  // Hang-ups reach the callback as POLLHUP.
  loop.remove(ha);
  close(a[1]);
  short got = 0;
  int h = loop.add(a[0], POLLIN, [&](short rev) { got = rev; });
  CHECK(loop.run_once(1000));
  CHECK((got & POLLHUP) != 0);
  loop.remove(h);
  for (int fd : {a[0], b[0], b[1]}) close(fd);
}

TEST_CASE("event loop: an entry with an `active` flag is polled only while it is true") {
  int a[2], b[2];
  REQUIRE(pipe2(a, O_CLOEXEC) == 0);
  REQUIRE(pipe2(b, O_CLOEXEC) == 0);
  session::EventLoop loop;
  bool active = false;
  int a_calls = 0, b_calls = 0;
  loop.add(a[0], POLLIN, [&](short) { ++a_calls; char c; CHECK(read(a[0], &c, 1) == 1); }, &active);
  loop.add(b[0], POLLIN, [&](short) { ++b_calls; char c; CHECK(read(b[0], &c, 1) == 1); });
  // Ready but inactive: not served, and it does not wake the loop (the timeout ends it).
  CHECK(write(a[1], "x", 1) == 1);
  CHECK(loop.run_once(50));
  CHECK(a_calls == 0);
  CHECK(write(b[1], "x", 1) == 1);
  CHECK(loop.run_once(1000));
  CHECK(b_calls == 1);
  CHECK(a_calls == 0);
  // Made active: what became ready meanwhile is served at the next round.
  active = true;
  CHECK(loop.run_once(1000));
  CHECK(a_calls == 1);
  for (int fd : {a[0], a[1], b[0], b[1]}) close(fd);
}

TEST_CASE("command resolution decides 126 and 127 like execvp") {
  char dir[] = "/tmp/guardian-ut.XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::string d = dir;
  { std::ofstream(d + "/plain") << "echo hi\n"; }
  { std::ofstream(d + "/tool") << "#!/bin/sh\n"; }
  chmod((d + "/tool").c_str(), 0755);
  auto r = session::resolve_command("tool", "/nonexistent:" + d);
  CHECK(r.status == 0);
  CHECK(r.path == d + "/tool");
  CHECK(session::resolve_command("plain", d).status == 126);
  CHECK(session::resolve_command("no-such-tool", d).status == 127);
  CHECK(session::resolve_command(d + "/missing", "").status == 127);
  CHECK(session::resolve_command(d, "").status == 126);  // a directory
  CHECK(session::resolve_command("", d).status == 127);
  unlink((d + "/plain").c_str());
  unlink((d + "/tool").c_str());
  rmdir(dir);
}

TEST_CASE("filter: builds from the table, with and without metadata: open") {
  auto checked = seccomp::build_filter(decode::syscall_table(), {});
  REQUIRE(checked);
  seccomp::FilterOptions open;
  open.metadata_open = true;
  auto meta = seccomp::build_filter(decode::syscall_table(), open);
  REQUIRE(meta);
  // stat-family calls are not trapped under metadata: open: a shorter program
  CHECK(meta.value().insns.size() < checked.value().insns.size());
  // argument-checked syscalls are the filter's, whatever the table says
  CHECK(seccomp::filter_owns(SYS_ioctl));
  CHECK(seccomp::filter_owns(SYS_clone3));
  CHECK(seccomp::filter_owns(SYS_sendto));
  CHECK_FALSE(seccomp::filter_owns(SYS_openat));
}

TEST_CASE("process table: walk-private processes, continued walks and their settling") {
  session::ProcessTable t;
  t.add(100, 100, 1, "/usr/bin/sh");
  t.confirm(100);
  t.new_image(100);
  t.add(200, 200, 100, "/usr/bin/git");
  t.confirm(200);
  t.new_image(200);
  CHECK(t.memory_quiet(200));
  CHECK(t.fd_table_private(200));
  // No way to wait for a walk: none may be let go.
  CHECK_FALSE(t.walk_private(200));
  std::vector<std::vector<pid_t>> asked;
  t.set_settle([&](const std::vector<pid_t>& tids) { asked.push_back(tids); });
  CHECK(t.walk_private(200));
  CHECK(t.walk_private(100));
  // A renamer waits only for the others' walks, once; a thread seen again is done.
  t.walk_continued(200);
  t.walk_continued(100);
  t.settle_walks(100);
  REQUIRE(asked.size() == 1);
  CHECK(asked[0] == std::vector<pid_t>{200});
  CHECK(t.walks_in_flight() == 0);
  t.walk_continued(200);
  t.task_seen(200);
  t.settle_walks(100);
  CHECK(asked.size() == 1);
  t.walk_continued(200);
  t.remove(200);  // gone
  t.settle_walks(100);
  CHECK(asked.size() == 1);
  // Sharing the cwd or the table (CLONE_FS, CLONE_FILES: mark_shared), a second thread,
  // another task in its memory: not walk-private.
  t.add(300, 300, 100, "/usr/bin/cat");
  t.confirm(300);
  t.new_image(300);
  CHECK(t.walk_private(300));
  t.mark_shared(300);
  CHECK_FALSE(t.walk_private(300));
  t.add(301, 100, 1, "");
  CHECK_FALSE(t.walk_private(100));
  t.remove(301);
  CHECK(t.walk_private(100));
  t.mark_vm_shared(100);
  CHECK_FALSE(t.walk_private(100));
}
