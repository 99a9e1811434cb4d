#!/bin/sh
# guardian's cache of alias scans (~/.cache/guardian/alias-links) is the supervisor's: a
# session under a profile that writes ~/.cache (pip's cache lives there) may not change,
# remove or move it, since a forged one would narrow later sessions' Landlock envelopes.
. "$(dirname "$0")/run_lib.sh"
W=$T/w; mkdir -p "$W" "$T/tmp"; cd "$W" || exit 1
unset XDG_CACHE_HOME
export HOME="$T" TMPDIR="$T/tmp" LANG=C LC_ALL=C PATH=/usr/bin:/bin
mkdir -p "$T/.cache/guardian" && chmod 700 "$T/.cache/guardian"
echo kept >"$T/.cache/guardian/alias-links" && chmod 600 "$T/.cache/guardian/alias-links"
printf 'version: 1\nextends: [default]\nfiles:\n  write: ["~/.cache/**"]\n' >"$T/cache.yaml"
"$G" run -p "$T/cache.yaml" -- /bin/sh -c '
  mkdir -p ~/.cache/pip && echo wheel >~/.cache/pip/w
  echo forged >~/.cache/guardian/alias-links; echo forged >>~/.cache/guardian/alias-links
  echo forged >~/.cache/guardian/alias-links.1.tmp && mv ~/.cache/guardian/alias-links.1.tmp ~/.cache/guardian/alias-links
  rm -f ~/.cache/guardian/alias-links; mv ~/.cache/guardian ~/.cache/g2; mv ~/.cache ~/c2' >/dev/null 2>&1
check "the profile writes ~/.cache" wheel "$(cat "$T/.cache/pip/w" 2>/dev/null)"
# (guardian itself may rewrite the file: what it holds is its own, not the session's text.)
check "the session does not change guardian's cache" "yes 0" \
  "$([ -f "$T/.cache/guardian/alias-links" ] && echo yes || echo no) $(grep -c forged "$T/.cache/guardian/alias-links")"
check "nor plant a file next to it" no "$([ -e "$T/.cache/guardian/alias-links.1.tmp" ] && echo yes || echo no)"
finish
