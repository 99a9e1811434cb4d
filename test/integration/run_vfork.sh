#!/bin/sh
# vfork children under guardian: the tracer keeps a vfork parent in its event stop until the
# child execs or exits (session/tracer.cpp), so every way a vfork child can end must let the
# parent go on, with the status natively seen; an exec the profile refuses fails in the
# child (EACCES) as it would natively for a program without execute permission.
. "$(dirname "$0")/run_lib.sh"
PROBE=${VFORK_PROBE:?}
cp /usr/bin/true "$T/denied"
cp "$PROBE" "$T/probe"
cat >"$T/p.yaml" <<YAML
version: 1
name: it-vfork
extends: [base]
exec:
  allow: ["/usr/**", "$T/probe"]
YAML
native=$("$T/probe" "$T/denied")
check "native run" "exit-without-exec:7
exec:0
exec-of-denied:0
fork-in-vfork-child:4
posix_spawn-from-4-threads-failures:0" "$native"
guarded=$(timeout 60 "$G" run -p "$T/p.yaml" --no-preload -- "$T/probe" "$T/denied" 2>"$T/err")
check "under guardian: status" 0 "$?"
check "under guardian" "exit-without-exec:7
exec:0
exec-of-denied:113
fork-in-vfork-child:4
posix_spawn-from-4-threads-failures:0" "$guarded"
finish
