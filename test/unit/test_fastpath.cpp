// The fast path's pieces that need no kernel help: the profile snapshot (an engine built
// from it decides and numbers rules exactly like the original), the ring protocol (claim,
// publish, full, a dead writer's claim), and FastPathLog turning ring slots into records.
#include <doctest/doctest.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <vector>

#include "context/fastpath.hpp"
#include "policy/engine.hpp"
#include "policy/file_ops.hpp"
#include "policy/snapshot.hpp"
#include "policy_fixture.hpp"
#include "preload/fastpath_ring.hpp"

using namespace guardian;
using policy::Op;
using policy::Verdict;

namespace {

const char* kProfile = R"(version: 1
name: snap
files:
  read: ["/g/proj/**", "/usr/**"]
  write: ["/g/proj/out/**"]
  deny: ["/g/proj/secret*"]
  deny_write: ["/g/proj/.git/hooks/**"]
exec:
  allow: ["/usr/bin/*"]
network:
  connect: ["127.0.0.1:80"]
deny_errno: EPERM
)";

struct Ring {
  void* mem;
  Ring() {
    mem = mmap(nullptr, GFAST_RING_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fastpath::ring_init(mem);
  }
  ~Ring() { munmap(mem, GFAST_RING_BYTES); }
};

class FakeLog : public audit::AuditLog {
 public:
  void session_start(const audit::SessionStart&) override {}
  void decision(const audit::DecisionRecord& r) override {
    std::lock_guard lk(mu);
    recs.push_back(r);
    rules.push_back(r.rule ? r.rule->pattern : std::string("-"));
  }
  void process(const audit::ProcessRecord&) override {}
  void limit(const audit::LimitRecord&) override {}
  void session_end(const audit::SessionEnd&) override {}
  void flush() override {}
  std::string denial_summary() const override { return {}; }
  std::mutex mu;
  std::vector<audit::DecisionRecord> recs;
  std::vector<std::string> rules;
};

// Writes one record the way the shim does.
bool put(void* ring, std::uint32_t tid, const char* raw, const char* path, std::uint32_t rule, Op op) {
  std::uint64_t pos = 0;
  gfast_slot* s = fastpath::ring_claim(ring, tid, &pos);
  if (!s) return false;
  s->pid = static_cast<std::int32_t>(getpid());
  s->tid = static_cast<std::int32_t>(tid);
  s->nr = 257;  // openat
  s->op = static_cast<std::uint8_t>(op);
  s->rule = rule;
  std::size_t rl = std::strlen(raw), pl = std::strlen(path);
  s->flags = GFAST_F_RAW;
  s->raw_len = static_cast<std::uint16_t>(rl);
  s->path_len = static_cast<std::uint16_t>(pl);
  std::memcpy(s->text, raw, rl);
  std::memcpy(s->text + rl, path, pl);
  return fastpath::ring_publish(s, pos, tid, true);
}

}  // namespace

