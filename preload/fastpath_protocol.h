/* Shared memory between `guardian run --fast-path` and libguardian-preload-fast.so.
 *
 * Three memfds, all inherited by the command and named in GUARDIAN_FAST="PFD:RFD:IFD":
 *  - PFD, the profile: sealed read-only (F_SEAL_WRITE|SHRINK|GROW|SEAL). A gfast_profile
 *    header, then the engine snapshot (policy/snapshot.hpp) the shim builds its Engine from.
 *  - RFD, the ring: a gfast_ring header and GFAST_SLOTS fixed-size slots where the shim
 *    leaves one record per decision it made; the supervisor drains them into the audit log.
 *    Sealed against shrinking and growing, so neither side can be made to fault on it.
 *  - IFD, the engine image: empty and of fixed size until the first shim to get there
 *    builds its engine twice, writes the image (a gfast_image header, the engine's memory
 *    and where its pointers are: fastpath_image.cpp) and seals it against writing; every
 *    later shim loads that instead of building an engine of its own.
 *
 * The ring is a bounded multi-producer queue (after Vyukov's), async-signal-safe and usable
 * across processes: each slot has one 64-bit state word
 *     bits 63..32  the lap of the position the slot serves (position / GFAST_SLOTS, low
 *                  32 bits), so that zeroed memory is every slot FREE for lap 0
 *     bits 31..30  FREE (0), BUSY (1, claimed; bits 29..0 hold the writer's tid), READY (2),
 *                  VOID (3: claimed, then nothing to record)
 * A writer claims position `head` by CAS on the slot (FREE(h) -> BUSY(h, tid)), then moves
 * head on (anyone seeing a BUSY slot at head helps). It claims BEFORE making the syscall, so
 * a full ring means "ask the supervisor instead" and never a lost record; it fills the slot
 * and publishes READY (or VOID when it fell back after all). The supervisor consumes in
 * order and frees a slot for the next lap with FREE(p + GFAST_SLOTS). A slot left BUSY by a
 * thread that died is skipped once the thread is gone. A reader with nothing to read may
 * sleep on drain_asleep (a futex word in the header): the writer that publishes the next
 * record and finds it set swaps it to 0 and makes the FUTEX_WAKE (fastpath_ring.hpp).
 *
 * Denials: with GFAST_P_DENY the shim also decides the denial of a name that does not exist
 * (a PATH probe: no object, no symbolic link on the way, so the supervisor would decide the
 * same path with the same engine) and records it with GFAST_F_DENY; then the ring is always
 * drained, audit log or not, so that every denial is counted and written. */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GUARDIAN_FAST_ENV "GUARDIAN_FAST"

#define GFAST_PROFILE_MAGIC 0x50464731u /* "1GFP" */
#define GFAST_RING_MAGIC 0x52464731u    /* "1GFR" */
#define GFAST_VERSION 5u

#define GFAST_SLOTS 4096u   /* power of two */
#define GFAST_SLOT_SIZE 1024u
#define GFAST_TEXT (GFAST_SLOT_SIZE - 32u)

#define GFAST_FREE 0u
#define GFAST_BUSY 1u
#define GFAST_READY 2u
#define GFAST_VOID 3u

struct gfast_profile {
  uint32_t magic;
  uint32_t version;
  uint64_t token;     /* the seccomp filter lets openat2/statx/faccessat2/readlinkat with arg5 == token through */
  uint64_t ring_dev;  /* st_dev and st_ino of the ring memfd: the shim maps RFD read-write */
  uint64_t ring_ino;  /* only when it is that very file */
  uint32_t snapshot_size;
  uint32_t flags;     /* GFAST_P_* */
  uint64_t image_dev; /* st_dev, st_ino and size of the image memfd (IFD) */
  uint64_t image_ino;
  uint64_t image_size;
  /* snapshot bytes follow */
};

/* flags of the profile header */
#define GFAST_P_RECORD 1u /* allows are written to an audit log: record them in the ring */
#define GFAST_P_DENY 2u   /* enforce mode, on_deny errno, no asking: the shim may deny missing names */

