// The fast shim's operator new and delete (libguardian-preload-fast.so only; local symbols,
// see exports-fast.map). Outside an arena (fastpath_arena.hpp) they are malloc and free;
// inside one they carve from its mapping, so that one build of the engine lies in one
// block of memory, which fastpath_image.cpp turns into an image other processes load.
#include "fastpath_arena.hpp"

#include <stdlib.h>
#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace guardian::fastpath {

namespace {

// The open arena and the closed ones still mapped (their pointers are never freed).
Arena g_open;
bool g_active = false;
Arena g_kept[8];

void* carve(std::size_t n, std::size_t align) {
  if (!g_active || align > 64) return nullptr;
  const std::size_t at = (g_open.used + align - 1) & ~(align - 1);
  const std::size_t end = at + (n ? n : 1);
  if (end > g_open.size || end < at) return nullptr;
  g_open.used = (end + 15) & ~static_cast<std::size_t>(15);
  return g_open.base + at;
}

bool within(const Arena& a, void* p) {
  return a.base && static_cast<char*>(p) >= a.base && static_cast<char*>(p) < a.base + a.size;
}

bool ours(void* p) {
  if (within(g_open, p)) return true;
  for (const Arena& k : g_kept)
    if (within(k, p)) return true;
  return false;
}

void* allocate(std::size_t n, std::size_t align) {
  if (void* p = carve(n, align)) return p;
  void* p = align > alignof(std::max_align_t) ? aligned_alloc(align, (n + align - 1) / align * align)
                                              : malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}

void release(void* p) {
  if (p && !ours(p)) free(p);
}

}  // namespace

bool arena_open(std::size_t bytes) {
  if (g_active) return false;
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return false;
  g_open = Arena{static_cast<char*>(m), bytes, 0};
  g_active = true;
  return true;
}

Arena arena_close() {
  Arena a = g_open;
  g_active = false;
  g_open = Arena{};
  for (Arena& k : g_kept)
    if (!k.base) {
      k = a;
      break;
    }
  return a;
}

void arena_drop(const Arena& a) {
  for (Arena& k : g_kept)
    if (k.base == a.base) k = Arena{};
  if (a.base) munmap(a.base, a.size);
}

}  // namespace guardian::fastpath

using guardian::fastpath::allocate;
using guardian::fastpath::release;

void* operator new(std::size_t n) { return allocate(n, alignof(std::max_align_t)); }
void* operator new[](std::size_t n) { return allocate(n, alignof(std::max_align_t)); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
