#!/bin/sh
# Runs test/attacks/proc_tty_termios under a terminal's session leader (the user's shell's
# part): the terminal's settings after the session must be those from before it, whether the
# command changed them in guardian's process group or in one of its own that it made the
# terminal's foreground. Natively they stay changed, else the test shows nothing (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_tty_termios.sh ATTACK_EXE}
leader_py=$(dirname "$0")/tty_leader.py
leader() { /usr/bin/python3 "$leader_py" --termios "$@"; }
native=$(leader -- "$attack")
echo "native: $native"
for how in "" own-group; do
  guarded=$(leader -- "$G" run -p "$P" -a "$T/audit.jsonl" -- "$attack" $how)
  echo "guardian ${how:-(same group)}: $guarded"
  what=${how:-same group}
  check "the terminal's settings are as before the session ($what)" "termios: same" "$(echo "$guarded" | grep '^termios:')"
  check "the terminal's session leader lives ($what)" "leader: lived" "$(echo "$guarded" | tail -n 1)"
done
[ "$fails" -eq 0 ] || finish
case $native in *"termios: changed"*) ;; *) echo "the settings do not outlive the program natively here"; exit 77 ;; esac
finish
