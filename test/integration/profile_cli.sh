#!/bin/sh
# guardian profile check/explain/show through the real binary: output lines and exit statuses.
set -u
G=${GUARDIAN:?GUARDIAN must name the guardian binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
T=$(cd "$T" && pwd -P)
n=0
fail() { echo "FAIL: $*"; exit 1; }
expect_status() {  # expect_status WANT GOT WHAT
  n=$((n + 1))
  [ "$1" -eq "$2" ] || fail "$3: exit status $2, expected $1"
}

# show: a built-in prints as YAML and passes check; an unknown name is a usage error.
"$G" profile show default >"$T/default.yaml"; expect_status 0 $? "show default"
grep -q '^version: 1' "$T/default.yaml" || fail "show default: no version line"
grep -q 'Knowingly left out' "$T/default.yaml" || fail "show default: no closing comment"
for p in base default node python; do
  "$G" profile check "$p" >"$T/out" 2>&1; expect_status 0 $? "check built-in $p"
  grep -qx "$p: ok" "$T/out" || fail "check $p: $(cat "$T/out")"
done
"$G" profile check "$T/default.yaml" >/dev/null; expect_status 0 $? "check shown default"
"$G" profile show nope 2>"$T/err"; expect_status 125 $? "show unknown"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "show unknown: not one line"

# check: errors as FILE:LINE:COL: message on stderr, exit 1.
printf 'version: 1\nfiles:\n  raed: [/a]\n' >"$T/bad.yaml"
"$G" profile check "$T/bad.yaml" >/dev/null 2>"$T/err"; expect_status 1 $? "check bad"
grep -qx "$T/bad.yaml:3:3: unknown key 'raed' in 'files' (did you mean 'read'?)" "$T/err" || fail "check bad: $(cat "$T/err")"
"$G" profile check default "$T/bad.yaml" >/dev/null 2>&1; expect_status 1 $? "check good and bad"
"$G" profile check >/dev/null 2>&1; expect_status 125 $? "check without FILE"

# explain: first line allow/deny alone, then FILE:LINE: PATTERN; exit 0/1.
mkdir -p "$T/proj/src" "$T/real"
: >"$T/proj/src/a.c"
mkdir -p "$T/proj/out"
ln -s "$T/real" "$T/proj/link"      # where the profile cannot write: a trusted alias
ln -s "$T/real" "$T/proj/out/link"  # where the session could have planted it
cat >"$T/p.yaml" <<'YAML'
version: 1
files:
  read: ["${PROFILE_DIR}/proj/**"]
  write: ["${PROFILE_DIR}/proj/out/**"]
  deny: ["**/*.key"]
network:
  connect: ["127.0.0.1:8000-8100", "api.example.com:443"]
YAML
cd "$T/proj"
"$G" profile explain "$T/p.yaml" --read src/a.c >"$T/out"; expect_status 0 $? "explain read allowed"
[ "$(sed -n 1p "$T/out")" = allow ] || fail "explain: first line $(sed -n 1p "$T/out")"
[ "$(sed -n 2p "$T/out")" = "$T/p.yaml:3: \${PROFILE_DIR}/proj/**" ] || fail "explain: rule line $(sed -n 2p "$T/out")"
"$G" profile explain "$T/p.yaml" --write src/a.c >"$T/out"; expect_status 1 $? "explain write denied"
[ "$(sed -n 1p "$T/out")" = deny ] || fail "explain write: $(cat "$T/out")"
"$G" profile explain "$T/p.yaml" --write out/new/dir/f.txt >"$T/out"; expect_status 0 $? "explain write to a new path"
grep -qx "path: $T/proj/out/new/dir/f.txt" "$T/out" || fail "explain new path: $(cat "$T/out")"
"$G" profile explain "$T/p.yaml" --read src/../src/./a.c >/dev/null; expect_status 0 $? "explain ./.. folded"
"$G" profile explain "$T/p.yaml" --read out/link/x >"$T/out"; expect_status 1 $? "explain through a planted symlink"
grep -qx "path: $T/real/x" "$T/out" || fail "explain symlink: $(cat "$T/out")"
"$G" profile explain "$T/p.yaml" --read link/x >"$T/out"; expect_status 0 $? "explain through a read-only alias"
"$G" profile explain "$T/p.yaml" --read src/server.key >"$T/out"; expect_status 1 $? "explain deny rule"
[ "$(sed -n 2p "$T/out")" = "$T/p.yaml:5: **/*.key" ] || fail "explain deny: $(cat "$T/out")"
"$G" profile explain "$T/p.yaml" --stat "$T" >"$T/out"; expect_status 0 $? "explain stat ancestor"
"$G" profile explain "$T/p.yaml" --exec /bin/sh >/dev/null; expect_status 1 $? "explain exec not allowed"
"$G" profile explain "$T/p.yaml" --connect 127.0.0.1:8080 >/dev/null; expect_status 0 $? "explain connect in range"
"$G" profile explain "$T/p.yaml" --connect '[::ffff:127.0.0.1]:8080' >/dev/null; expect_status 0 $? "explain mapped v6"
"$G" profile explain "$T/p.yaml" --connect 127.0.0.1:9000 >/dev/null; expect_status 1 $? "explain connect out of range"
"$G" profile explain "$T/p.yaml" --connect api.example.com:443 >/dev/null; expect_status 0 $? "explain connect by name"
"$G" profile explain "$T/p.yaml" --bind 127.0.0.1:8080 >/dev/null; expect_status 1 $? "explain bind"
"$G" profile explain default --read "$HOME/.ssh/id_rsa" >"$T/out"; expect_status 1 $? "explain default ssh key"
"$G" profile explain default --exec /bin/sh >/dev/null; expect_status 0 $? "explain default /bin/sh"

# usage errors: one line, exit 125; --help exits 0.
"$G" profile explain "$T/p.yaml" --frobnicate x 2>"$T/err"; expect_status 125 $? "unknown option"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "unknown option: not one line: $(cat "$T/err")"
"$G" profile explain "$T/p.yaml" --read 2>"$T/err"; expect_status 125 $? "missing argument"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "missing argument: not one line"
"$G" profile explain "$T/p.yaml" --read a --write b 2>/dev/null; expect_status 125 $? "two queries"
"$G" profile explain "$T/bad.yaml" --read /x 2>/dev/null; expect_status 125 $? "explain with a bad profile"
"$G" profile explain "$T/p.yaml" --connect nope 2>/dev/null; expect_status 125 $? "bad address"
"$G" profile frob 2>/dev/null; expect_status 125 $? "unknown subcommand"
"$G" profile 2>/dev/null; expect_status 125 $? "no subcommand"
for sub in check explain show; do
  "$G" profile $sub --help >"$T/out"; expect_status 0 $? "$sub --help"
  grep -q "usage: guardian profile $sub" "$T/out" || fail "$sub --help text"
done
"$G" profile --help >/dev/null; expect_status 0 $? "profile --help"
echo "ok: $n checks"
