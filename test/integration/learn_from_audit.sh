#!/bin/sh
# learn_from_audit: `guardian run --mode complain -a LOG` then `guardian learn --from-audit LOG`
# builds the same profile as `guardian learn -- CMD`; `--merge` widens it with a second run
# and `profile diff` shows exactly what changed.
set -eu
. "$(dirname "$0")/learn_lib.sh"
probe
echo in > in.txt
echo more > more.txt
cat > job.sh <<'SH'
cat in.txt > out.txt
if [ -n "${MORE:-}" ]; then cat more.txt >> out.txt; fi
SH
"$GUARDIAN" learn -o "$T/direct.yaml" -- /bin/sh job.sh 2>"$T/err" || fail "direct learn: $(cat "$T/err")"
rm -f out.txt
"$GUARDIAN" run --mode complain -a "$T/log.jsonl" -- /bin/sh job.sh 2>"$T/err" || fail "complain run: $(cat "$T/err")"
"$GUARDIAN" learn --from-audit "$T/log.jsonl" -o "$T/fromlog.yaml" 2>"$T/err" || fail "from-audit: $(cat "$T/err")"
diff -u "$T/direct.yaml" "$T/fromlog.yaml" >&2 || fail "--from-audit built another profile than direct learning"

# the second run needs more.txt: merge widens the profile, keeping its rules
MORE=1 "$GUARDIAN" learn -o "$T/merged.yaml" --merge "$T/direct.yaml" -- /bin/sh job.sh 2>"$T/err" ||
  fail "merge: $(cat "$T/err")"
"$GUARDIAN" profile check "$T/merged.yaml" || fail "the merged profile does not check"
grep -qF '"${CWD}/in.txt"' "$T/merged.yaml" || fail "merge lost a rule"
set +e
"$GUARDIAN" profile diff "$T/direct.yaml" "$T/merged.yaml" >"$T/diff.out"
rc=$?
set -e
[ "$rc" = 1 ] || fail "profile diff of different profiles exited $rc"
grep -q '^+ read .*more.txt' "$T/diff.out" || fail "diff does not show the new read: $(cat "$T/diff.out")"
grep -q '^- ' "$T/diff.out" && fail "diff shows something only the old profile allows: $(cat "$T/diff.out")"
"$GUARDIAN" profile diff "$T/direct.yaml" "$T/direct.yaml" >/dev/null || fail "diff of a profile with itself"

# bad logs: a line-numbered message and 125, never a crash
printf '{"v":1,"event":"session_start","cwd":"/"}\n{"v":1,"event":"decision",\n' >"$T/bad.jsonl"
set +e
"$GUARDIAN" learn --from-audit "$T/bad.jsonl" -o "$T/bad.yaml" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 125 ] || fail "a malformed log gave status $rc"
grep -q "bad.jsonl:2:" "$T/err" || fail "no line number for a malformed log: $(cat "$T/err")"
echo ok
