// The engine image (see fastpath_image.hpp and fastpath_protocol.h). Building the engine
// from the snapshot is most of a fast shim's start-up (about 150 us of the 180 us, for
// every process of a session); loading an image is a read and a pass over its pointers.
//
// How the image is made position-independent without a second decision engine: the
// builder builds the same engine twice, each in an arena of its own (fastpath_arena.hpp),
// from the same bytes, so both builds lay out alike. A word that differs between the two by
// exactly the distance between the arenas is a pointer into the engine, recorded by its
// index; a word equal in both is data. Anything else (a word that differs otherwise, a
// build that outgrew its arena and went to malloc, an equal word that points into a loaded
// library or the stack) means the build is not what this assumes: no image, and every
// process builds its engine as before. A loader maps the image where the builder had it
// when that address is free in its process (the usual case: one mmap, the pages shared);
// otherwise it copies the bytes into memory of its own, moves each recorded pointer by the
// distance to its copy, and makes the copy read-only.
#undef _FILE_OFFSET_BITS
#include "fastpath_image.hpp"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <new>
#include <vector>

#include "fastpath_arena.hpp"
#include "fastpath_protocol.h"
#include "policy/engine.hpp"
#include "policy/snapshot.hpp"

namespace guardian::fastpath {

namespace {

// An arena's room: tools/bench's profile (an 8.5 KB snapshot) carves about 150 KB.
constexpr std::size_t kArenaPerSnapshotByte = 64;
constexpr std::size_t kArenaFixed = 512 * 1024;
constexpr std::uint64_t kNear = 64ull << 20;  // "on the stack": this close to our frame

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

const policy::Engine* build_one(std::string_view snap, Arena* out) {
  if (!arena_open(kArenaPerSnapshotByte * snap.size() + kArenaFixed)) return nullptr;
  const policy::Engine* e = nullptr;
  try {
    // In the arena too, not on the stack: fresh, zeroed memory, so that what the build
    // copies of it unset (a disengaged std::optional's value) is zeros, not stack bytes.
    auto* prof = new policy::Profile;
    if (policy::decode_snapshot(snap, *prof)) e = new policy::Engine(std::move(*prof));
  } catch (...) {
    e = nullptr;
  }
  *out = arena_close();
  return e;
}

struct Ranges {
  std::uint64_t lo[256], hi[256];
  int n = 0;
};

// The shared objects' segments: the engine's code and the C++ runtime are in this library,
// which, like every shared object, is mapped at a random high address that no short text
// or small number in the engine resembles. (Not the program itself: a program built
// without PIE sits at 0x400000, where four bytes of a name would fall, and the engine
// cannot point into it.)
int collect(struct dl_phdr_info* info, std::size_t, void* data) {
  auto* r = static_cast<Ranges*>(data);
  if (!info->dlpi_name || !info->dlpi_name[0]) return 0;
  for (int i = 0; i < info->dlpi_phnum && r->n < 256; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    r->lo[r->n] = info->dlpi_addr + ph.p_vaddr;
    r->hi[r->n] = r->lo[r->n] + ph.p_memsz;
    ++r->n;
  }
  return 0;
}

bool inside(std::uint64_t w, const Arena& a) {
  return w >= reinterpret_cast<std::uint64_t>(a.base) && w < reinterpret_cast<std::uint64_t>(a.base) + a.size;
}

// The indices of the words of `a` that point into it (see the top of the file); false
// when the two builds do not support an image.
bool pointers(const Arena& a, const Arena& b, std::vector<std::uint32_t>& out) {
  if (a.used != b.used || a.used % 8 || a.used / 8 > 0xffffffffu) return false;
  auto* r = new (std::nothrow) Ranges;
  if (!r) return false;
  dl_iterate_phdr(collect, r);
  const auto sp = reinterpret_cast<std::uint64_t>(__builtin_frame_address(0));
  const auto* wa = reinterpret_cast<const std::uint64_t*>(a.base);
  const auto* wb = reinterpret_cast<const std::uint64_t*>(b.base);
  const auto abase = reinterpret_cast<std::uint64_t>(a.base);
  const std::uint64_t delta = reinterpret_cast<std::uint64_t>(b.base) - abase;
  bool ok = r->n < 256;
  for (std::size_t i = 0; ok && i < a.used / 8; ++i) {
    const std::uint64_t w1 = wa[i], w2 = wb[i];
    if (w1 == w2) {
      // Data, unless it is an address of something outside the engine (a library's
      // static data, the stack): the same in both builds, wrong in any other process.
      if (w1 < 0x10000 || w1 >= 0x800000000000ull) continue;
      if ((w1 < sp + kNear && w1 + kNear > sp) || inside(w1, a) || inside(w1, b)) ok = false;
      for (int k = 0; ok && k < r->n; ++k)
        if (w1 >= r->lo[k] && w1 < r->hi[k]) ok = false;
    } else if (w2 - w1 == delta && w1 >= abase && w1 <= abase + a.used) {
      out.push_back(static_cast<std::uint32_t>(i));
    } else {
      ok = false;
    }
  }
  delete r;
  return ok;
}

bool pwrite_all(int fd, const void* data, std::size_t n, std::size_t at) {
  const char* p = static_cast<const char*>(data);
  while (n) {
    ssize_t w = pwrite(fd, p, n, static_cast<off_t>(at));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
    at += static_cast<std::size_t>(w);
  }
  return true;
}

bool pread_all(int fd, void* data, std::size_t n, std::size_t at) {
  char* p = static_cast<char*>(data);
  while (n) {
    ssize_t got = pread(fd, p, n, static_cast<off_t>(at));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<std::size_t>(got);
    at += static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

const policy::Engine* image_build(int fd, std::size_t file_size, std::string_view snapshot) {
  Arena a, b;
  const policy::Engine* ea = build_one(snapshot, &a);
  if (!ea) {
    arena_drop(a);
    return nullptr;
  }
  const policy::Engine* eb = build_one(snapshot, &b);
  std::vector<std::uint32_t> relocs;
  bool ok = false;
  try {
    ok = eb && reinterpret_cast<const char*>(ea) - a.base == reinterpret_cast<const char*>(eb) - b.base &&
         pointers(a, b, relocs);
  } catch (...) {
    ok = false;
  }
  arena_drop(b);  // never destroyed: its memory simply goes
  gfast_image h;
  memset(&h, 0, sizeof h);
  h.magic = GFAST_IMAGE_MAGIC;
  h.version = GFAST_VERSION;
  h.base = reinterpret_cast<std::uint64_t>(a.base);
  h.used = a.used;
  h.engine_off = static_cast<std::uint64_t>(reinterpret_cast<const char*>(ea) - a.base);
  h.nrelocs = relocs.size();
  h.snapshot_size = snapshot.size();
  const std::size_t rel_at = GFAST_IMAGE_DATA + round_up(a.used, 8);
  ok = ok && rel_at + relocs.size() * 4 <= file_size && pwrite_all(fd, a.base, a.used, GFAST_IMAGE_DATA) &&
       pwrite_all(fd, relocs.data(), relocs.size() * 4, rel_at) && pwrite_all(fd, &h, sizeof h, 0) &&
       fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0;
  // The first build is this process's engine either way: it was built as ever.
  return ok ? ea : nullptr;
}

const policy::Engine* image_load(int fd, std::size_t file_size, std::size_t snapshot_size) {
  // Sealed against writing: what we read is what the builder wrote, and stays so.
  const int need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
  const int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & need) != need) return nullptr;
  gfast_image h;
  if (!pread_all(fd, &h, sizeof h, 0) || h.magic != GFAST_IMAGE_MAGIC || h.version != GFAST_VERSION ||
      h.snapshot_size != snapshot_size || h.used == 0 || h.used % 8 || h.used > file_size ||
      h.engine_off + sizeof(policy::Engine) > h.used || h.engine_off % alignof(policy::Engine))
    return nullptr;
  const std::size_t rel_at = GFAST_IMAGE_DATA + round_up(h.used, 8);
  if (h.nrelocs > h.used / 8 || rel_at + h.nrelocs * 4 > file_size) return nullptr;
  const std::size_t len = round_up(h.used, 4096);
  // Where the builder had it, when that is free here (it usually is: each process's
  // mappings start at a random place): the image itself, shared with every process of the
  // session, nothing copied or moved; the pages are the memfd's, sealed.
  void* at = mmap(reinterpret_cast<void*>(h.base), len, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd,
                  GFAST_IMAGE_DATA);
  if (at == reinterpret_cast<void*>(h.base))
    return reinterpret_cast<const policy::Engine*>(static_cast<char*>(at) + h.engine_off);
  if (at != MAP_FAILED) munmap(at, len);  // a kernel that took the address as a hint
  // Elsewhere: a copy of our own with its pointers moved.
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  auto* words = static_cast<std::uint64_t*>(m);
  const std::uint64_t base = h.base, to = reinterpret_cast<std::uint64_t>(m);
  bool ok = pread_all(fd, m, h.used, GFAST_IMAGE_DATA);
  std::uint32_t idx[1024];
  for (std::size_t done = 0; ok && done < h.nrelocs;) {
    const std::size_t n = h.nrelocs - done < 1024 ? h.nrelocs - done : 1024;
    ok = pread_all(fd, idx, n * 4, rel_at + done * 4);
    for (std::size_t k = 0; ok && k < n; ++k) {
      const std::uint64_t w = idx[k] < h.used / 8 ? words[idx[k]] : 0;
      ok = idx[k] < h.used / 8 && w >= base && w <= base + h.used;
      if (ok) words[idx[k]] = w - base + to;
    }
    done += n;
  }
  // Read-only from here: deciding never writes to the engine.
  if (!ok || mprotect(m, len, PROT_READ) != 0) {
    munmap(m, len);
    return nullptr;
  }
  return reinterpret_cast<const policy::Engine*>(static_cast<char*>(m) + h.engine_off);
}

}  // namespace guardian::fastpath
