#!/bin/sh
# Runs test/attacks/net_ask_self under guardian --ask-socket with a profile that allows
# connecting to that socket, and checks the session could not answer its own question:
# the secret's bytes never came out.
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_ask_self.sh ATTACK_EXE}
mkdir -p "$T/secret"
token=tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$token" >"$T/secret/secret.txt"
cat >"$T/p.yaml" <<YAML
version: 1
extends: [base]
exec:
  allow: ["$attack"]
network:
  connect: ["unix:$T/ask.sock"]
YAML
timeout 60 "$G" run -p "$T/p.yaml" --ask-socket "$T/ask.sock" -a "$T/audit.jsonl" -- \
  "$attack" "$T/secret/secret.txt" "$T/ask.sock" >"$T/out" 2>"$T/err"
status=$?
cat "$T/out"; tail -c 1000 "$T/err"
check "the secret's bytes did not come out" 0 "$(grep -c "$token" "$T/out" "$T/err" | awk -F: '{s += $2} END {print s}')"
check "the attack did not report success" 0 "$status"
finish
