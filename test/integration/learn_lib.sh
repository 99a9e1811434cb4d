# Shared by the learn_*.sh tests (sourced, not run): a private HOME, work dir and TMPDIR,
# and the learn -> enforce -> variant -> least-privilege sequence every workload goes through.
# Tests never read the real user's files: HOME, TMPDIR and the work dir live under $T.

: "${GUARDIAN:?GUARDIAN must name the guardian binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/guardian-learn-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
export HOME="$T/home" TMPDIR="$T/tmp"
W="$T/work"
mkdir -p "$HOME" "$TMPDIR" "$W" "$T/elsewhere"
echo "private" > "$HOME/sibling.txt"
echo "not for the workload" > "$T/elsewhere/file.txt"
unset GUARDIAN_INTERIM_ALLOW_ALL 2>/dev/null || true
export LC_ALL=C
cd "$W"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Skip (77) when this machine cannot supervise at all; anything else is the test's business.
probe() {
  if ! "$GUARDIAN" run -p default -- /bin/true 2>"$T/probe.err"; then
    echo "SKIP: guardian run cannot supervise here: $(cat "$T/probe.err")" >&2
    exit 77
  fi
}

# denials LOG: how many deny decisions the audit log holds
denials() { grep -c '"decision":"deny"' "$1" || true; }

# learn_and_enforce NAME: with reset_state defined and CMD set by the caller (words without
# spaces; the workload itself),
#   1. runs the workload natively, 2. learns it, 3. checks the profile, 4. enforces it and
#   compares output and exit status with the native run, with zero denials.
learn_and_enforce() {
  name=$1
  reset_state
  set +e; $CMD >"$T/native.out" 2>"$T/native.err"; native_rc=$?; set -e
  [ "$native_rc" = 0 ] || fail "$name: the native run failed ($native_rc): $(cat "$T/native.err")"
  reset_state
  set +e; "$GUARDIAN" learn -o "$T/$name.yaml" -- $CMD >"$T/learn.out" 2>"$T/learn.err"; rc=$?; set -e
  [ "$rc" = 0 ] || fail "$name: learn exited $rc: $(cat "$T/learn.err")"
  cmp -s "$T/native.out" "$T/learn.out" || fail "$name: output under learn differs"
  "$GUARDIAN" profile check "$T/$name.yaml" || fail "$name: the learned profile does not check"
  grep -q '^extends: \["base"\]' "$T/$name.yaml" || fail "$name: the profile does not extend base"
  reset_state
  set +e
  "$GUARDIAN" run -p "$T/$name.yaml" -a "$T/enforce.jsonl" -- $CMD >"$T/enforce.out" 2>"$T/enforce.err"
  rc=$?
  set -e
  n=$(denials "$T/enforce.jsonl")
  if [ "$rc" != 0 ] || [ "$n" != 0 ]; then
    echo "--- profile" >&2; cat "$T/$name.yaml" >&2
    echo "--- denials" >&2; grep '"decision":"deny"' "$T/enforce.jsonl" | head -20 >&2
    fail "$name: enforcing the learned profile: status $rc, $n denials: $(cat "$T/enforce.err")"
  fi
  if ! cmp -s "$T/native.out" "$T/enforce.out"; then
    diff "$T/native.out" "$T/enforce.out" >&2 || true
    cat "$T/enforce.err" >&2
    fail "$name: output under the learned profile differs"
  fi
}

# expect_denied_variant NAME PATH: the variant workload (VARIANT=1) touches PATH, which the
# profile never saw: guardian must deny it and log that denial.
expect_denied_variant() {
  name=$1 path=$2
  reset_state
  set +e
  VARIANT=1 "$GUARDIAN" run -p "$T/$name.yaml" -a "$T/variant.jsonl" -- $CMD >/dev/null 2>"$T/variant.err"
  set -e
  grep '"decision":"deny"' "$T/variant.jsonl" | grep -qF "\"path\":\"$path\"" ||
    fail "$name: the variant's access to $path was not denied"
}

# expect_explain_deny NAME OP PATH: `profile explain` says deny (exit 1).
expect_explain_deny() {
  set +e
  out=$("$GUARDIAN" profile explain "$T/$1.yaml" "--$2" "$3")
  rc=$?
  set -e
  [ "$rc" = 1 ] && [ "$(echo "$out" | head -n1)" = deny ] || fail "$1: explain --$2 $3 gave $rc: $out"
}

# The least-privilege checks every workload shares.
least_privilege() {
  expect_explain_deny "$1" read "$HOME/sibling.txt"
  expect_explain_deny "$1" read "$T/elsewhere/file.txt"
  expect_explain_deny "$1" write "$HOME/new.txt"
  expect_explain_deny "$1" read /etc/shadow
}
