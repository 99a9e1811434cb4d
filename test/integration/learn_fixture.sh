#!/bin/sh
# learn_fixture: `guardian learn --from-audit` on a recorded complain-mode log (test/data/learn,
# spec §3 records), then `profile check`, `explain` and `diff` on the result. Needs no kernel
# support: it shows the generaliser's choices through the command line.
set -eu
: "${GUARDIAN:?}" "${LEARN_DATA:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/guardian-learn-fixture.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
explain() {  # explain EXPECTED OP PATH
  set +e
  out=$("$GUARDIAN" profile explain "$T/p.yaml" "--$2" "$3")
  rc=$?
  set -e
  [ "$(echo "$out" | head -n1)" = "$1" ] || fail "explain --$2 $3: expected $1, got ($rc) $out"
}
# The log's session_start names CWD, HOME and TMPDIR under /srv/learnfix; move them into $T
# so that `explain` (which takes ${CWD} from where it runs) sees the same variables.
T=$(cd "$T" && pwd -P)
mkdir -p "$T/work" "$T/home" "$T/tmp"
sed "s|/srv/learnfix|$T|g" "$LEARN_DATA/python-complain.jsonl" >"$T/log.jsonl"
cd "$T/work"
export HOME="$T/home" TMPDIR="$T/tmp"
"$GUARDIAN" learn --from-audit "$T/log.jsonl" -o "$T/p.yaml" 2>"$T/err" || fail "learn: $(cat "$T/err")"
"$GUARDIAN" profile check "$T/p.yaml" >/dev/null || fail "the learned profile does not check"
explain allow read $T/work/input/a.txt
explain deny read $T/work/input/c.txt
explain deny read $T/home/.ssh/id_rsa
explain allow write $T/work/out/other.json
explain deny write $T/work/input/a.txt
explain allow write $T/tmp/tmpq1w2e3r4
explain deny write $T/tmp/other-name.txt
explain allow exec /usr/bin/wc
explain deny exec /usr/bin/curl
for w in 'extends: \["base"\]' "\"\${CWD}/input/a.txt\"  # 1 op: $T/work/input/a.txt" \
         '"${TMPDIR}/tmp????????"' '"${CWD}/out/\*\*"' 'dns: true'; do
  grep -q "$w" "$T/p.yaml" || fail "the profile lacks $w"
done
# nothing base allows is repeated
grep -q '/usr/lib/python3' "$T/p.yaml" && fail "the profile repeats what base allows"
# the same log gives the same profile
"$GUARDIAN" learn --from-audit "$T/log.jsonl" -o "$T/again.yaml" 2>/dev/null
cmp -s "$T/p.yaml" "$T/again.yaml" || fail "learning is not deterministic"
"$GUARDIAN" profile diff "$T/p.yaml" "$T/again.yaml" >/dev/null || fail "diff of equal profiles"
# usage errors: one line, status 125
set +e
"$GUARDIAN" learn --bogus 2>"$T/err"; rc=$?
set -e
[ "$rc" = 125 ] && [ "$(wc -l <"$T/err")" = 1 ] || fail "unknown option: status $rc, $(cat "$T/err")"
set +e
"$GUARDIAN" learn --from-audit "$T/missing.jsonl" -o "$T/x.yaml" 2>"$T/err"; rc=$?
set -e
[ "$rc" = 125 ] && grep -q "missing.jsonl" "$T/err" || fail "missing log: status $rc"
echo ok
