#!/bin/sh
# No process of the session outlives it, not even one guardian no longer traces (handed
# over to a tracer of the session: test/attacks/proc_outlive.c): neither when guardian is
# SIGKILLed (a keeper ends the session's cgroup) nor when the command exits (the end kills
# guardian's descendants, which the process table does not all know). Checked by effect:
# the processes' files stop growing and their pids are gone. Run as root, and as nobody
# through setpriv when root (no cgroup: the hand-over is refused in enforce mode, allowed
# in complain mode). Args: the proc_outlive binary.
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_outlive.sh PROC_OUTLIVE_EXE}
cp "$attack" "$T/proc_outlive"
chmod 755 "$T/proc_outlive"
W=$T/w
mkdir -p "$W"
chmod 777 "$W"
cat >"$T/o.yaml" <<YAML
version: 1
name: outlive
extends: [base]
files:
  write: ["$W/**"]
exec:
  allow: ["$T/proc_outlive"]
YAML
chmod 644 "$T/o.yaml"

# lines FILE: how many lines FILE has (0 when missing).
lines() { [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }
# dead PID: the process is gone or a zombie (killed; its parent, killed too, left it to
# a reaper that may never reap it, such as a container's init).
dead() {
  n=0
  while [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]; do
    n=$((n + 1)); [ "$n" -gt 30 ] && return 1; sleep 0.1
  done
  return 0
}
# running PATTERN: pids of live (not zombie) processes whose command line is PATTERN.
running() {
  for p in $(pgrep -f -x "$1"); do
    [ -r "/proc/$p/stat" ] && [ "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)" != Z ] && echo "$p"
  done
}
# settled NAME PREFIX: both files stop growing and both pids are gone.
settled() {
  for s in c d; do
    f=$2.$s
    [ -f "$f" ] || { check "$1: $s ran" yes no; continue; }
    pid=$(awk 'NR == 1 {print $2}' "$f")
    # Killed after creating its file, before writing its first line (a loaded machine): no
    # pid to watch (an empty one made dead() watch /proc//stat, which is /proc/stat); then
    # no process may still run the attack with this prefix.
    [ -n "$pid" ] || { sleep 1; pid=$(awk 'NR == 1 {print $2}' "$f"); }
    if [ -z "$pid" ]; then
      n=0
      while [ -n "$(running "$T/proc_outlive $2 (wait|exit)")" ]; do
        n=$((n + 1)); [ "$n" -gt 30 ] && break; sleep 0.1
      done
      check "$1: $s is gone" gone "$([ "$n" -gt 30 ] && echo "alive (no first line: $(running "$T/proc_outlive $2 (wait|exit)"))" || echo gone)"
    elif dead "$pid"; then check "$1: $s is gone" gone gone; else check "$1: $s is gone" gone "alive ($(head -1 "$f"))"; kill -9 "$pid" 2>/dev/null; fi
    a=$(lines "$f"); sleep 0.3; b=$(lines "$f")
    check "$1: $s stopped writing" "$a" "$b"
  done
}
# started PREFIX: waits up to 5 s for both processes' first ticks.
started() {
  n=0
  while [ "$(lines "$1.c")" -lt 2 ] || [ "$(lines "$1.d")" -lt 2 ]; do
    n=$((n + 1)); [ "$n" -gt 50 ] && return 1; sleep 0.1
  done
}

AS=""
for who in root nobody; do
  if [ "$who" = nobody ]; then
    [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && id -u nobody >/dev/null 2>&1 || continue
    nob=$(id -u nobody)
    # Every program on the way execs: $! is guardian's pid.
    AS="setpriv --reuid=$nob --regid=$nob --clear-groups --inh-caps=-all --"
  fi
  # Whether this user's sessions get a cgroup v2 group (the keeper needs one).
  $AS env HOME="$W" TMPDIR="$W" "$G" run -p "$T/o.yaml" -a "$W/$who.jsonl" -- /bin/true 2>/dev/null
  cg=$(grep -c 'kill=cgroup2' "$W/$who.jsonl")
  for mode in enforce complain; do
    extra="--mode $mode"
    # guardian SIGKILLed while the command runs (complain mode without a group: the
    # hand-over is allowed and nothing can end what it freed; guardian(1) says so)
    pre=$W/$who-$mode-kill
    if [ "$mode" = complain ] && [ "$cg" = 0 ]; then
      echo "($who $mode: no cgroup v2 group: not killed)"
    else
      $AS env HOME="$W" TMPDIR="$W" "$G" run -p "$T/o.yaml" $extra -- "$T/proc_outlive" "$pre" wait \
        >"$T/out" 2>&1 &
      g=$!
      if started "$pre"; then
        kill -9 "$g"
        settled "$who $mode, guardian SIGKILLed" "$pre"
      else
        echo "($who $mode: not started: $(cat "$pre.c" 2>/dev/null | head -1); $(tail -3 "$T/out"))"
        check "$who $mode: the traced child ran" yes "$(grep -q traceme= "$pre.c" 2>/dev/null && echo yes)"
        kill -9 "$g" 2>/dev/null
      fi
      wait "$g" 2>/dev/null
    fi
    # the command exits: guardian ends the session
    pre=$W/$who-$mode-exit
    $AS env HOME="$W" TMPDIR="$W" "$G" run -p "$T/o.yaml" $extra -- "$T/proc_outlive" "$pre" exit \
      >"$T/out" 2>&1
    echo "$who $mode: $(head -1 "$pre.c" 2>/dev/null)"
    settled "$who $mode, the command exited" "$pre"
  done
done
finish