TEST_CASE("a ring in zeroed memory needs no slot set-up: one full lap, then the next") {
  void* mem = mmap(nullptr, GFAST_RING_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  fastpath::ring_init(mem);
  CHECK(static_cast<gfast_ring*>(mem)->magic == GFAST_RING_MAGIC);
  std::uint64_t pos = 99;
  unsigned claimed = 0;
  for (unsigned i = 0; i < GFAST_SLOTS + 5; ++i)
    if (fastpath::ring_claim(mem, 42, &pos)) ++claimed;
  CHECK(claimed == GFAST_SLOTS);  // every zero slot is FREE for lap 0; then the ring is full
  std::uint32_t tid = 0;
  CHECK(fastpath::ring_peek(mem, 0, &tid) == fastpath::Peek::busy);
  CHECK(tid == 42);
  // The reader frees position 0 for lap 1: exactly one more claim, at GFAST_SLOTS.
  REQUIRE(fastpath::ring_publish(fastpath::slot_at(mem, 0), 0, 42, false));
  REQUIRE(fastpath::ring_release(mem, 0, fastpath::slot_state(mem, 0)));
  REQUIRE(fastpath::ring_claim(mem, 43, &pos) != nullptr);
  CHECK(pos == GFAST_SLOTS);
  CHECK(fastpath::ring_claim(mem, 43, &pos) == nullptr);
  CHECK(fastpath::ring_peek(mem, GFAST_SLOTS, &tid) == fastpath::Peek::busy);
  CHECK(fastpath::ring_peek(mem, 1, &tid) == fastpath::Peek::busy);
  munmap(mem, GFAST_RING_BYTES);
}

TEST_CASE("an engine built from the snapshot decides and numbers rules like the original") {
  test::TempDir d;
  std::string err;
  auto p = test::load_text(d, kProfile, &err);
  REQUIRE_MESSAGE(p, err);
  policy::Engine original(*p);
  original.add_rule("write", "/g/tmp/**");  // --allow-write: part of the snapshot too
  auto canonical = context::FastPathSession::canonical(original);
  policy::Profile decoded;
  REQUIRE(policy::decode_snapshot(policy::encode_snapshot(original.profile()), decoded));
  policy::Engine shim(decoded);

  const std::pair<Op, const char*> queries[] = {
      {Op::read, "/g/proj/a.c"},       {Op::write, "/g/proj/a.c"},     {Op::write, "/g/proj/out/x.o"},
      {Op::read, "/g/proj/secret.txt"}, {Op::write, "/g/proj/.git/hooks/pre-commit"},
      {Op::stat, "/g"},                {Op::stat, "/etc/passwd"},      {Op::write, "/g/tmp/t"},
      {Op::exec, "/usr/bin/cc"},       {Op::read, "/usr/lib/x.so"},
  };
  for (auto [op, path] : queries) {
    auto q = test::file_req(op, path, path, true);
    auto a = canonical->decide(q), b = shim.decide(q), o = original.decide(q);
    CAPTURE(path);
    CHECK(a.verdict == b.verdict);
    CHECK(a.verdict == o.verdict);
    CHECK(a.err == b.err);
    CHECK(canonical->rule_id(a.rule) == shim.rule_id(b.rule));
    // The supervisor turns the shim's number back into the same rule.
    const policy::RuleOrigin* back = canonical->rule_by_id(shim.rule_id(b.rule));
    CHECK(back == a.rule);
  }
  CHECK(shim.decide(test::file_req(Op::read, "/g/proj/secret.txt")).err == 1);  // EPERM
  CHECK(shim.rule_by_id(0) == nullptr);
  CHECK(shim.rule_by_id(100000) == nullptr);
}

TEST_CASE("a damaged snapshot is refused") {
  test::TempDir d;
  auto p = test::load_text(d, kProfile);
  REQUIRE(p);
  std::string snap = policy::encode_snapshot(*p);
  policy::Profile out;
  CHECK(policy::decode_snapshot(snap, out));
  CHECK_FALSE(policy::decode_snapshot(snap.substr(0, snap.size() - 3), out));
  CHECK_FALSE(policy::decode_snapshot(snap + "x", out));
  std::string bad = snap;
  bad[0] ^= 1;  // magic
  CHECK_FALSE(policy::decode_snapshot(bad, out));
  bad = snap;
  std::uint32_t huge = 0xfffffff0u;
  std::memcpy(bad.data() + 8, &huge, 4);  // the first list's count
  CHECK_FALSE(policy::decode_snapshot(bad, out));
}

TEST_CASE("open flags map to the same op for the supervisor and the shim") {
  CHECK(policy::open_op(O_RDONLY) == Op::read);
  CHECK(policy::open_op(O_RDONLY | O_DIRECTORY | O_CLOEXEC) == Op::read);
  CHECK(policy::open_op(O_WRONLY) == Op::write);
  CHECK(policy::open_op(O_RDWR) == Op::write);
  CHECK(policy::open_op(O_RDONLY | O_CREAT) == Op::write);
  CHECK(policy::open_op(O_RDONLY | O_TRUNC) == Op::write);
  CHECK(policy::open_op(O_TMPFILE | O_RDWR) == Op::write);
  CHECK(policy::open_op(O_PATH) == Op::stat);
  CHECK(policy::open_op(O_PATH | O_CREAT) == Op::stat);
}

TEST_CASE("ring: claimed slots are published in order; a full ring refuses a claim") {
  Ring r;
  std::uint64_t pos = 99;
  gfast_slot* a = fastpath::ring_claim(r.mem, 11, &pos);
  REQUIRE(a);
  CHECK(pos == 0);
  gfast_slot* b = fastpath::ring_claim(r.mem, 12, &pos);
  REQUIRE(b);
  CHECK(pos == 1);
  std::uint32_t tid = 0;
  CHECK(fastpath::ring_peek(r.mem, 0, &tid) == fastpath::Peek::busy);
  CHECK(tid == 11);
  CHECK(fastpath::ring_publish(b, 1, 12, true));
  CHECK(fastpath::ring_peek(r.mem, 0, nullptr) == fastpath::Peek::busy);  // in order
  CHECK(fastpath::ring_publish(a, 0, 11, false));
  CHECK(fastpath::ring_peek(r.mem, 0, nullptr) == fastpath::Peek::void_);
  CHECK(fastpath::ring_release(r.mem, 0, fastpath::slot_state(r.mem, 0)));
  CHECK(fastpath::ring_peek(r.mem, 1, nullptr) == fastpath::Peek::ready);
  CHECK(fastpath::ring_release(r.mem, 1, fastpath::slot_state(r.mem, 1)));
  CHECK(fastpath::ring_peek(r.mem, 2, nullptr) == fastpath::Peek::empty);

  // Fill every slot: the next claim fails (the caller asks the supervisor instead).
  for (std::uint32_t i = 0; i < GFAST_SLOTS; ++i) {
    gfast_slot* s = fastpath::ring_claim(r.mem, 7, &pos);
    REQUIRE(s);
    fastpath::ring_publish(s, pos, 7, true);
  }
  CHECK(fastpath::ring_claim(r.mem, 7, &pos) == nullptr);
  // Consuming one frees one.
  CHECK(fastpath::ring_release(r.mem, 2, fastpath::slot_state(r.mem, 2)));
  CHECK(fastpath::ring_claim(r.mem, 7, &pos) != nullptr);
  CHECK(pos == GFAST_SLOTS + 2);
}

TEST_CASE("ring: a claim the reader gave up on cannot be published") {
  Ring r;
  std::uint64_t pos = 0;
  gfast_slot* s = fastpath::ring_claim(r.mem, 5, &pos);
  REQUIRE(s);
  CHECK(fastpath::ring_release(r.mem, pos, fastpath::slot_state(r.mem, pos)));
  CHECK_FALSE(fastpath::ring_publish(s, pos, 5, true));
}

TEST_CASE("FastPathLog writes ring records as decision records via preload, keeping rules") {
  test::TempDir d;
  auto p = test::load_text(d, kProfile);
  REQUIRE(p);
  policy::Engine engine(*p);
  std::string snap = policy::encode_snapshot(engine.profile());
  auto q = test::file_req(Op::read, "/g/proj/a.c", "/g/proj/a.c", true);
  std::uint32_t rule = engine.rule_id(engine.decide(q).rule);
  REQUIRE(rule != 0);

  auto inner = std::make_unique<FakeLog>();
  FakeLog* fake = inner.get();
  {
    // The log owns (and unmaps) the mapping it is given.
    void* mine = mmap(nullptr, GFAST_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fastpath::ring_init(mine);
    context::FastPathLog log(std::move(inner), mine, snap);
    auto tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
    REQUIRE(put(mine, tid, "a.c", "/g/proj/a.c", rule, Op::read));
    // A claim by a thread that no longer exists (tid 0x3ffffffe is never alive) is skipped
    // at the end; records after it are still written.
    std::uint64_t pos = 0;
    REQUIRE(fastpath::ring_claim(mine, 0x3ffffffe, &pos));
    REQUIRE(put(mine, tid, "/usr/lib/x.so", "/usr/lib/x.so", 0, Op::stat));
    log.session_end(audit::SessionEnd{});
    CHECK(log.drained() == 2);
    std::lock_guard lk(fake->mu);
    REQUIRE(fake->recs.size() == 2);
    CHECK(fake->recs[0].via == "preload");
    CHECK(fake->recs[0].path == "/g/proj/a.c");
    CHECK(fake->recs[0].raw_path == "a.c");
    CHECK(fake->recs[0].syscall == "openat");
    CHECK(fake->recs[0].decision == Verdict::allow);
    CHECK(fake->rules[0] == "/g/proj/**");
    CHECK(fake->recs[1].op == Op::stat);
    CHECK(fake->rules[1] == "-");
  }
}

// The drain sleeps on the ring's doorbell once the ring stays empty (no 200 wake-ups a
// second in a session whose shims record nothing), and the writer that publishes the next
// record wakes it: that record is written at once, not at the sleep's 1 s time-out.
TEST_CASE("FastPathLog sleeps on the doorbell when idle and a published record wakes it") {
  test::TempDir d;
  auto p = test::load_text(d, kProfile);
  REQUIRE(p);
  policy::Engine engine(*p);
  std::string snap = policy::encode_snapshot(engine.profile());
  auto inner = std::make_unique<FakeLog>();
  FakeLog* fake = inner.get();
  void* mine = mmap(nullptr, GFAST_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mine != MAP_FAILED);
  fastpath::ring_init(mine);
  auto* hdr = static_cast<gfast_ring*>(mine);
  context::FastPathLog log(std::move(inner), mine, snap);
  auto asleep = [&] {
    for (int i = 0; i < 400; ++i) {
      if (__atomic_load_n(&hdr->drain_asleep, __ATOMIC_ACQUIRE) == 1) return true;
      usleep(5000);
    }
    return false;
  };
  auto tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
  for (int round = 0; round < 3; ++round) {
    REQUIRE(asleep());
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(put(mine, tid, "a.c", "/g/proj/a.c", 0, Op::read));
    // The shim's side (FastPath::finish): one writer swaps the word and wakes the drain.
    REQUIRE(fastpath::ring_bell(mine));
    CHECK_FALSE(fastpath::ring_bell(mine));  // only one wake per sleep
    syscall(SYS_futex, &hdr->drain_asleep, FUTEX_WAKE, 1, nullptr, nullptr, 0);
    bool seen = false;
    while (!seen && std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(900)) {
      {
        std::lock_guard lk(fake->mu);
        seen = fake->recs.size() == static_cast<std::size_t>(round + 1);
      }
      if (!seen) usleep(1000);
    }
    CHECK(seen);
  }
  // With nothing asleep, publishing wakes no one.
  REQUIRE(asleep());
  __atomic_store_n(&hdr->drain_asleep, 0u, __ATOMIC_RELEASE);
  CHECK_FALSE(fastpath::ring_bell(mine));
}

// The quick routes (the fast path's in-process decisions, the supervisor's continued opens)
// leave only /dev/shm names that base's shared-object rules could allow (sem.*, pym-*) or
// that only a full resolution can place to the supervisor's own_shm; a project or scratch
// tree on that tmpfs keeps them.
TEST_CASE("shm_shared_name: base's shared objects and unplaceable names, nothing else") {
  using guardian::policy::shm_shared_name;
  CHECK(shm_shared_name("/dev/shm/sem.mp-1234"));
  CHECK(shm_shared_name("/dev/shm/pym-99-abcd"));
  CHECK(shm_shared_name("/dev/shm/./sem.x"));
  CHECK(shm_shared_name("/dev/shm/../shm/sem.x"));
  CHECK(shm_shared_name("/dev/shm//sem.x"));
  CHECK_FALSE(shm_shared_name("/dev/shm/project/sem.x"));
  CHECK_FALSE(shm_shared_name("/dev/shm/guardian-bench.1/repo/f.txt"));
  CHECK_FALSE(shm_shared_name("/dev/shm"));
  CHECK_FALSE(shm_shared_name("/tmp/sem.x"));
}
