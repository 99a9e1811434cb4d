/* Wire format between libguardian-preload.so and the supervisor's context reader
 * (guardian/context). Fixed-size records over one inherited SOCK_SEQPACKET socket: the shim
 * builds them on its stack without allocating, the supervisor checks magic, kind and size.
 * Everything here is advisory context: the supervisor never decides anything from it. */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variable guardian sets for the shim: "FD:ERRNO:COOKIE" where FD is the
 * inherited socket, ERRNO the session's deny errno, COOKIE the socket's SO_COOKIE (so the
 * shim never writes into an unrelated descriptor that reuses FD's number after a program
 * closed ours). */
#define GUARDIAN_SHIM_ENV "GUARDIAN_SHIM"

#define GSHIM_MAGIC 0x31485347u /* "GSH1" little-endian */
#define GSHIM_MAX_FRAMES 48
#define GSHIM_MAX_PATH 1024
#define GSHIM_MAX_NAME 256
#define GSHIM_MAX_ADDRS 16

enum gshim_kind {
  GSHIM_CONTEXT = 1, /* a hooked call failed with the deny errno; carries an eventfd to ack */
  GSHIM_HOST = 2,    /* a name lookup answered: name -> addresses */
  GSHIM_HELLO = 3,   /* the shim is loaded in this process (accepted; no longer sent) */
};

/* Which libc family the failed call belongs to; the supervisor maps it to syscalls. */
enum gshim_family {
  GSHIM_FAM_OPEN = 1, /* open, openat, creat, fopen, __open_2 ... */
  GSHIM_FAM_STAT = 2, /* stat family, statx */
  GSHIM_FAM_ACCESS = 3,
  GSHIM_FAM_EXEC = 4, /* execve family, posix_spawn */
  GSHIM_FAM_CONNECT = 5,
  GSHIM_FAM_SOCKET = 6,
  GSHIM_FAM_SENDTO = 7,
};

struct gshim_header {
  uint32_t magic;
  uint16_t kind;
  uint16_t size; /* sizeof the whole record */
  int32_t pid;
  int32_t tid;
};

struct gshim_context {
  struct gshim_header h;
  uint16_t family;
  uint16_t nframes;
  int32_t err;
  char func[24];              /* the libc function that was called, NUL-terminated */
  uint64_t frames[GSHIM_MAX_FRAMES]; /* return addresses, innermost first */
  char path[GSHIM_MAX_PATH];  /* as the program gave it; truncated paths end without NUL */
};

struct gshim_addr {
  uint8_t family; /* 4 or 6 */
  uint8_t pad[3];
  uint8_t bytes[16]; /* IPv4 in the first 4 bytes */
};

struct gshim_host {
  struct gshim_header h;
  uint16_t naddrs;
  uint16_t pad;
  char name[GSHIM_MAX_NAME]; /* NUL-terminated */
  struct gshim_addr addrs[GSHIM_MAX_ADDRS];
};

#ifdef __cplusplus
}
#endif
