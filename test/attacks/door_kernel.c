/* Kernel attack surface a developer tool never needs: bpf, userfaultfd, perf_event_open,
 * keyrings, module loading, kexec. Each reaches the kernel natively (a map or fd is made, a
 * key is added, or the module/kexec call fails on its bad argument: EBADF); under guardian
 * each must be refused before the kernel looks at it (EPERM). */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "door.h"

static int reached = 0, refused = 0;
static void note(const char* what, long r) {
  if (r >= 0 || errno != EPERM) {
    printf("reached the kernel: %s (%s)\n", what, r >= 0 ? "success" : strerror(errno));
    reached++;
  } else {
    refused++;
  }
}

int main(void) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  note("bpf(BPF_MAP_CREATE)", syscall(__NR_bpf, BPF_MAP_CREATE, &a, sizeof a));
  note("userfaultfd", syscall(__NR_userfaultfd, O_CLOEXEC));
  struct perf_event_attr pe;
  memset(&pe, 0, sizeof pe);
  pe.type = PERF_TYPE_SOFTWARE;
  pe.size = sizeof pe;
  pe.config = PERF_COUNT_SW_TASK_CLOCK;
  pe.exclude_kernel = 1;
  note("perf_event_open", syscall(__NR_perf_event_open, &pe, 0, -1, -1, 0));
  note("add_key", syscall(__NR_add_key, "user", "guardian-door", "x", 1, -2 /* process */));
  note("keyctl", syscall(__NR_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -2, 0));
  note("finit_module(-1)", syscall(__NR_finit_module, -1, "", 0));
  note("kexec_file_load(-1)", syscall(__NR_kexec_file_load, -1, -1, 0, "", 0));
  if (reached) opened("%d kernel interface(s) reachable", reached);
  closed("%d kernel interfaces refused with EPERM", refused);
}
