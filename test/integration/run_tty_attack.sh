#!/bin/sh
# Runs a test/attacks program that attacks the terminal the session shares with the user's
# shell: guardian runs as the child of a session leader holding a pseudo-terminal (the
# shell's part), and the leader must live. Natively the attack must kill the leader, else it
# shows nothing here (not root) and the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_tty_attack.sh ATTACK_EXE}
leader_py=$(dirname "$0")/tty_leader.py
leader() { /usr/bin/python3 "$leader_py" "$@"; }
native=$(leader -- "$attack")
echo "native: $native"
guarded=$(leader -- "$G" run -p "$P" -a "$T/audit.jsonl" -- "$attack")
echo "guardian: $guarded"
check "the terminal's session leader outside the session lives" "leader: lived" "$(echo "$guarded" | tail -n 1)"
check "no hangup was accepted" "" "$(echo "$guarded" | grep accepted)"
[ "$fails" -eq 0 ] || finish
case $native in *"leader: killed"*) ;; *) echo "the hangup does nothing natively here"; exit 77 ;; esac
finish
