#!/bin/sh
# A project's own profile in the directory its session may write (as `guardian run -p
# guardian.yaml` in the project, under a profile that writes ${CWD}): the session must not
# widen it, or the file it extends, for the user's next run. Tried: appending a rule,
# rewriting and emptying it, renaming another file over it, removing it, replacing the
# symlink that names the extended file, chmod. Both files must be unchanged, the same
# profile must still refuse what it refused, and the log records the denials.
. "$(dirname "$0")/run_lib.sh"
mkdir -p "$T/proj/conf"
cat >"$T/proj/conf/common.yaml" <<'YAML'
version: 1
extends: [base]
files:
  write: ["${CWD}/**"]
YAML
ln -s conf/common.yaml "$T/proj/common.yaml"
cat >"$T/proj/guardian.yaml" <<'YAML'
version: 1
name: project
extends: [common.yaml]
exec:
  allow: ["/usr/bin/*", "/bin/*"]
YAML
before=$(cd "$T/proj" && ls -l guardian.yaml conf/common.yaml common.yaml | awk '{print $1, $NF}'; cat guardian.yaml conf/common.yaml)
cd "$T/proj"
"$G" run -p guardian.yaml -a "$T/audit.jsonl" -- /bin/sh -c '
printf "files:\n  read: [\"/**\"]\n" >>guardian.yaml
printf "version: 1\nfiles: {write: [\"/**\"]}\n" >guardian.yaml
: >conf/common.yaml
printf "version: 1\n" >new.yaml; mv -f new.yaml guardian.yaml
rm -f guardian.yaml conf/common.yaml
printf "version: 1\nfiles: {write: [\"/**\"]}\n" >wide.yaml; ln -sf wide.yaml common.yaml
chmod 666 guardian.yaml
true' >"$T/out" 2>"$T/err"
after=$(ls -l guardian.yaml conf/common.yaml common.yaml 2>&1 | awk '{print $1, $NF}'; cat guardian.yaml conf/common.yaml)
cd "$T"
cat "$T/err" | head -20
check "the profile and the file it extends are unchanged" "$before" "$after"
check "the log records the denials" yes "$(grep -q '"file":"guardian:own-profile"' "$T/audit.jsonl" && echo yes || echo no)"
# The next run under the same profile still cannot read what it could not.
(cd "$T/proj" && "$G" run -p guardian.yaml -- /bin/cat "$T/allow.yaml") >/dev/null 2>&1
check "the next run is refused what the profile refuses" 1 "$?"
finish
