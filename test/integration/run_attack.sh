#!/bin/sh
# Runs one test/attacks/{file,net,exec,proc}_*.c escape attempt under guardian against a
# fixture (see test/attacks/attack.h) and checks the real effect, not the program's word:
# the secret's token never comes out, T/ro and the secret are unchanged, no forbidden
# program ran, the forbidden listeners got nothing, the victim process lives, and the
# audit log records the denial.
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_attack.sh ATTACK_EXE}
have_engine || { echo "decision engine not built in"; exit 77; }
mkdir -p "$T/ws/.git/hooks" "$T/ws/.keys" "$T/ro" "$T/secret"
token=tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$token" >"$T/secret/secret.txt"
chmod 644 "$T/secret/secret.txt"
# Protected inside the writable tree: a repository's hooks (deny_write) and a key (deny).
printf '%s\n' "$token" >"$T/ws/.keys/key.txt"
printf '#!/bin/sh\n' >"$T/ws/.git/hooks/pre-push"
printf 'READONLY\n' >"$T/ro/ro.txt"
chmod 644 "$T/ro/ro.txt"
# Extended attributes, where the file system has them: the secret's holds the token too.
/usr/bin/python3 - "$T" "$token" <<'PY' 2>/dev/null
import os, sys
t, tok = sys.argv[1], sys.argv[2]
try:
    os.setxattr(os.path.join(t, "secret", "secret.txt"), "user.token", tok.encode())
    os.setxattr(os.path.join(t, "ro", "ro.txt"), "user.harmless", b"harmless")
except OSError:
    pass
PY

# System V IPC objects of a program outside the session (no path names them): a shared
# memory segment and a message queue holding the token, under a key of their own.
sysv_key=$(( $$ % 1000000 + 7340000 ))
/usr/bin/python3 - "$token" "$sysv_key" >"$T/sysv" 2>/dev/null <<'PY'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
tok, key = sys.argv[1].encode(), int(sys.argv[2])
shm = libc.shmget(key, 4096, 0o3600)  # IPC_CREAT | IPC_EXCL | 0600
q = libc.msgget(key, 0o3600)
if shm >= 0:
    p = libc.shmat(shm, None, 0)
    ctypes.memmove(p, tok + b"\0", len(tok) + 1)
    libc.shmdt(ctypes.c_void_p(p))
if q >= 0:
    buf = ctypes.create_string_buffer(8 + 64)
    ctypes.memmove(ctypes.addressof(buf), (1).to_bytes(8, "little") + tok, 8 + len(tok))
    libc.msgsnd(q, buf, len(tok), 0)
# And a POSIX message queue of its own, with the token.
mq = libc.mq_open(("/guardian-it-%d" % key).encode(), 0o102, 0o600, None)  # O_CREAT|O_RDWR
if mq >= 0:
    libc.mq_send(mq, tok, len(tok), 0)
print(shm, q)
PY
read -r sysv_shm sysv_q <"$T/sysv" || { sysv_shm=-1; sysv_q=-1; }
# POSIX shared objects of a program outside the session in /dev/shm, under names base's
# rules let a session make (its own): a named semaphore, and a multiprocessing arena
# holding the token.
shm_sem=/dev/shm/sem.guardian-it-$sysv_key
shm_arena=/dev/shm/pym-$sysv_key-guardian
/usr/bin/python3 - "$token" "$sysv_key" "$shm_arena" <<'PY' 2>/dev/null
import ctypes, os, sys
libc = ctypes.CDLL(None)
libc.sem_open.restype = ctypes.c_void_p
tok, key, arena = sys.argv[1], sys.argv[2], sys.argv[3]
libc.sem_open(("/guardian-it-%s" % key).encode(), 0o300, 0o600, 3)  # O_CREAT|O_EXCL, value 3
fd = os.open(arena, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, (tok + "\n").encode())
os.close(fd)
PY
# Their names, inodes, modes and bytes (a semaphore's value is in its bytes).
shm_state() { stat -c '%n %i %a %s' "$shm_sem" "$shm_arena" 2>&1; md5sum "$shm_sem" "$shm_arena" 2>&1; }

mq_name=/guardian-it-$sysv_key
# What they hold now: the segment's text and the queue's message count.
sysv_state() {
  /usr/bin/python3 - "$sysv_shm" "$sysv_q" "$mq_name" <<'PY' 2>/dev/null
import ctypes, sys
libc = ctypes.CDLL(None)
libc.shmat.restype = ctypes.c_void_p
shm, q = int(sys.argv[1]), int(sys.argv[2])
if shm >= 0:
    p = libc.shmat(shm, None, 0o10000)  # SHM_RDONLY
    print("shm", ctypes.string_at(p, 40).split(b"\0")[0].decode(errors="replace")); libc.shmdt(ctypes.c_void_p(p))
if q >= 0:
    ds = ctypes.create_string_buffer(256)
    libc.msgctl(q, 2, ds)  # IPC_STAT: msg_qnum follows msg_perm (48), 3 times (24), msg_cbytes (8)
    print("msg", int.from_bytes(ds.raw[80:88], "little"))
mq = libc.mq_open(sys.argv[3].encode(), 0o4000)  # O_RDONLY|O_NONBLOCK
if mq >= 0:
    attr = ctypes.create_string_buffer(64)
    libc.mq_getattr(mq, attr)
    print("mq", int.from_bytes(attr.raw[24:32], "little"))  # mq_curmsgs
PY
}

