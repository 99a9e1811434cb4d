// The fast path's record ring (layout and protocol in fastpath_protocol.h): the writer side
// used by the shim and the reader side used by the supervisor, header-only so that unit
// tests drive both. Writers are lock-free and async-signal-safe (CAS on shared words, no
// allocation, no syscalls); the reader is single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fastpath_protocol.h"

static_assert(sizeof(gfast_slot) == GFAST_SLOT_SIZE, "slot layout");
static_assert(sizeof(gfast_ring) <= GFAST_SLOT_SIZE, "ring header fits before slot 0");
static_assert((GFAST_SLOTS & (GFAST_SLOTS - 1)) == 0, "slots: a power of two");

namespace guardian::fastpath {

inline gfast_slot* slot_at(void* ring, std::uint64_t pos) {
  auto* base = static_cast<unsigned char*>(ring) + GFAST_SLOT_SIZE;
  return reinterpret_cast<gfast_slot*>(base + (pos & (GFAST_SLOTS - 1)) * GFAST_SLOT_SIZE);
}

// Sets up a fresh ring in zeroed memory of GFAST_RING_BYTES. The slots need nothing: a zero
// state word is FREE for lap 0, so the 4 MiB of slots are touched (and allocated) only as
// records are written.
inline void ring_init(void* mem) {
  auto* h = static_cast<gfast_ring*>(mem);
  h->magic = GFAST_RING_MAGIC;
  h->version = GFAST_VERSION;
  h->slots = GFAST_SLOTS;
  h->slot_size = GFAST_SLOT_SIZE;
  __atomic_store_n(&h->head, 0, __ATOMIC_RELEASE);
}

// Claims the next slot for thread `tid`. Returns the slot (its position in *pos) or nullptr
// when the ring is full (or contended beyond reason): the caller then asks the supervisor.
inline gfast_slot* ring_claim(void* ring, std::uint32_t tid, std::uint64_t* pos) {
  auto* h = static_cast<gfast_ring*>(ring);
  for (int tries = 0; tries < 64; ++tries) {
    std::uint64_t head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
    gfast_slot* s = slot_at(ring, head);
    std::uint64_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    std::uint64_t free_here = gfast_state(head, GFAST_FREE, 0);
    if (st == free_here) {
      if (__atomic_compare_exchange_n(&s->state, &st, gfast_state(head, GFAST_BUSY, tid), false,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        std::uint64_t expect = head;
        __atomic_compare_exchange_n(&h->head, &expect, head + 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED);
        *pos = head;
        return s;
      }
      continue;
    }
    if (gfast_pos(st) == gfast_lap(head) && gfast_kind(st) != GFAST_FREE) {
      // Claimed for this position by a writer that has not moved head yet: help it.
      std::uint64_t expect = head;
      __atomic_compare_exchange_n(&h->head, &expect, head + 1, false, __ATOMIC_ACQ_REL,
                                  __ATOMIC_RELAXED);
      continue;
    }
    // The slot still holds the previous lap's record (or head moved under us): full if head
    // did not move.
    if (__atomic_load_n(&h->head, __ATOMIC_ACQUIRE) == head) return nullptr;
  }
  return nullptr;
}

// Publishes a claimed slot: READY with its record, or VOID (nothing to record). False when
// the supervisor gave the slot up meanwhile (it only does so for a writer that is gone).
inline bool ring_publish(gfast_slot* s, std::uint64_t pos, std::uint32_t tid, bool ready) {
  std::uint64_t busy = gfast_state(pos, GFAST_BUSY, tid);
  return __atomic_compare_exchange_n(&s->state, &busy,
                                     gfast_state(pos, ready ? GFAST_READY : GFAST_VOID, 0), false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

// After publishing a record: true when the drain sleeps waiting for one (drain_asleep) and
// this writer is the one to wake it (it swapped the word back to 0): the caller then makes
// the FUTEX_WAKE on &drain_asleep. The fence pairs with the reader's (drain_may_sleep):
// either the reader sees the record, or this writer sees it asleep.
inline bool ring_bell(void* ring) {
  auto* h = static_cast<gfast_ring*>(ring);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return __atomic_load_n(&h->drain_asleep, __ATOMIC_RELAXED) != 0 &&
         __atomic_exchange_n(&h->drain_asleep, 0u, __ATOMIC_ACQ_REL) != 0;
}

// The reader, before sleeping on drain_asleep with nothing at `tail`: announces it, then
// looks again. False (and the announcement withdrawn) when something came meanwhile.
inline bool drain_may_sleep(void* ring, std::uint64_t tail) {
  auto* h = static_cast<gfast_ring*>(ring);
  __atomic_store_n(&h->drain_asleep, 1u, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  std::uint64_t st = __atomic_load_n(&slot_at(ring, tail)->state, __ATOMIC_ACQUIRE);
  if (gfast_pos(st) != gfast_lap(tail) || gfast_kind(st) == GFAST_FREE) return true;
  __atomic_store_n(&h->drain_asleep, 0u, __ATOMIC_RELAXED);
  return false;
}

// The reader's view of the slot at `tail`.
enum class Peek : std::uint8_t { empty, busy, ready, void_ };
inline Peek ring_peek(void* ring, std::uint64_t tail, std::uint32_t* busy_tid) {
  std::uint64_t st = __atomic_load_n(&slot_at(ring, tail)->state, __ATOMIC_ACQUIRE);
  if (gfast_pos(st) != gfast_lap(tail)) return Peek::empty;
  switch (gfast_kind(st)) {
    case GFAST_BUSY:
      if (busy_tid) *busy_tid = gfast_tid(st);
      return Peek::busy;
    case GFAST_READY: return Peek::ready;
    case GFAST_VOID: return Peek::void_;
    default: return Peek::empty;
  }
}

// Frees the slot at `tail` for the next lap (after reading it, or to skip a dead writer's
// claim: then only if it is still that claim). Returns false if the state changed under us.
inline bool ring_release(void* ring, std::uint64_t tail, std::uint64_t expected_state) {
  std::uint64_t st = expected_state;
  return __atomic_compare_exchange_n(&slot_at(ring, tail)->state, &st,
                                     gfast_state(tail + GFAST_SLOTS, GFAST_FREE, 0), false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

inline std::uint64_t slot_state(void* ring, std::uint64_t pos) {
  return __atomic_load_n(&slot_at(ring, pos)->state, __ATOMIC_ACQUIRE);
}

}  // namespace guardian::fastpath
