// Where the fast shim builds an engine image (fastpath_arena.cpp): while an arena is open,
// every C++ allocation of the shim is carved from one anonymous mapping. Not an interface
// outside the fast path.
#pragma once

#include <cstddef>

namespace guardian::fastpath {

struct Arena {
  char* base = nullptr;
  std::size_t size = 0;  // mapped
  std::size_t used = 0;  // carved so far
};

// From now on operator new serves from a fresh anonymous mapping of `bytes` (nothing is
// freed into it; it falls back to malloc once it is used up, which fastpath_image.cpp
// notices). False when it cannot be mapped or an arena is already open. Only the library
// constructor uses it (one thread, before the program runs).
bool arena_open(std::size_t bytes);
// Back to malloc; the arena's memory stays mapped (and deletes of what it holds stay
// no-ops) until arena_drop().
Arena arena_close();
// Unmaps an arena given back by arena_close().
void arena_drop(const Arena& a);

// The static libstdc++ in this library makes its emergency exception pool (~71 KiB) from a
// constructor of its own, which runs after the library's (priority 101, shim.cpp): in
// every process of a --fast-path session, malloc was initialised (getrandom, two brk, the
// pages touched) and the program's heap moved by 132 KiB before its main(), though the
// program may never allocate and the shim throws nothing after start-up. Called at the end
// of the library constructor: the next malloc of 64 KiB or more by the library (the pool's)
// fails, and libstdc++ goes without the pool, as it does whenever that malloc fails;
// exceptions are still allocated with malloc. (fastpath_heap.cpp, which only
// libguardian-preload-fast.so links, with -Wl,--wrap=malloc.)
void refuse_eh_pool();

}  // namespace guardian::fastpath
