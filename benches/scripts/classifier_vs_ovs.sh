#!/usr/bin/env bash
# Classifier lookup, ferrovs vs Open vSwitch (issue 2): the same rule sets (100k rules over 32
# masks: the ACL-like one and the random-priority one) and the same 1024 keys, looked up in
# ferrovs's classifier (`classifier_cpu`) and in Open vSwitch's own lib/classifier.c
# (`benches/ovs/classifier_ovs.c`, set up as ofproto sets up a table: prefix tries on nw_dst
# and nw_src), in thread CPU time, alternating ROUNDS times. Both print how many keys matched
# and the sum of the matched priorities: they must agree, or the comparison is void.
#
# Open vSwitch's library is built once from Debian's openvswitch-source (the 3.1 source of the
# installed ovs-vswitchd, its default -O2) under target/ovs-classifier/.
# Usage: classifier_vs_ovs.sh [ROUNDS] (default 3). Needs: bash .ci/deps.sh bench.
set -euo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$TARGET/ovs-classifier
SRC=$WORK/openvswitch
TARBALL=/usr/src/openvswitch/openvswitch.tar.gz
[ -f "$TARBALL" ] || { echo "needs Debian's openvswitch-source: bash .ci/deps.sh bench" >&2; exit 1; }
export CLANG=${CLANG:-clang-19} LLC=${LLC:-llc-19}

if [ ! -f "$SRC/lib/.libs/libopenvswitch.a" ]; then
  echo "building Open vSwitch's libopenvswitch.a in $SRC (a few minutes, once)" >&2
  rm -rf "$SRC"
  mkdir -p "$SRC"
  tar xzf "$TARBALL" -C "$SRC" --strip-components=1
  (
    cd "$SRC"
    ./configure --disable-ssl --disable-libcapng >"$WORK/configure.log" 2>&1
    # Generated headers first (automake's BUILT_SOURCES), then only the library.
    built=$(printf 'print-built:\n\t@echo $(BUILT_SOURCES)\n' | make -s -f Makefile -f - print-built)
    # shellcheck disable=SC2086 # a list of make targets
    make -j"$(nproc)" $built >"$WORK/make.log" 2>&1
    make -j"$(nproc)" lib/libopenvswitch.la >>"$WORK/make.log" 2>&1
  ) || { echo "Open vSwitch build failed: see $WORK/*.log" >&2; exit 1; }
fi
libs=$(sed -n 's/^LIBS = //p' "$SRC/Makefile")
# shellcheck disable=SC2086 # the library list configure chose
gcc -O2 -g -Wall -I"$SRC" -I"$SRC/include" -I"$SRC/lib" "$ROOT/benches/ovs/classifier_ovs.c" \
  "$SRC/lib/.libs/libopenvswitch.a" $libs -lpthread -o "$WORK/classifier_ovs"

cargo build --release --locked -p benches --example classifier_cpu >&2
FERROVS=$TARGET/release/examples/classifier_cpu
"$FERROVS" --export "$WORK/data"

for round in $(seq "$ROUNDS"); do
  echo "# round $round, load $(cut -d' ' -f1 /proc/loadavg)"
  "$FERROVS" | sed 's/^/ferrovs      /'
  "$WORK/classifier_ovs" "$WORK/data" | sed 's/^/open-vswitch /'
done
