// The fast shim's malloc (libguardian-preload-fast.so only): every malloc call of the
// library's own code and of the libstdc++ linked into it comes here (-Wl,--wrap=malloc in
// preload/meson.build); the program's mallocs never do. See refuse_eh_pool().
#include <stdlib.h>

#include <cstddef>

#include "fastpath_arena.hpp"

namespace guardian::fastpath {

namespace {
// Set by refuse_eh_pool() until the emergency pool asks.
bool g_refuse_pool = false;
// libstdc++'s pool is 64 KiB of objects plus their headers; nothing of the shim allocates
// that much through malloc once the library constructor is done.
constexpr std::size_t kPoolMin = 64 * 1024;
}  // namespace

void refuse_eh_pool() { __atomic_store_n(&g_refuse_pool, true, __ATOMIC_RELAXED); }

}  // namespace guardian::fastpath

extern "C" void* __real_malloc(std::size_t n);
extern "C" void* __wrap_malloc(std::size_t n) {
  if (__builtin_expect(n >= guardian::fastpath::kPoolMin, 0) &&
      __atomic_load_n(&guardian::fastpath::g_refuse_pool, __ATOMIC_RELAXED) &&
      __atomic_exchange_n(&guardian::fastpath::g_refuse_pool, false, __ATOMIC_RELAXED)) {
    // errno left as it is: the program's, before its main(), and libstdc++ does not look.
    return nullptr;
  }
  return __real_malloc(n);
}