struct gfast_ring {
  uint32_t magic;
  uint32_t version;
  uint32_t slots;
  uint32_t slot_size;
  /* Bumped by the supervisor before it lets any chdir, fchdir or chroot of the session
   * proceed: a shim's cached current directory is valid while this has not moved. */
  uint64_t cwd_gen;
  /* Bumped by the supervisor before it lets any call proceed that removes, replaces or adds
   * a name other than by creating a file or directory (unlink, rmdir, rename, link,
   * symlink), and with cwd_gen: the directories a shim found to have no symbolic link on
   * their path (fastpath_dirs.cpp) are forgotten when this or cwd_gen moves. */
  uint64_t names_gen;
  /* The engine image (IFD): GFAST_IMAGE_NONE until a shim claims building it by CAS, then
   * READY once it is written and sealed, or FAILED. */
  uint64_t image_state;
  /* The drain's doorbell (a futex word): the supervisor sets it to 1 before it sleeps with
   * nothing to drain; the writer that publishes a record and swaps it back to 0 wakes it. */
  uint32_t drain_asleep;
  uint32_t spare;
  uint64_t pad0[2];
  uint64_t head; /* own cache line: writers CAS it */
  uint64_t pad1[7];
  /* GFAST_SLOTS slots of GFAST_SLOT_SIZE bytes follow, starting at GFAST_SLOT_SIZE */
};

#define GFAST_IMAGE_NONE 0u
#define GFAST_IMAGE_BUILDING 1u
#define GFAST_IMAGE_READY 2u
#define GFAST_IMAGE_FAILED 3u

#define GFAST_IMAGE_MAGIC 0x49464731u /* "1GFI" */
#define GFAST_IMAGE_DATA 4096u        /* where the engine's bytes start in the image */

/* The head of the image memfd. The engine's memory (`used` bytes, as it lay at `base` in
 * the builder) starts at GFAST_IMAGE_DATA; after it (8-byte aligned) come `nrelocs`
 * 32-bit indices of the 8-byte words that hold pointers into it. */
struct gfast_image {
  uint32_t magic;
  uint32_t version;
  uint64_t base;
  uint64_t used;
  uint64_t engine_off; /* the policy::Engine object */
  uint64_t nrelocs;
  uint64_t snapshot_size;
};

/* flags of a record */
#define GFAST_F_RAW 1u  /* text holds raw_path then path; else path only (raw == path) */
#define GFAST_F_DENY 2u /* a denial, with errno `err` (else an allow) */
#define GFAST_F_EXEC 4u /* category exec (else file); argv_len bytes of argv follow the path,
                           each argument NUL-terminated */

struct gfast_slot {
  uint64_t state;
  int32_t pid; /* thread group id */
  int32_t tid;
  uint16_t nr;       /* the syscall the libc call stands for (openat, newfstatat, access...) */
  uint8_t op;        /* policy::Op */
  uint8_t flags;
  uint32_t rule;     /* Engine::rule_id() of the deciding rule */
  uint16_t raw_len;  /* bytes of raw_path (with GFAST_F_RAW) */
  uint16_t path_len; /* bytes of path */
  uint16_t err;      /* errno of a denial (GFAST_F_DENY) */
  uint16_t argv_len; /* bytes of argv after the path (GFAST_F_EXEC) */
  char text[GFAST_TEXT];
};

/* The lap tag a state word carries for position `pos`. */
static inline uint32_t gfast_lap(uint64_t pos) { return (uint32_t)(pos / GFAST_SLOTS); }
static inline uint64_t gfast_state(uint64_t pos, uint32_t kind, uint32_t tid) {
  return ((uint64_t)gfast_lap(pos) << 32) | ((uint64_t)(kind & 3u) << 30) | (tid & 0x3fffffffu);
}
static inline uint32_t gfast_kind(uint64_t state) { return (uint32_t)(state >> 30) & 3u; }
static inline uint32_t gfast_pos(uint64_t state) { return (uint32_t)(state >> 32); }
static inline uint32_t gfast_tid(uint64_t state) { return (uint32_t)state & 0x3fffffffu; }

#define GFAST_RING_BYTES ((uint64_t)GFAST_SLOT_SIZE * (GFAST_SLOTS + 1u))

#ifdef __cplusplus
}
#endif
