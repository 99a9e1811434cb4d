#!/bin/sh
# default write-protects .git/hooks and .git/config; a repository the session makes itself
# is spared (guardian:new-repository). Checks by real effect, under the built-in default:
# - git init, add, commit, config and git clone of a local repository work as natively;
# - a repository that was there before keeps its hooks and config, also against a race
#   that swaps it with the new one (whole directories renamed in a loop, or a symlink to
#   it put in place of the new .git) while another thread writes a hook and the config
#   through the new one's path;
# - both backends (BACKEND=ptrace: its kernel opens the checked path with RESOLVE_NO_SYMLINKS).
. "$(dirname "$0")/run_lib.sh"
W=$T/w; mkdir -p "$W" "$T/tmp"; cd "$W" || exit 1
export HOME="$T" TMPDIR="$T/tmp" LANG=C LC_ALL=C PATH=/usr/bin:/bin
git_id='-c user.name=a -c user.email=a@b'
mkrepo() { mkdir -p "$1" && (cd "$1" && git init -q && echo a >f && git add f && git $git_id commit -qm one && git config guard.id "$2"); }
mkrepo src src || exit 1

steps="git init -q n && cd n && echo x >y && git add y && git $git_id commit -qm one && git config guard.id n &&
  git config guard.id && git log --format=%s && ls .git/hooks | grep -c sample && cd .. &&
  git clone -q src cl && git -C cl log --format=%s && git -C cl config guard.id || true"
/bin/sh -c "$steps" >"$T/n.out" 2>"$T/n.err"; n=$?
rm -rf n cl
"$G" run -- /bin/sh -c "$steps" >"$T/g.out" 2>"$T/g.err"; g=$?
grep -v '^guardian:' "$T/g.err" >"$T/g.err2"
echo "native: $(cat "$T/n.out" "$T/n.err")"; echo "guardian: $(cat "$T/g.out" "$T/g.err")"
check "git init, commit, config, clone: status" "$n" "$g"
check "git init, commit, config, clone: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
check "git init, commit, config, clone: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err2")"
rm -rf n cl

# The repository that was there before: hooks and config unchanged, nothing planted.
mkrepo old old || exit 1
snapshot() { for d in "$W"/*/.git; do [ "$(git -C "$d/.." config guard.id)" = old ] && { ls -la "$d/hooks"; cat "$d/config"; }; done; }
before=$(snapshot)
"$G" run -- /bin/sh -c 'cd old && git config core.fsmonitor "touch /tmp/x"; echo evil >.git/hooks/pre-commit;
  chmod +x .git/hooks/pre-commit.sample; mv .git/config .git/c2' >/dev/null 2>&1
check "the older repository's hooks and config are unchanged" "$before" "$(snapshot)"
# .git/commondir moves where git takes hooks and config from: pointed at a directory the
# session filled (a copy of the repository with a hook), git in the older one would run it.
rm -f "$T/pwned"
"$G" run -- /bin/sh -c 'mkdir -p evil/hooks && cp -r old/.git/config old/.git/objects old/.git/refs evil/ &&
  printf "#!/bin/sh\ntouch $1\n" >evil/hooks/post-checkout && chmod +x evil/hooks/post-checkout &&
  echo "$PWD/evil" >old/.git/commondir; mkdir -p old/.git/worktrees/w && echo "$PWD/evil" >old/.git/worktrees/w/commondir' \
  sh "$T/pwned" >/dev/null 2>&1
git -C old checkout -q -b via-commondir >/dev/null 2>&1
check "the older repository's commondir is not written" "no no" \
  "$([ -e old/.git/commondir ] && echo yes || echo no) $([ -e "$T/pwned" ] && echo yes || echo no)"
rm -rf evil old/.git/worktrees

# The race: whole repositories swapped (allowed: the same verdicts below both names) while
# hooks and config are written through the new repository's path.
cat >"$T/tmp/race.py" <<'PY'
import os, subprocess, threading, time
os.chdir(os.environ["W"])
subprocess.run(["git", "init", "-q", "new"], check=True)
stop = time.time() + 2
swaps = writes = 0
def swapper():
    global swaps
    while time.time() < stop:
        try:
            os.rename("old", "x"); os.rename("new", "old"); os.rename("old", "new"); os.rename("x", "old")
            swaps += 1
        except OSError:
            pass
links = 0
def linker():
    # The new repository moved aside and a symlink to the older one put in its place: a
    # write that follows it would land in the older repository.
    global links
    while time.time() < stop:
        try:
            os.rename("new", "n2")
        except OSError:
            continue
        try:
            os.symlink("old", "new")
            links += 1
        except OSError:
            pass
        restore()
def restore():
    # The new repository back in its place, whatever failed above (a symlink left there
    # would make the snapshot below see the older repository twice).
    for _ in range(100):
        try:
            if os.path.islink("new"): os.unlink("new")
            if os.path.isdir("n2"): os.rename("n2", "new")
            return
        except OSError:
            time.sleep(0.01)
def writer():
    global writes
    while time.time() < stop:
        for p, mode in (("new/.git/hooks/pre-commit", "w"), ("new/.git/config", "a")):
            try:
                with open(p, mode) as f: f.write("[core]\n\tfsmonitor = evil\n" if mode == "a" else "#!/bin/sh\nevil\n")
                writes += 1
            except OSError:
                pass
ts = [threading.Thread(target=swapper), threading.Thread(target=writer), threading.Thread(target=linker)]
for t in ts: t.start()
for t in ts: t.join()
restore()
print("swaps", swaps, "writes", writes, "links", links)
PY
W=$W "$G" run -- /usr/bin/python3 "$T/tmp/race.py" >"$T/race.out" 2>"$T/race.err"
cat "$T/race.out"; tail -3 "$T/race.err"
# A directory holding an older repository does not move by rename at all (its place could
# then take a new repository with hooks of its own): every swap fails.
check "the older repository could not be moved aside" 0 "$(awk '{print $2}' "$T/race.out")"
check "the symlink was swapped in during the race" yes "$(awk '$6 > 0 {print "yes"}' "$T/race.out")"
check "the race wrote through the new repository" yes "$(awk '$4 > 0 {print "yes"}' "$T/race.out")"
check "the older repository's hooks and config are unchanged after the race" "$before" "$(snapshot)"
check "no evil in the older repository" 0 "$(for d in "$W"/*/.git; do [ "$(git -C "$d/.." config guard.id)" = old ] && grep -rl evil "$d/hooks" "$d/config"; done | wc -l)"
# Moving aside: the older repository stays where it is, its place is not free for a clone
# with a hook; a repository made in the session moves as natively.
at_old() { ls -l "$W/old/.git/hooks" | grep -v "^total"; cat "$W/old/.git/config"; }
before_old=$(at_old)
"$G" run -- /bin/sh -c 'git init -q mine && mv mine mine2 && echo moved; mv old old-aside; git clone -q old-aside old; echo >old/.git/hooks/pre-commit' >"$T/aside.out" 2>"$T/aside.err"
check "a repository made in the session moves by rename" moved "$(cat "$T/aside.out")"
# mv copies the older one (it may not rename it) and sets the copies' times and modes
# through their descriptors: they are the session's, so that works as natively.
check "mv sets the times and modes of its copies" 0 "$(grep -c preserving "$T/aside.err")"
check "the older repository's hooks and config are unchanged after moving it aside" "$before_old" "$(at_old)"
check "no hook planted where the older repository was" no "$([ -e old/.git/hooks/pre-commit ] && echo yes || echo no)"
finish
