#!/bin/sh
# Runs test/attacks/proc_tty_job under a terminal's session leader (the user's shell's
# part) that also runs a background job of its own (a `sleep` in a process group of its
# own, as a shell with job control makes one): the job must not be stopped or signalled by
# the session, which joins its group to have the terminal signal it. Natively the attack
# stops the job; else it shows nothing here and the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_tty_job.sh ATTACK_EXE}
leader_py=$(dirname "$0")/tty_leader.py
leader() { /usr/bin/python3 "$leader_py" "$@"; }
native=$(leader --job -- "$attack")
echo "native: $native"
guarded=$(leader --job -- "$G" run -p "$P" -a "$T/audit.jsonl" -- "$attack")
echo "guardian: $guarded"
check "the background job outside the session runs on" "job: running" "$(echo "$guarded" | grep '^job:')"
check "the session did not join the job's group" "attack status 0" "$(echo "$guarded" | grep '^attack status')"
check "the audit log has the refusal" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
[ "$fails" -eq 0 ] || finish
case $native in *"job: stopped"*) ;; *) echo "the attack does nothing natively here"; exit 77 ;; esac
finish
