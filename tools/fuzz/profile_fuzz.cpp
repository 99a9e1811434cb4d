// libFuzzer target: any bytes as a profile must load or fail with located errors, never
// crash; what loads must compile and answer a few queries.
// Build: CXX=clang++ meson setup build-fuzz -Db_sanitize=address,undefined && ninja -C build-fuzz tools/fuzz/profile_fuzz
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/engine.hpp"
#include "policy/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace guardian::policy;
  static const LoadContext ctx = [] {
    LoadContext c;
    c.builtins = {{"HOME", "/f/home"}, {"CWD", "/f/cwd"}, {"TMPDIR", "/f/tmp"}, {"USER", "u"}, {"UID", "1"}};
    return c;
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadResult r = load_profile_text(text, "/f/fuzz.yaml", ctx);
  if (r.profile.has_value() == !r.errors.empty()) __builtin_trap();
  if (!r.profile) return 0;
  try {
    Engine e(*r.profile);
    Request q;
    for (std::string_view p : {"/f/cwd/x", "/", "/f/home/.ssh/id_rsa", "/usr/bin/sh"}) {
      q.path = p;
      for (Op op : {Op::read, Op::write, Op::stat, Op::exec}) {
        q.op = op;
        (void)e.decide(q);
        (void)e.tip(q);
      }
    }
  } catch (const std::invalid_argument&) {
    __builtin_trap();  // the loader accepted a rule the engine cannot compile
  }
  return 0;
}
