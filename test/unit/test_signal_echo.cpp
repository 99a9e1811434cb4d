// SignalEcho: the copy of a signal that reaches the command through a group-wide kill and
// the copy guardian forwards are one signal, whichever comes first; other signals are not
// touched.
#include "session/signal_echo.hpp"

#include <doctest/doctest.h>

#include <csignal>

using guardian::session::SignalEcho;

namespace {
constexpr pid_t kSelf = 100, kSender = 200, kOther = 300;
constexpr std::int64_t kMs = 1'000'000;
}  // namespace

TEST_CASE("the group's copy taken first: guardian does not forward its own") {
  SignalEcho e(kSelf);
  CHECK(e.deliver(SIGINT, kSender, 0, 0));
  CHECK_FALSE(e.forward(SIGINT, kSender, 2 * kMs));
  // The pairing is used up: the next signal from the sender is forwarded.
  CHECK(e.forward(SIGINT, kSender, 3 * kMs));
}

TEST_CASE("forwarded, then the group's copy: the second one taken is dropped") {
  SignalEcho e(kSelf);
  CHECK(e.forward(SIGINT, kSender, 0));
  CHECK(e.deliver(SIGINT, kSelf, 0, 1 * kMs));        // ours first
  CHECK_FALSE(e.deliver(SIGINT, kSender, 0, 2 * kMs));  // the group's: an echo
  // ...the other order.
  CHECK(e.forward(SIGHUP, kSender, 10 * kMs));
  CHECK(e.deliver(SIGHUP, kSender, 0, 11 * kMs));
  CHECK_FALSE(e.deliver(SIGHUP, kSelf, 0, 12 * kMs));
}

TEST_CASE("forwarded and merged into the group's copy: that one is delivered") {
  SignalEcho e(kSelf);
  CHECK(e.forward(SIGQUIT, kSender, 0));
  CHECK(e.deliver(SIGQUIT, kSender, 0, 1 * kMs));
  // Ours never comes (merged while pending); a later signal from the sender goes through.
  CHECK(e.forward(SIGQUIT, kSender, 2 * kSelf * kMs));
  CHECK(e.deliver(SIGQUIT, kSelf, 0, 2 * kSelf * kMs + 1));
}

TEST_CASE("signals guardian alone gets are forwarded and delivered every time") {
  SignalEcho e(kSelf);
  for (int i = 0; i < 3; ++i) {
    CHECK(e.forward(SIGHUP, kSender, i * 100 * kMs));
    CHECK(e.deliver(SIGHUP, kSelf, 0, i * 100 * kMs + kMs));
  }
}

TEST_CASE("another sender, another signal, the kernel's, or too late: not paired") {
  SignalEcho e(kSelf);
  CHECK(e.forward(SIGINT, kSender, 0));
  CHECK(e.deliver(SIGINT, kSelf, 0, kMs));
  CHECK(e.deliver(SIGINT, kOther, 0, 2 * kMs));          // someone else's signal
  CHECK(e.deliver(SIGTERM, kSender, 0, 2 * kMs));        // not one guardian pairs
  CHECK(e.deliver(SIGINT, kSender, 0x80, 2 * kMs));      // SI_KERNEL: the terminal's ^C
  CHECK(e.deliver(SIGINT, kSender, 0, 2 * SignalEcho::kWindowNs));  // a second later
  CHECK(e.deliver(SIGINT, kSender, 0, 3 * SignalEcho::kWindowNs));
  // A copy taken long ago does not stand for a new one.
  CHECK(e.forward(SIGINT, kSender, 5 * SignalEcho::kWindowNs));
}
