#!/bin/sh
# learn_git: git init/add/commit/log on a local repository, learned, then enforced with zero
# denials and the native output (object names differ between runs: the profile must not care).
set -eu
. "$(dirname "$0")/learn_lib.sh"
command -v git >/dev/null || { echo "SKIP: git missing" >&2; exit 77; }
probe
echo "first file" > a.txt
cat > work.sh <<'SH'
set -e
git init -q repo
cp a.txt repo/a.txt
cd repo
git add a.txt
git -c user.name=Learner -c user.email=learner@example.org commit -q -m "first commit"
git log --format=%s
if [ -n "${VARIANT:-}" ]; then read -r line < ../b.txt; echo "$line"; fi
SH
echo "second file" > b.txt
reset_state() { rm -rf repo; }
CMD="/bin/sh work.sh"
learn_and_enforce git
expect_denied_variant git "$W/b.txt"
least_privilege git
echo ok