# Listeners outside guardian: forbidden TCP, UDP and unix; an allowed UDP port. Any arrival
# on a forbidden one is written to $T/hits.
/usr/bin/python3 - "$T" <<'PY' &
import os, socket, sys, threading
t = sys.argv[1]
def hit(what):
    with open(os.path.join(t, "hits"), "a") as f: f.write(what + "\n")
tcp = socket.socket(); tcp.bind(("127.0.0.1", 0)); tcp.listen(16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
ok = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ok.bind(("127.0.0.1", 0))
ux = socket.socket(socket.AF_UNIX); ux.bind(os.path.join(t, "secret", "sock")); ux.listen(16)
# An abstract unix listener of another program (an X server's or a bus's, by name).
ab = socket.socket(socket.AF_UNIX); ab.bind("\0guardian-it-abs-" + os.path.basename(t)); ab.listen(16)
def acc(s, name):
    while True:
        s.accept(); hit(name)
def rcv(s, name):
    while True:
        s.recv(64)
        if name: hit(name)
for f, s, n in ((acc, tcp, "tcp"), (rcv, udp, "udp"), (acc, ux, "unix"), (acc, ab, "abstract"), (rcv, ok, "")):
    threading.Thread(target=f, args=(s, n), daemon=True).start()
with open(os.path.join(t, "ports.tmp"), "w") as f:
    f.write("%d %d %d\n" % (tcp.getsockname()[1], udp.getsockname()[1], ok.getsockname()[1]))
os.rename(os.path.join(t, "ports.tmp"), os.path.join(t, "ports"))
threading.Event().wait()
PY
listener=$!
# Listeners the session opens: ports it writes to ws/listen-ports are tried from here, and
# a connection made counts as a hit (a listener the profile does not allow).
(
  n=0
  while [ ! -f "$T/ws/listen-ports" ] && [ "$n" -lt 1200 ]; do n=$((n + 1)); sleep 0.1; done
  [ -f "$T/ws/listen-ports" ] && /usr/bin/python3 - "$T" <<'PY'
import os, socket, sys
t = sys.argv[1]
for line in open(os.path.join(t, "ws", "listen-ports")):
    try:
        socket.create_connection(("127.0.0.1", int(line)), 2).close()
        with open(os.path.join(t, "hits"), "a") as f: f.write("listen %s" % line)
    except (OSError, ValueError):
        pass
PY
) &
dialer=$!
# Outlives the longest attack on a loaded machine (file_continue_race runs some 30 s there);
# the trap below ends it.
sleep 600 &
victim=$!
# ATTACK_GROUP=1: a second victim in a process group of its own, in the terminal session
# guardian runs in (so that a process of the session may join that group by setpgid).
gvictim=
if [ -n "${ATTACK_GROUP:-}" ]; then
  /usr/bin/python3 -c 'import os; os.setpgid(0, 0); os.execvp("sleep", ["sleep", "30"])' &
  gvictim=$!
  n=0
  while [ "$(awk '{sub(/.*\) /, ""); print $3}' /proc/$gvictim/stat 2>/dev/null)" != "$gvictim" ]; do
    n=$((n + 1)); [ "$n" -gt 100 ] && { echo "group victim did not start"; exit 1; }; sleep 0.05
  done
fi
trap 'kill $listener $victim $gvictim $dialer 2>/dev/null; for a in 127.77.0.1 127.77.0.2; do ip addr del $a/32 dev lo 2>/dev/null; done; ipcrm -m "$sysv_shm" -q "$sysv_q" 2>/dev/null; rm -f "$shm_sem" "$shm_arena"; /usr/bin/python3 -c "import ctypes, sys; ctypes.CDLL(None).mq_unlink(sys.argv[1].encode())" "$mq_name"; rm -rf "$T"' EXIT
await_file "$T/ports" listener
read -r tcp udp okudp <"$T/ports"

# ATTACK_EXTRA_READ: one more read pattern, for an attack that needs it (e.g. /proc/**).
extra_read=
[ -n "${ATTACK_EXTRA_READ:-}" ] && extra_read=", \"$ATTACK_EXTRA_READ\""
# ATTACK_EXEC_WS=1: the session may also run what it writes (exec T/ws/**), as a build
# tool's profile would; a process of the session may then be handed over to a tracer of it.
extra_exec=
[ -n "${ATTACK_EXEC_WS:-}" ] && extra_exec=", \"$T/ws/**\""
# ATTACK_EXTRA_EXEC: one more exec pattern (e.g. valgrind's tools in /usr/libexec/valgrind).
[ -n "${ATTACK_EXTRA_EXEC:-}" ] && extra_exec="$extra_exec, \"$ATTACK_EXTRA_EXEC\""
# ATTACK_PREFIX=1: T/ro/ro, holding the token, denied: a name that the readable
# T/ro/ro.txt extends (a private key beside its readable .pub).
extra_deny=
if [ -n "${ATTACK_PREFIX:-}" ]; then
  printf '%s\n' "$token" >"$T/ro/ro"
  extra_deny=", \"$T/ro/ro\""
fi
# ATTACK_BIND: bind rules (YAML list items), as the default profile's abstract names.
extra_bind=
[ -n "${ATTACK_BIND:-}" ] && extra_bind="
  bind: [$ATTACK_BIND]"
cat >"$T/attack.yaml" <<YAML
version: 1
name: attack-fixture
extends: [base]
files:
  read: ["$T/ro/**"$extra_read]
  write: ["$T/ws/**"]
  deny: ["$T/ws/.keys/**"$extra_deny]
  deny_write: ["$T/ws/**/.git/hooks/**"]
exec:
  allow: ["/usr/bin/**", "$attack", "$T/ws/allowed-*"$extra_exec]
network:
  connect: ["127.0.0.1:$okudp"]$extra_bind
YAML
# The victim's scheduling: nice (stat field 19), policy (41), CPUs, I/O priority.
sched_of() { awk '{print $19, $41}' "/proc/$1/stat"; grep Cpus_allowed_list "/proc/$1/status"; ionice -p "$1" 2>/dev/null; }
# The loopback's addresses: the machine's network configuration (net_netlink_change).
protected() { ls -la "$T/ro" "$T/ws/.git/hooks" "$T/ws/.keys" | grep -v " \.\.$"; cat "$T/ro/ro.txt"; stat -c %a "$T/secret/secret.txt"; lsattr -v "$T/ro/ro.txt" 2>/dev/null; sysv_state; shm_state; ip -o -4 addr show dev lo 2>/dev/null | grep -c 127.77.; }
before_ro=$(protected)
before_sched=$(sched_of $victim)
# With ATTACK_GROUP=1 guardian also runs in a process group of its own that holds a third
# victim (outside the session: started before guardian, not its child), the group the
# command starts in and may join back.
launch=
if [ -n "$gvictim" ]; then
  before_gsched=$(sched_of $gvictim)
  cat >"$T/launch.py" <<'PY'
import os, sys
os.setpgid(0, 0)
r, w = os.pipe()
if os.fork() == 0:
    pid = os.fork()
    if pid == 0:
        os.execvp("sleep", ["sleep", "30"])
    os.write(w, str(pid).encode())
    os._exit(0)
os.wait()
os.close(w)
with open(sys.argv[1], "w") as f:
    f.write(os.read(r, 32).decode())
os.execvp(sys.argv[2], sys.argv[2:])
PY
  launch="/usr/bin/python3 $T/launch.py $T/hvictim"
fi
ATTACK_ABSTRACT=guardian-it-abs-${T##*/} ATTACK_GROUP_VICTIM=$gvictim ATTACK_SYSV_KEY=$sysv_key ATTACK_MQ=$mq_name ATTACK_TCP=$tcp ATTACK_UDP=$udp ATTACK_OK_UDP=$okudp ATTACK_UNIX=$T/secret/sock ATTACK_VICTIM=$victim \
  $launch "$G" run -p "$T/attack.yaml" -a "$T/audit.jsonl" -- "$attack" "$T" >"$T/out" 2>"$T/err"
status=$?
echo "status $status"; tail -c 2000 "$T/err"
after_ro=$(protected 2>&1)

check "the secret's bytes did not come out" 0 "$(cat "$T/out" "$T/err" | grep -c "$token")"
check "T/ro, the secret, ws/.git/hooks and ws/.keys are unchanged" "$before_ro" "$after_ro"
check "no forbidden program ran" "" "$(ls "$T/ws" | grep ran-forbidden)"
check "no device node was made" "" "$(find "$T/ws" \( -type b -o -type c \) -print)"
check "the forbidden listeners got nothing" "" "$(cat "$T/hits" 2>/dev/null)"
check "the victim outside the session lives" 0 "$(kill -0 $victim 2>/dev/null; echo $?)"
check "the victim's scheduling is unchanged" "$before_sched" "$(sched_of $victim 2>&1)"
check "the victim is not traced" 0 "$(awk '/^TracerPid/ {print $2}' /proc/$victim/status)"
if [ -n "$gvictim" ]; then
  check "the victim in a group of its own lives" 0 "$(kill -0 $gvictim 2>/dev/null; echo $?)"
  check "that victim's scheduling is unchanged" "$before_gsched" "$(sched_of $gvictim 2>&1)"
  hvictim=$(cat "$T/hvictim" 2>/dev/null)
  check "the victim in guardian's group lives" 0 "$(kill -0 "${hvictim:-0}" 2>/dev/null; echo $?)"
  check "its scheduling is unchanged" "$before_gsched" "$(sched_of "${hvictim:-0}" 2>&1)"
  kill "${hvictim:-0}" 2>/dev/null
fi
check "the attack did not report success" 0 "$status"
check "the audit log has a denial" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
finish
