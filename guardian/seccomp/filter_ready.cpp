// build_filter: the program compiled at build time (filter_gen.cpp) where it applies.
#include "seccomp/filter.hpp"

namespace guardian::seccomp {

Result<Program> build_filter(std::span<const decode::SyscallInfo> table, const FilterOptions& opts) {
  // Only for the table the generator compiled, and only without a token (a per-session
  // value inside the program).
  const auto ours = decode::syscall_table();
  if (opts.fast_path_token == 0 && table.data() == ours.data() && table.size() == ours.size()) {
    auto ready = ready_program(opts.metadata_open, opts.trace, opts.dns_gate);
    if (!ready.empty()) {
      Program p;
      p.insns.assign(ready.begin(), ready.end());
      return p;
    }
  }
  return build_filter_fresh(table, opts);
}

}  // namespace guardian::seccomp
