#!/bin/sh
# learn_python: a Python script that reads inputs, writes outputs (and a temporary file) and
# spawns a subprocess; learned, then enforced with zero denials and the native output.
set -eu
. "$(dirname "$0")/learn_lib.sh"
probe
mkdir -p input
echo alpha > input/a.txt
echo beta > input/b.txt
echo gamma > input/c.txt
cat > job.py <<'PY'
import hashlib, json, os, subprocess, tempfile
data = open("input/a.txt").read() + open("input/b.txt").read()
with tempfile.NamedTemporaryFile("w+", delete=False) as t:
    t.write(data)
    name = t.name
data2 = open(name).read()
os.unlink(name)
os.makedirs("out", exist_ok=True)
with open("out/result.json", "w") as f:
    json.dump({"sha": hashlib.sha256(data2.encode()).hexdigest()}, f)
r = subprocess.run(["/bin/sh", "-c", "wc -c < out/result.json"], capture_output=True, text=True, check=True)
print(r.stdout.strip(), data2.split())
if os.environ.get("VARIANT"):
    print(open("input/c.txt").read())
PY
reset_state() { rm -rf out; }
CMD="/usr/bin/python3 job.py"
learn_and_enforce python
expect_denied_variant python "$W/input/c.txt"
least_privilege python
# the script's inputs are listed one by one, not as a tree
grep -qF '"${CWD}/input/a.txt"' "$T/python.yaml" || fail "python: input/a.txt not listed"
echo ok
