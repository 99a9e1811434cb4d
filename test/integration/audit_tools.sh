#!/bin/sh
# guardian audit summary/query/tree/report/verify on generated logs: counts agree with an
# independent count (python), tampering is found on the right line, malformed lines are
# reported and skipped, OCSF and rotated logs read the same, bad options exit 125.
set -u
: "${GUARDIAN:?}" "${AUDIT_GEN:?}"
PY=/usr/bin/python3
T=$(mktemp -d /tmp/guardian-audit-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() { # expect STATUS CMD... : runs CMD, checks its exit status
  want=$1; shift
  "$@" >"$T/out" 2>"$T/err"; got=$?
  [ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(head -3 "$T/err")"
}
count() { # count FILE FIELD VALUE: records whose FIELD is VALUE, counted by python
  $PY -c 'import json,sys
n=0
for l in open(sys.argv[1]):
    try: r=json.loads(l)
    except Exception: continue
    r=r.get("unmapped",r)
    if str(r.get(sys.argv[2]))==sys.argv[3]: n+=1
print(n)' "$@"
}

LOG=$T/log.jsonl
"$AUDIT_GEN" --generate "$LOG" 5000 || { echo "generator failed"; exit 1; }
ndeny=$(count "$LOG" decision deny)
nallow=$(count "$LOG" decision allow)
[ "$ndeny" -gt 0 ] || fail "generator wrote no denials"

# verify: intact
expect 0 "$GUARDIAN" audit verify "$LOG"
grep -q '^OK: 5000 records, 1 session, intact and complete; final hash [0-9a-f]\{64\}$' "$T/out" || fail "verify OK line: $(cat "$T/out")"

# summary
expect 0 "$GUARDIAN" audit summary "$LOG"
grep -q "command    sh -c 'make -j2 && ./run-tests'" "$T/out" || fail "summary command line"
grep -q "^decisions    allow $nallow  deny $ndeny\$" "$T/out" || fail "summary counts (want allow $nallow deny $ndeny): $(grep decisions "$T/out")"
grep -q '/home/dev/.ssh/id_ed25519 .*guardian.yaml:8 ~/.ssh/\*\*' "$T/out" || fail "summary denial grouped by rule"
expect 0 "$GUARDIAN" audit summary --json "$LOG"
$PY -c 'import json,sys; s=json.loads(open(sys.argv[1]).read()); assert s["counts"]["deny"]==int(sys.argv[2]), s["counts"]' "$T/out" "$ndeny" || fail "summary --json counts"

# query
expect 0 "$GUARDIAN" audit query "$LOG" --decision deny --json
[ "$(wc -l <"$T/out")" -eq "$ndeny" ] || fail "query --decision deny --json: $(wc -l <"$T/out") lines, want $ndeny"
nssh=$(grep -c '"path":"/home/dev/.ssh/id_ed25519"' "$LOG")
expect 0 "$GUARDIAN" audit query "$LOG" --path '/home/*/.ssh/**' --json
[ "$(wc -l <"$T/out")" -eq "$nssh" ] || fail "query --path glob"
expect 0 "$GUARDIAN" audit query "$LOG" --category network --addr 140.82.112.5
grep -q '140.82.112.5:443' "$T/out" && ! grep -q '140.82.112.6:' "$T/out" || fail "query --addr host"
expect 0 "$GUARDIAN" audit query "$LOG" --pid 1003 --op write --json
$PY -c 'import json,sys
rs=[json.loads(l) for l in open(sys.argv[1])]
assert rs and all(r["pid"]==1003 and r["op"]=="write" for r in rs), len(rs)' "$T/out" || fail "query --pid --op"
expect 0 "$GUARDIAN" audit query "$LOG" --since 2999-01-01T00:00:00Z --json
[ ! -s "$T/out" ] || fail "query --since in the future printed records"
expect 0 "$GUARDIAN" audit query "$LOG" --event session_end
grep -q 'session_end' "$T/out" || fail "query table for session_end"
expect 125 "$GUARDIAN" audit query "$LOG" --decision maybe
expect 125 "$GUARDIAN" audit query "$LOG" --since yesterday

# tree
expect 0 "$GUARDIAN" audit tree "$LOG"
grep -q "^1000  sh -c 'make -j2 && ./run-tests'" "$T/out" || fail "tree root: $(sed -n 2p "$T/out")"
grep -q "^├─ 1001  cc1 -quiet src/file1001.c  \[/usr/bin/cc1\]  exit 0  allow [0-9]*  deny [0-9]*" "$T/out" || fail "tree child: $(sed -n 3p "$T/out")"

# report: self-contained, shows the counts
expect 0 "$GUARDIAN" audit report "$LOG" -o "$T/r.html"
grep -q "id=\"count-deny-0\">$ndeny<" "$T/r.html" || fail "report deny count"
grep -q "id=\"count-allow-0\">$nallow<" "$T/r.html" || fail "report allow count"
if grep -Eq '(src|href)=|https?://|@import' "$T/r.html"; then fail "report references external resources"; fi
expect 125 "$GUARDIAN" audit report "$LOG"

# verify: tampering is found on its line
sed '10s/"pid":/"pid":1/' "$LOG" >"$T/edited"
expect 1 "$GUARDIAN" audit verify "$T/edited"
grep -q "edited:10: hash mismatch" "$T/out" || fail "verify edited: $(head -2 "$T/out")"
sed '20d' "$LOG" >"$T/deleted"
expect 1 "$GUARDIAN" audit verify "$T/deleted"
grep -q "deleted:20: seq jumps from 19 to 21" "$T/out" || fail "verify deleted: $(head -2 "$T/out")"
head -n 4000 "$LOG" >"$T/truncated"
expect 1 "$GUARDIAN" audit verify "$T/truncated"
grep -q "truncated:4000: session .* is incomplete" "$T/out" || fail "verify truncated: $(head -2 "$T/out")"

# malformed lines: reported with their line number, skipped, never a crash
{ head -n 2 "$LOG"; echo 'garbage {'; printf '\001\377\n'; tail -n +3 "$LOG"; } >"$T/malformed"
expect 0 "$GUARDIAN" audit summary "$T/malformed"
grep -q "malformed:3: malformed record skipped" "$T/err" || fail "malformed line 3 not reported: $(cat "$T/err")"
grep -q "malformed:4: malformed record skipped" "$T/err" || fail "malformed line 4 not reported"
grep -q "^decisions    allow $nallow  deny $ndeny\$" "$T/out" || fail "counts changed by malformed lines"
expect 1 "$GUARDIAN" audit verify "$T/malformed"
head -c 100000 /dev/urandom >"$T/random"
for sub in summary tree verify; do "$GUARDIAN" audit $sub "$T/random" >/dev/null 2>&1; [ $? -lt 2 ] || fail "$sub on random bytes crashed or failed"; done

# OCSF lines carry the same records
"$AUDIT_GEN" --generate "$T/ocsf.jsonl" 3000 ocsf
expect 0 "$GUARDIAN" audit verify "$T/ocsf.jsonl"
head -n 3 "$T/ocsf.jsonl" | tail -n 1 | grep -q '"class_uid":1007' || fail "OCSF exec decision not Process Activity"
expect 0 "$GUARDIAN" audit summary "$T/ocsf.jsonl"
grep -q "^decisions    allow $(count "$T/ocsf.jsonl" decision allow)  deny $(count "$T/ocsf.jsonl" decision deny)\$" "$T/out" || fail "OCSF summary counts"

# rotation: the chain continues across files given oldest first
"$AUDIT_GEN" --generate "$T/rot.jsonl" 3000 jsonl 200000
[ -f "$T/rot.jsonl.3" ] || fail "rotation produced too few files"
files=$(ls -v "$T"/rot.jsonl.*)
expect 0 "$GUARDIAN" audit verify $files "$T/rot.jsonl"
grep -q '^OK: 3000 records' "$T/out" || fail "rotated verify: $(cat "$T/out")"
expect 1 "$GUARDIAN" audit verify "$T/rot.jsonl"

# options
expect 125 "$GUARDIAN" audit summary --bogus "$LOG"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "unknown option: not one line: $(cat "$T/err")"
expect 125 "$GUARDIAN" audit frobnicate "$LOG"
expect 125 "$GUARDIAN" audit verify
expect 125 "$GUARDIAN" audit verify "$T/does-not-exist"
for sub in summary query tree report verify; do
  expect 0 "$GUARDIAN" audit $sub --help
  grep -q "^usage: guardian audit $sub" "$T/out" || fail "$sub --help"
done

[ "$fails" -eq 0 ] && echo "all audit tool checks passed"
[ "$fails" -eq 0 ]
