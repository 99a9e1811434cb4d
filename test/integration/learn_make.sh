#!/bin/sh
# learn_make: a small C build with make and gcc (temporary files in TMPDIR, objects and the
# program in the project), learned, then enforced with zero denials and the native output.
set -eu
. "$(dirname "$0")/learn_lib.sh"
command -v make >/dev/null && command -v gcc >/dev/null || { echo "SKIP: make or gcc missing" >&2; exit 77; }
probe
cat > hello.c <<'C'
#include <stdio.h>
int twice(int);
int main(void) { printf("hello %d\n", twice(21)); return 0; }
C
cat > util.c <<'C'
int twice(int x) { return 2 * x; }
C
printf 'hello: hello.o util.o\n\tgcc -o $@ hello.o util.o\n%%.o: %%.c\n\tgcc -O2 -c $<\n' > Makefile
# The build, and the program it built run: the learned `exec: ${CWD}/hello` names a file
# that does not exist when the enforcing session starts, and the Landlock envelope used to
# grant nothing for it, so the kernel refused the exec the profile allows.
cat > build.sh <<'SH'
make -s
test -x hello && echo built
./hello
if [ -n "${VARIANT:-}" ]; then echo extra > notes.txt; fi
SH
reset_state() { rm -f hello hello.o util.o notes.txt; }
CMD="/bin/sh build.sh"
learn_and_enforce make
expect_denied_variant make "$W/notes.txt"
least_privilege make
# gcc's temporary files became patterns, not the names of one run
grep -q '"${TMPDIR}/cc??????\.' "$T/make.yaml" || fail "make: no pattern for gcc's temporary files"
[ "$(./hello)" = "hello 42" ] || fail "make: the program built under the learned profile does not work"
echo ok
