#!/bin/sh
# Lifetime: signals forwarded to the command; no survivor when run returns (double-forked
# daemon, setsid escapee); fail closed when the supervisor is killed.
. "$(dirname "$0")/run_lib.sh"

# SIGTERM/SIGINT/SIGHUP sent to guardian reach the command, whose handler decides the status.
# Background jobs of a non-interactive sh start with SIGINT ignored: restore it.
for sig in TERM INT HUP; do
  rm -f "$T/ready"
  env --default-signal=INT,QUIT "$G" run -p "$P" -- /bin/sh -c "trap 'echo got-$sig; exit 7' $sig; touch '$T/ready'; while :; do sleep 0.05; done" >"$T/out" 2>"$T/err" &
  gp=$!
  n=0; while [ ! -e "$T/ready" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
  kill -"$sig" "$gp"
  wait "$gp"; rc=$?
  check "SIG$sig forwarded (status)" 7 "$rc"
  check "SIG$sig forwarded (handler ran)" "got-$sig" "$(cat "$T/out")"
done

# No survivors: a double-forked daemon and a setsid child outlive the command natively.
"$G" run -p "$P" -- /bin/sh -c "
  ( /bin/sleep 300 & echo \$! >'$T/daemon.pid' ) &
  /usr/bin/setsid /bin/sleep 300 & echo \$! >'$T/setsid.pid'
  sleep 0.2; exit 0"
check "command status" 0 "$?"
for f in daemon setsid; do
  pid=$(cat "$T/$f.pid" 2>/dev/null)
  if [ -n "$pid" ] && gone_within "$pid" 20; then check "$f killed" dead dead
  else check "$f killed" dead "alive:$pid"; kill -9 "$pid" 2>/dev/null; fi
done

# Fail closed: kill -9 the supervisor; the command (blocked in sleep) must die with it and
# never create the file it would create afterwards, even through a fresh exec.
rm -f "$T/after" "$T/ready"
"$G" run -p "$P" -- /bin/sh -c "echo \$\$ >'$T/cmd.pid'; touch '$T/ready'; sleep 1; /usr/bin/touch '$T/after'" &
gp=$!
n=0; while [ ! -e "$T/ready" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
kill -9 "$gp"
wait "$gp" 2>/dev/null
cpid=$(cat "$T/cmd.pid")
if gone_within "$cpid" 30; then check "command died with supervisor" dead dead
else check "command died with supervisor" dead alive; kill -9 "$cpid"; fi
sleep 1.5
check "no file created after supervisor death" absent "$([ -e "$T/after" ] && echo present || echo absent)"
finish
