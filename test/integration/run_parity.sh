#!/bin/sh
# Everyday developer commands under the built-in default profile (and a narrow profile of
# one's own) behave exactly as natively: stdout, stderr, exit status and the files made.
# Each case runs in two fresh copies of the same project; tools that are missing are skipped.
. "$(dirname "$0")/run_lib.sh"
export HOME="$T/home" TMPDIR="$T/tmp" LANG=C LC_ALL=C PATH=/usr/bin:/bin
export npm_config_update_notifier=false GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
mkdir -p "$HOME" "$TMPDIR"
ran=0
# parity NAME PROFILE SETUP CMD: SETUP (sh) prepares $T/n and $T/g alike; CMD (sh) runs in
# each, natively and under guardian (PROFILE "" = the built-in default). Compared: stdout,
# stderr, status and a listing of the files (names, modes, contents) left in the project.
parity() {
  name=$1; prof=$2; setup=$3; cmd=$4
  for s in n g; do
    rm -rf "$T/$s"; mkdir -p "$T/$s"
    (cd "$T/$s" && /bin/sh -c "$setup") >/dev/null 2>&1 || { check "$name: setup" ok failed; return; }
  done
  (cd "$T/n" && /bin/sh -c "$cmd") >"$T/n.out" 2>"$T/n.err"; n=$?
  if [ -n "$prof" ]; then (cd "$T/g" && "$G" run -p "$prof" -- /bin/sh -c "$cmd") >"$T/g.out" 2>"$T/g.err"
  else (cd "$T/g" && "$G" run -- /bin/sh -c "$cmd") >"$T/g.out" 2>"$T/g.err"; fi
  g=$?
  ran=$((ran + 1))
  check "$name: status" "$n" "$g"
  sed -i "s|$T/g|$T/n|g" "$T/g.out" "$T/g.err"
  # LAX=1: guardian's own summary of what it refused is left out of the comparison (probes
  # of names that do not exist, which the program does not miss).
  if [ -n "${LAX:-}" ]; then grep -v '^guardian:' "$T/g.err" >"$T/g.err2"; mv "$T/g.err2" "$T/g.err"; fi
  if cmp -s "$T/n.out" "$T/g.out"; then check "$name: stdout" same same
  else check "$name: stdout" same "differs: $(diff "$T/n.out" "$T/g.out" | head -8)"; fi
  if cmp -s "$T/n.err" "$T/g.err"; then check "$name: stderr" same same
  else check "$name: stderr" same "differs: $(diff "$T/n.err" "$T/g.err" | head -8)"; fi
  (cd "$T/n" && find . -name .git -prune -o -print0 | sort -z | xargs -0 stat -c '%n %A %s') >"$T/n.ls" 2>&1
  (cd "$T/g" && find . -name .git -prune -o -print0 | sort -z | xargs -0 stat -c '%n %A %s') >"$T/g.ls" 2>&1
  if cmp -s "$T/n.ls" "$T/g.ls"; then check "$name: files" same same
  else check "$name: files" same "differs: $(diff "$T/n.ls" "$T/g.ls" | head -8)"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }

# What the project builds runs where a profile names it: `make check` runs the test
# programs just compiled. default itself executes only what is installed (spec): there
# the program the session wrote does not run.
cat >"$T/build.yaml" <<'Y'
version: 1
extends: [default]
exec:
  allow: ["${CWD}/**"]
Y
if have make && have gcc && have ar; then
  parity "default + exec of the project: make -j2, ar, make check" "$T/build.yaml" '
    mkdir src && for i in 1 2 3; do echo "int f$i(void){return $i;}" >src/f$i.c; done
    printf "int f1(void),f2(void),f3(void);\nint main(void){return f1()+f2()+f3()==6?0:1;}\n" >src/t.c
    printf "OBJ=src/f1.o src/f2.o src/f3.o\nall: t\nlibf.a: \$(OBJ)\n\tar rcs \$@ \$^\nt: src/t.o libf.a\n\t\$(CC) -o \$@ \$^\ncheck: t\n\t./t && echo passed\n" >Makefile' \
    'make -j2 >/dev/null && make check; ./t; echo "t $?"'
  mkdir -p "$T/d" && printf '#!/bin/sh\ntouch ran\n' >"$T/d/tool" && chmod +x "$T/d/tool"
  (cd "$T/d" && "$G" run -- /bin/sh -c ./tool) >/dev/null 2>&1; st=$?
  check "default: a program the session could write does not run" "126 no" "$st $([ -e "$T/d/ran" ] && echo yes || echo no)"
fi
# npx and `npm exec` of a package's bin (a #! node script under node_modules/.bin).
if have node && have npm && have npx; then
  LAX=1; parity "node: npx of a local bin" node '
    mkdir -p node_modules/hello/bin node_modules/.bin
    echo "{\"name\":\"p\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"hello t\"}}" >package.json
    echo "{\"name\":\"hello\",\"version\":\"1.0.0\",\"bin\":{\"hello\":\"bin/h.js\"}}" >node_modules/hello/package.json
    printf "#!/usr/bin/env node\nconsole.log(\"hello\", process.argv.slice(2).join(\" \"))\n" >node_modules/hello/bin/h.js
    chmod +x node_modules/hello/bin/h.js && ln -s ../hello/bin/h.js node_modules/.bin/hello' \
    'npx hello a b && npm exec -- hello c && npm test 2>&1 | grep hello'
  LAX=
fi
# A pre-commit hook the user installed in a repository made before the session runs as
# natively (writing one there stays refused: run_new_repository).
if have git; then
  LAX=1; parity "default: git commit runs an existing hook" "" '
    git init -q r && cd r && echo a >f && git add f &&
    git -c user.name=a -c user.email=a@b commit -qm one &&
    printf "#!/bin/sh\necho hook ran\n" >.git/hooks/pre-commit && chmod +x .git/hooks/pre-commit' \
    'cd r && echo b >>f && git -c user.name=a -c user.email=a@b commit -qam two; echo "commit $?"; git log --format=%s'
  LAX=
fi
[ "$ran" -gt 0 ] || { echo "SKIP: none of make, gcc, node, npm, git"; exit 77; }
finish
