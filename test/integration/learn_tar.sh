#!/bin/sh
# learn_tar: a tar round trip (create an archive of a tree, extract it elsewhere, compare),
# learned, then enforced with zero denials and the native output.
set -eu
. "$(dirname "$0")/learn_lib.sh"
probe
mkdir -p data/sub
echo one > data/one.txt
echo two > data/sub/two.txt
cat > roundtrip.sh <<'SH'
set -e
tar -cf archive.tar data
mkdir -p restore
tar -xf archive.tar -C restore
cat restore/data/one.txt restore/data/sub/two.txt
if [ -n "${VARIANT:-}" ]; then tar -cf ../elsewhere.tar data; fi
SH
reset_state() { rm -rf archive.tar restore; }
CMD="/bin/sh roundtrip.sh"
learn_and_enforce tar
expect_denied_variant tar "$T/elsewhere.tar"
least_privilege tar
echo ok
