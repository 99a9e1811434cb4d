#!/bin/sh
# mandoc -T lint on every man page (warnings count); exit 77 (skip) without mandoc.
command -v mandoc >/dev/null 2>&1 || { echo "mandoc not installed: skipping"; exit 77; }
status=0
for page in "$@"; do
  out=$(mandoc -T lint -W warning "$page" 2>&1) || status=1
  [ -z "$out" ] || { echo "$out"; status=1; }
done
exit $status
