#!/bin/sh
# The HTML report in a real headless browser (Debian's chromium): the page renders, its
# script runs (the filter from the URL narrows the denials table), and the counts it shows
# match an independent count of the log. Saves a screenshot as a test artefact.
# Skips (77) when chromium is not installed (tools/install-deps installs it by default).
set -u
: "${GUARDIAN:?}" "${AUDIT_GEN:?}"
BROWSER=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$BROWSER" ] || { echo "SKIP: chromium not installed (apt-get install chromium)"; exit 77; }
T=$(mktemp -d /tmp/guardian-audit-browser.XXXXXX)
trap 'rm -rf "$T"' EXIT
ART=${ARTEFACT_DIR:-$T}
browse() { # browse URL ARGS...: headless chromium with a private profile, errors to a file
  url=$1; shift
  timeout 60 "$BROWSER" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T/profile" \
    --hide-scrollbars "$@" "$url" 2>>"$T/browser.err"
}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

LOG=$T/log.jsonl
"$AUDIT_GEN" --generate "$LOG" 4000 || exit 1
"$GUARDIAN" audit report "$LOG" -o "$T/report.html" || { echo "report failed"; exit 1; }
counts=$(/usr/bin/python3 -c 'import json,sys
c={"allow":0,"deny":0}; d=set()
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r["event"]=="decision":
        c[r["decision"]]+=1
        if r["decision"]!="allow": d.add((r.get("path") or r.get("addr"), json.dumps(r.get("rule"))))
ssh=sum(1 for p,_ in d if ".ssh" in p)
print(c["allow"], c["deny"], len(d), ssh)' "$LOG")
set -- $counts
nallow=$1 ndeny=$2 ngroups=$3 nssh=$4

browse "file://$T/report.html#filter=.ssh" --dump-dom >"$T/dom.html"
[ -s "$T/dom.html" ] || { echo "chromium printed no DOM:"; tail -5 "$T/browser.err"; exit 1; }
grep -q "id=\"count-allow-0\">$nallow<" "$T/dom.html" || fail "page shows allow count $(grep -o 'id="count-allow-0">[^<]*' "$T/dom.html"), want $nallow"
grep -q "id=\"count-deny-0\">$ndeny<" "$T/dom.html" || fail "page shows deny count $(grep -o 'id="count-deny-0">[^<]*' "$T/dom.html"), want $ndeny"
grep -q "id=\"denial-groups-0\">$ngroups<" "$T/dom.html" || fail "page shows $(grep -o 'id="denial-groups-0">[^<]*' "$T/dom.html") denial groups, want $ngroups"
# The script ran: the filter taken from the URL left only the .ssh rows visible.
grep -q "id=\"shown-0\">$nssh of $ngroups shown<" "$T/dom.html" || fail "filter did not run: $(grep -o 'id="shown-0">[^<]*' "$T/dom.html")"
grep -q '<ul class="tree" id="process-tree"><li class="proc">' "$T/dom.html" || fail "process tree missing"
grep -q '<svg id="timeline"' "$T/dom.html" || fail "timeline missing"

browse "file://$T/report.html" --window-size=1280,1400 --screenshot="$ART/audit-report.png" >/dev/null
[ -s "$ART/audit-report.png" ] || fail "no screenshot"
[ "$fails" -eq 0 ] && echo "report checked in $BROWSER; screenshot: $ART/audit-report.png"
[ "$fails" -eq 0 ]
