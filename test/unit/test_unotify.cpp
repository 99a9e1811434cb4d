// Listener::HoldChooser: the per-ADDFD choice of keeping the tracee on the supervisor's CPU
// follows what each way costs, and keeps looking at the other way as the load changes.
#include <doctest/doctest.h>

#include <cstdint>

#include "seccomp/unotify.hpp"

using guardian::seccomp::Listener;

namespace {
// Runs n ADDFDs costing `with` ns held and `without` ns not held; counts the held ones.
int run(Listener::HoldChooser& c, int n, std::int64_t with, std::int64_t without) {
  int held = 0;
  for (int i = 0; i < n; ++i) {
    bool h = c.next();
    held += h;
    c.record(h, h ? with : without);
  }
  return held;
}
}  // namespace

TEST_CASE("hold chooser: keeps the hold where it is cheaper, samples the other way rarely") {
  Listener::HoldChooser c;
  CHECK(c.holding());  // the idle machine's choice until measured
  int held = run(c, 1000, 4'000, 30'000);
  CHECK(c.holding());
  CHECK(held >= 980);  // the losing way is tried at most every 8th..128th time
  CHECK(held < 1000);  // but it is tried
}

TEST_CASE("hold chooser: drops the hold when it costs more, and takes it back when the load changes") {
  Listener::HoldChooser c;
  run(c, 50, 20'000, 12'000);  // busy machine: the hold makes the tracee wait for our CPU
  CHECK_FALSE(c.holding());
  int held = run(c, 1000, 20'000, 12'000);
  CHECK(held <= 20);
  run(c, 300, 4'000, 30'000);  // the machine went idle
  CHECK(c.holding());
}

TEST_CASE("hold chooser: one stalled ADDFD does not decide") {
  Listener::HoldChooser c;
  run(c, 200, 4'000, 30'000);
  REQUIRE(c.holding());
  // A preemption in the middle of a held ADDFD: a huge sample, capped, smoothed away.
  c.record(true, 50'000'000);
  run(c, 200, 4'000, 30'000);
  CHECK(c.holding());
}
