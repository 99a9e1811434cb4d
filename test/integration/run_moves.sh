#!/bin/sh
# Moving directories under the built-in default profile, as natively. A directory rename
# that default's guard refuses (it would carry paths out of ${CWD}'s deny_write rules) fails
# with EXDEV so that mv(1) copies file by file; where the kernel refuses the rename anyway
# (onto a directory that holds files, with RENAME_NOREPLACE onto a name that exists, into
# itself, across mounts) the program gets the kernel's answer, and no denial: the EXDEV made
# mv try to copy into a full directory ("inter-device move failed") and Python see EXDEV
# for ENOTEMPTY or EEXIST, and a move to a TMPDIR on another file system printed denials
# that blamed the .bashrc rule.
# Run per backend (BACKEND), each case with and without the shim.
. "$(dirname "$0")/run_lib.sh"
export LANG=C LC_ALL=C PATH=/usr/bin:/bin
[ -x /usr/bin/python3 ] || { echo "SKIP: no /usr/bin/python3"; exit 77; }
# setup (sh, in $T/s/p with TMPDIR=$T/s/tmp) and cmd run natively (s=n) and under guardian
# (s=g); compared: stdout, stderr (guardian's summary included), status and the files left.
cmp_moves() {
  name=$1 pre=$2 setup=$3 cmd=$4 tn=${5:-} tg=${6:-}
  for s in n g; do
    rm -rf "$T/$s"; mkdir -p "$T/$s/p" "$T/$s/home" "$T/$s/tmp"
    td=$T/$s/tmp
    [ -n "$tn" ] && { [ $s = n ] && td=$tn || td=$tg; rm -rf "$td"; mkdir -p "$td"; }
    eval "td_$s=\$td"
    (cd "$T/$s/p" && HOME=$T/$s/home TMPDIR=$td sh -c "$setup") || { check "$name: setup" ok failed; return; }
  done
  (cd "$T/n/p" && HOME=$T/n/home TMPDIR=$td_n sh -c "$cmd") >"$T/n.out" 2>"$T/n.err"; n=$?
  (cd "$T/g/p" && HOME=$T/g/home TMPDIR=$td_g "$G" run $pre -- sh -c "$cmd") >"$T/g.out" 2>"$T/g.err"; g=$?
  for s in n g; do
    eval "td=\$td_$s"
    sed -i "s#$td#TMP#g; s#$T/$s/#T/#g" "$T/$s.out" "$T/$s.err"
    (cd "$T/$s/p" && find . | sort; cd "$td" && find . | sort | sed 's/^/tmp:/') >"$T/$s.ls"
  done
  check "$pre: $name: status" "$n" "$g"
  check "$pre: $name: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
  check "$pre: $name: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
  check "$pre: $name: files" "$(cat "$T/n.ls")" "$(cat "$T/g.ls")"
}

renames='import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
T = os.environ["TMPDIR"]
for a, b, fl in (("full", T + "/full", 0), ("full", T + "/full", 1), ("full", "full/in", 0), ("full", "file", 0),
                 ("full", "full", 0), ("full", T + "/nowhere/full", 0)):
    # fl 1: renameat2 with RENAME_NOREPLACE (as mv(1) tries first)
    rc = libc.renameat2(-100, a.encode(), -100, b.encode(), fl) if fl else libc.rename(a.encode(), b.encode())
    print(a, b.replace(T, "TMP"), fl, ctypes.get_errno() if rc else "renamed")'
for pre in --preload --no-preload; do
  # Onto a directory that holds files, NOREPLACE onto one that exists, into itself, onto a
  # file, onto itself, into a directory that is not there.
  cmp_moves "rename(2) of a directory where the kernel refuses it" $pre \
    'mkdir -p full/sub "$TMPDIR/full/old"; echo new >full/sub/f; echo old >"$TMPDIR/full/old/f"; : >file' \
    "/usr/bin/python3 -c '$renames'"
  # mv(1) into a directory that already holds one of that name with files in it: refused,
  # and nothing copied.
  cmp_moves "mv of a directory onto a full one" $pre \
    'mkdir -p d/sub "$TMPDIR/d"; echo new >d/sub/a; echo old >"$TMPDIR/d/b"' \
    'mv d "$TMPDIR/"; echo "mv $?"; ls "$TMPDIR/d" d'
  # A TMPDIR on another file system (tmpfs /dev/shm, as /tmp is on many systems): mv of a
  # build tree there and back copies as natively, with no denial printed.
  if [ -d /dev/shm ] && [ -w /dev/shm ] &&
     [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$T")" ]; then
    shm=$(mktemp -d /dev/shm/guardian-moves.XXXXXX)
    cmp_moves "mv of a tree to a TMPDIR on another file system and back" $pre \
      'mkdir -p tree/sub; echo a >tree/sub/f; ln -s sub/f tree/l; chmod 751 tree/sub' \
      'mv tree "$TMPDIR/" && stat -c %a "$TMPDIR/tree/sub" && mv "$TMPDIR/tree" back && cat back/l; echo "mv $?"' \
      "$shm/n" "$shm/g"
    rm -rf "$shm"
  fi
done
# The guard itself stays: a directory that would leave ${CWD}'s deny_write rules does not
# move by rename (EXDEV) and is denied in the log, where natively it would move.
rm -rf "$T/w" "$T/wt"; mkdir -p "$T/w/d" "$T/wt"
(cd "$T/w" && TMPDIR=$T/wt "$G" run -a "$T/guard.jsonl" -- /usr/bin/python3 -c 'import os
try: os.rename("d", os.environ["TMPDIR"] + "/d"); print("renamed")
except OSError as e: print(e.errno)') >"$T/g.out" 2>/dev/null
check "the guard on directory moves stays: EXDEV" 18 "$(cat "$T/g.out")"
check "the guard on directory moves stays: a denial in the log" 1 \
  "$(grep '"syscall":"rename"' "$T/guard.jsonl" | grep -c '"decision":"deny"')"
finish
