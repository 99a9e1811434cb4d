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

}  // namespace guardian::fastpath
