// The end-of-run denial summary on stderr: what was denied, how many of each kind, and the
// first few targets of what matters most to the user (a program not run before a directory
// not stat'ed).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "audit/log.hpp"

namespace guardian::audit {

// Tallies denied and would-deny decisions; not thread-safe (the log calls it under its lock).
class DenialTally {
 public:
  // Counts one decision that was not `allow`; keeps it as an example when its kind still
  // has room. Cheap per call: no allocation once an example slot is full.
  void note(const DecisionRecord& d);
  // The summary lines, each prefixed "guardian: ", or "" when nothing was denied. `hint` is
  // the closing line (where to find details).
  std::string text(const std::string& hint) const;

  static constexpr std::size_t kExamples = 5;  // target lines shown in all

 private:
  struct Kind {
    policy::Category category;
    policy::Op op;
    std::uint64_t count;
  };
  static constexpr std::size_t kRanks = 6;
  std::uint64_t denied_ = 0, would_ = 0, killed_ = 0;  // killed_: on_deny: kill, among denied_
  // A program no exec rule names was refused (a build's output under default): the summary
  // says how programs are allowed, which the paths alone do not.
  bool exec_unnamed_ = false;
  std::vector<Kind> kinds_;
  // Examples by importance rank (see rank() in denials.cpp), each in order of arrival.
  std::array<std::vector<std::string>, kRanks> examples_;
};

}  // namespace guardian::audit
