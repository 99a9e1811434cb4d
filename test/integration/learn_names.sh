#!/bin/sh
# learn_names: file names beyond ASCII survive learn -> enforce: UTF-8 names (accents, an
# emoji, a space) and a name that is not UTF-8 at all (Latin-1 "caf\351"), which the audit
# log carries as \u00e9 and the generaliser must turn back into the same byte, not into
# the UTF-8 "é" of another file. Also: the log's session_start records HOME and TMPDIR, so
# `learn --from-audit` elsewhere (another HOME) still writes ${HOME} rules.
set -eu
. "$(dirname "$0")/learn_lib.sh"
probe
latin1=$(printf 'caf\351')
mkdir -p data out
echo one > "$HOME/café.txt"
echo two > "$HOME/naïve 😀.cfg"
echo three > "data/$latin1.txt"
echo decoy > "data/café.txt"  # what a Latin-1 reading of the log would name instead
cat > names.sh <<'SH'
set -e
cat "$HOME/café.txt" "$HOME/naïve 😀.cfg" "data/$(printf 'caf\351').txt"
echo written > "out/résumé.txt"
cat "out/résumé.txt"
SH
reset_state() { rm -f out/*; }
CMD="/bin/sh names.sh"
learn_and_enforce names
# The decoy was never read: the profile must not let it be.
expect_explain_deny names read "$W/data/café.txt"
least_privilege names

# session_start carries home and tmpdir (resolved, as the profile's variables are).
reset_state
"$GUARDIAN" learn -a "$T/names.jsonl" -o "$T/again.yaml" -- $CMD >/dev/null 2>"$T/again.err" ||
  fail "learn -a: $(cat "$T/again.err")"
start=$(grep '"event":"session_start"' "$T/names.jsonl")
home_real=$(realpath "$HOME")
echo "$start" | grep -qF "\"home\":\"$home_real\"" || fail "session_start lacks home: $start"
echo "$start" | grep -qF "\"tmpdir\":\"$(realpath "$TMPDIR")\"" || fail "session_start lacks tmpdir: $start"
# Learned from the log under another HOME, the rules still name ${HOME}, not a path.
HOME=/nonexistent "$GUARDIAN" learn --from-audit "$T/names.jsonl" -o "$T/elsewhere.yaml" 2>"$T/elsewhere.err" ||
  fail "learn --from-audit: $(cat "$T/elsewhere.err")"
grep -qF '${HOME}/café.txt' "$T/elsewhere.yaml" || { cat "$T/elsewhere.yaml" >&2; fail "no \${HOME} rule from the recorded home"; }
# (rules only: the comments say where the evidence came from)
if sed -e '/^#/d' -e 's/  #.*//' "$T/elsewhere.yaml" | grep -qF "$home_real"; then
  cat "$T/elsewhere.yaml" >&2
  fail "the profile learned elsewhere names the recorded home literally"
fi
echo ok
