#!/bin/sh
# Runs test/attacks/file_audit_tamper under guardian with its audit log in a directory the
# profile lets the session write (given relative, as `-a audit.jsonl` in the project), and
# checks the log stayed guardian's: intact by `guardian audit verify`, nothing forged in it,
# and the denials recorded; and that guardian's own program (a copy there) stayed as it was.
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_audit_tamper.sh ATTACK_EXE}
mkdir -p "$T/ws"
cat >"$T/p.yaml" <<YAML
version: 1
extends: [base]
files:
  write: ["$T/ws/**"]
exec:
  allow: ["$attack"]
YAML
# guardian's own program, a copy in that directory (a build in the project), run directly.
mkdir -p "$T/ws/bin"
cp "$GUARDIAN" "$T/ws/bin/guardian"
cd "$T/ws" || exit 1
"$T/ws/bin/guardian" run --backend "${BACKEND:-auto}" -p "$T/p.yaml" -a audit.jsonl -- \
  "$attack" audit.jsonl "$T/ws/bin/guardian" >"$T/out" 2>"$T/err"
status=$?
cat "$T/out"; tail -c 1000 "$T/err"
check "the attack did not report success" 0 "$status"
check "the log is intact" 0 "$("$G" audit verify audit.jsonl >"$T/verify" 2>&1; echo $?)"
check "nothing forged in the log" 0 "$(cat audit.jsonl audit.jsonl.* 2>/dev/null | grep -c '{"forged"')"
check "no rotation was made by the session" "" "$(ls audit.jsonl.* 2>/dev/null)"
check "guardian's program is unchanged" 0 "$(cmp -s "$GUARDIAN" "$T/ws/bin/guardian"; echo $?)"
check "the log records the denials" yes "$(grep -q '"rule":{"file":"guardian:own-audit"' audit.jsonl && echo yes || echo no)"
[ "$fails" -eq 0 ] || cat "$T/verify"
finish
