// The fast path's engine image (preload/fastpath_image.cpp): an engine written once and
// loaded elsewhere — moved to another address, or mapped where the builder had it in
// another process — decides and numbers rules exactly as an engine built from the
// snapshot; an image that is not sealed, or is damaged, is refused.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "policy/engine.hpp"
#include "policy/snapshot.hpp"
#include "policy_fixture.hpp"
#include "preload/fastpath_image.hpp"
#include "preload/fastpath_protocol.h"

using namespace guardian;
using policy::Op;

namespace {

const char* kProfile = R"(version: 1
name: image
files:
  read: ["/g/proj/**", "/usr/**", "/etc/{passwd,group}", "/opt/*/lib/*.so*"]
  write: ["/g/proj/out/**", "/g/tmp/**"]
  deny: ["/g/proj/secret*", "**/.env"]
  deny_write: ["/g/proj/.git/hooks/**"]
exec:
  allow: ["/usr/bin/*"]
  deny: ["/usr/bin/nc*"]
network:
  connect: ["127.0.0.1:80", "*.example.com:443"]
deny_errno: EPERM
)";

const std::pair<Op, const char*> kQueries[] = {
    {Op::read, "/g/proj/a.c"},        {Op::write, "/g/proj/a.c"},      {Op::write, "/g/proj/out/x.o"},
    {Op::read, "/g/proj/secret.txt"}, {Op::write, "/g/proj/.git/hooks/pre-commit"},
    {Op::stat, "/g"},                 {Op::stat, "/etc/passwd"},       {Op::read, "/etc/shadow"},
    {Op::write, "/g/tmp/t"},          {Op::exec, "/usr/bin/cc"},       {Op::exec, "/usr/bin/ncat"},
    {Op::read, "/usr/lib/x.so"},      {Op::read, "/opt/a/lib/libz.so.1"}, {Op::read, "/g/proj/sub/.env"},
    {Op::stat, "/opt"},               {Op::read, "/nowhere"},
};

int image_memfd(std::size_t size) {
  int fd = static_cast<int>(syscall(SYS_memfd_create, "test-image", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0)
    return -1;
  return fd;
}

// The answers of `e` to kQueries, as text: verdict, errno, rule number and pattern.
std::string answers(const policy::Engine& e) {
  std::string out;
  for (auto [op, path] : kQueries) {
    auto d = e.decide(test::file_req(op, path, path, true));
    out += std::string(path) + " " + std::string(policy::to_string(d.verdict)) + " " + std::to_string(d.err) + " " +
           std::to_string(e.rule_id(d.rule)) + " " + (d.rule ? d.rule->pattern : std::string("-")) + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("an engine image loads elsewhere and decides like an engine built from the snapshot") {
  test::TempDir d;
  std::string err;
  auto p = test::load_text(d, kProfile, &err);
  REQUIRE_MESSAGE(p, err);
  const std::string snap = policy::encode_snapshot(policy::Engine(*p).profile());
  policy::Profile decoded;
  REQUIRE(policy::decode_snapshot(snap, decoded));
  const policy::Engine reference(decoded);
  const std::string want = answers(reference);

  const std::size_t size = GFAST_IMAGE_DATA + 64 * snap.size() + 1024 * 1024;
  int fd = image_memfd(size);
  REQUIRE(fd >= 0);
  // Not written yet: nothing to load.
  CHECK(fastpath::image_load(fd, size, snap.size()) == nullptr);
  const policy::Engine* built = fastpath::image_build(fd, size, snap);
  REQUIRE(built != nullptr);
  CHECK(answers(*built) == want);
  CHECK((fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE) != 0);
  // Here the builder's address is taken (by the build itself): a moved copy.
  const policy::Engine* moved = fastpath::image_load(fd, size, snap.size());
  REQUIRE(moved != nullptr);
  CHECK(moved != built);
  CHECK(answers(*moved) == want);
  CHECK(moved->profile().deny_errno == 1);
  // Every pointer moved: no word of the copy still points where the builder had it.
  {
    gfast_image hh;
    REQUIRE(pread(fd, &hh, sizeof hh, 0) == static_cast<ssize_t>(sizeof hh));
    const auto* words = reinterpret_cast<const std::uint64_t*>(reinterpret_cast<const char*>(moved) - hh.engine_off);
    std::size_t stale = 0;
    for (std::size_t i = 0; i < hh.used / 8; ++i) stale += words[i] >= hh.base && words[i] <= hh.base + hh.used;
    CHECK(stale == 0);
    CHECK(hh.nrelocs > 100);
  }
  // A snapshot of another size is another profile: refused.
  CHECK(fastpath::image_load(fd, size, snap.size() + 1) == nullptr);

  // In another process where the address is free: mapped in place, the same answers.
  gfast_image h;
  REQUIRE(pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h));
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    munmap(reinterpret_cast<void*>(h.base), (h.used + 4095) / 4096 * 4096);
    const policy::Engine* there = fastpath::image_load(fd, size, snap.size());
    std::string got = there == nullptr ? "none"
                      : reinterpret_cast<std::uint64_t>(there) != h.base + h.engine_off ? "moved"
                                                                                        : answers(*there);
    (void)!write(pipefd[1], got.data(), got.size());
    _exit(0);
  }
  close(pipefd[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  close(pipefd[0]);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(got == want);
  close(fd);
}

TEST_CASE("an image that is not sealed, or damaged, is refused") {
  test::TempDir d;
  std::string err;
  auto p = test::load_text(d, kProfile, &err);
  REQUIRE_MESSAGE(p, err);
  const std::string snap = policy::encode_snapshot(policy::Engine(*p).profile());
  const std::size_t size = GFAST_IMAGE_DATA + 64 * snap.size() + 1024 * 1024;

  // Written as a builder would, but never sealed against writing.
  int fd = image_memfd(size);
  REQUIRE(fd >= 0);
  REQUIRE(fastpath::image_build(fd, size, snap) != nullptr);
  int copy = image_memfd(size);
  REQUIRE(copy >= 0);
  std::vector<char> bytes(size);
  REQUIRE(pread(fd, bytes.data(), size, 0) == static_cast<ssize_t>(size));
  REQUIRE(pwrite(copy, bytes.data(), size, 0) == static_cast<ssize_t>(size));
  CHECK(fastpath::image_load(copy, size, snap.size()) == nullptr);

  // A pointer index out of the engine's bytes, then sealed: refused.
  gfast_image h;
  std::memcpy(&h, bytes.data(), sizeof h);
  REQUIRE(h.nrelocs > 0);
  const std::size_t rel_at = GFAST_IMAGE_DATA + (h.used + 7) / 8 * 8;
  const std::uint32_t bad = static_cast<std::uint32_t>(h.used);  // a word index past the end
  REQUIRE(pwrite(copy, &bad, sizeof bad, static_cast<off_t>(rel_at)) == sizeof bad);
  REQUIRE(fcntl(copy, F_ADD_SEALS, F_SEAL_WRITE) == 0);
  // (The builder's own address is taken here, so the loader must move the copy and finds
  // the damage.)
  CHECK(fastpath::image_load(copy, size, snap.size()) == nullptr);
  close(copy);
  close(fd);
}
