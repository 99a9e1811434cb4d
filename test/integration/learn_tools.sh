#!/bin/sh
# learn_tools: what a learned profile refused the next time the same work ran, each learned
# and then enforced with zero denials and the native output (learn_lib.sh):
# - a directory moved into place (cp -a, then mv): the move is decided on the whole tree;
# - bash's process substitution `cat <(cmd)` (a pipe reopened by /dev/fd/63): learn stopped
#   with an error and wrote no profile;
# - a server on 127.0.0.1:0 and a client of the session: the port is the kernel's pick;
# - git clone of a local repository whose objects differ each run (new commits).
set -eu
. "$(dirname "$0")/learn_lib.sh"
probe
have() { command -v "$1" >/dev/null 2>&1; }
mkdir -p a/b && echo x >a/b/c
cat > work.sh <<'SH'
cp -a a z && mv z y && cat y/b/c && rm -r y
cat <(echo substituted)
/usr/bin/python3 -c '
import http.server, threading, urllib.request
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
threading.Thread(target=s.serve_forever, daemon=True).start()
print(urllib.request.urlopen("http://127.0.0.1:%d/a/b/c" % s.server_address[1]).read().decode().strip())'
if command -v git >/dev/null; then
  git clone -q src dst && git -C dst log --format=%s && rm -rf dst
fi
SH
runs_n=0
reset_state() {
  rm -rf y z dst src
  if have git; then
    # Another repository each run: other objects in other fan-out directories.
    runs_n=$((runs_n + 1))
    git init -q src && echo "$runs_n $(date +%s%N)" >src/f && git -C src add f &&
      git -C src -c user.name=n -c user.email=e commit -qm "commit"
  fi
}
CMD="/bin/bash work.sh"
learn_and_enforce tools
least_privilege tools
echo "ok: learn_tools"
