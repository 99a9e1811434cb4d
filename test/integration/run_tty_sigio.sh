#!/bin/sh
# Runs test/attacks/proc_tty_sigio in a terminal whose session leader (the user's shell's
# part) runs it in the background, then in the foreground (given the terminal, as a shell
# with job control does). Once it says SIGIO-READY the user types a line. The shell must
# live; in the foreground guardian must end the session itself (the command's status,
# session_end in the audit log), not be killed. Natively the background attack kills the
# shell; else it shows nothing here and the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_tty_sigio.sh ATTACK_EXE}
leader_py=$(dirname "$0")/tty_leader.py
leader() { /usr/bin/python3 "$leader_py" "$@"; }
native=$(leader --own-group --type "SIGIO-READY=x\\n" -- "$attack")
echo "native, background: $native"
guarded=$(leader --own-group --type "SIGIO-READY=x\\n" -- "$G" run -p "$P" -a "$T/audit.jsonl" -- "$attack")
echo "guardian, background: $guarded"
check "the shell outside the session lives" "leader: lived" "$(echo "$guarded" | grep '^leader:')"
check "the terminal's owner is no group of the shell's" "" "$(echo "$guarded" | grep TAKEN)"
check "the audit log has the refusal" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
guarded=$(leader --fg --type "SIGIO-READY=x\\n" -- "$G" run -p "$P" -a "$T/audit-fg.jsonl" -- "$attack")
echo "guardian, foreground: $guarded"
check "in the foreground guardian ends with the command's status" "attack status 0" "$(echo "$guarded" | grep '^attack status')"
check "and writes the session's end" yes "$(grep -q '"event":"session_end"' "$T/audit-fg.jsonl" && echo yes || echo no)"
[ "$fails" -eq 0 ] || finish
case $native in *"leader: killed"*) ;; *) echo "the attack does nothing natively here"; exit 77 ;; esac
finish
