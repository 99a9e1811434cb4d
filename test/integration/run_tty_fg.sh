#!/bin/sh
# Runs test/attacks/proc_tty_fg in a terminal whose session leader (the user's shell's
# part) runs a background job (a `sleep` in a group of its own) and gives the terminal to
# the command's group, as a shell with job control does. Once the attack says FG-READY the
# user types ^C, meant for the command: the job outside the session must run on. Natively
# the attack makes the job the foreground and ^C ends it; else it shows nothing here and
# the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_tty_fg.sh ATTACK_EXE}
leader_py=$(dirname "$0")/tty_leader.py
leader() { /usr/bin/python3 "$leader_py" "$@"; }
native=$(leader --job --fg --type "FG-READY=\\x03" -- "$attack")
echo "native: $native"
guarded=$(leader --job --fg --type "FG-READY=\\x03" -- "$G" run -p "$P" -a "$T/audit.jsonl" -- "$attack")
echo "guardian: $guarded"
check "the background job outside the session runs on" "job: running" "$(echo "$guarded" | grep '^job:')"
check "the terminal's foreground did not move to it" "" "$(echo "$guarded" | grep MOVED)"
check "the audit log has the refusal" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
[ "$fails" -eq 0 ] || finish
case $native in *"job: ended"*) ;; *) echo "the attack does nothing natively here"; exit 77 ;; esac
finish
