#!/usr/bin/env bash
# Measures ferrovsd (release build) forwarding between two veth "VMs" through two ports of one
# type: TCP throughput, 64-byte UDP packet rate (iperf3), and idle CPU over 5 s. Needs root.
#   cargo build --release -p ctl --bins
#   ebpf/scripts/veth-measure.sh afxdp|system [best-effort|native|generic]
# Environment: PEER_TSO=off turns TSO/GSO off on the VM ends; PEER_GRO=on turns GRO on there.
set -euo pipefail
BIN=$(cd "$(dirname "$0")/../.." && pwd)/target/release
TYPE=${1:?afxdp or system}; MODE=${2:-}
S=msw$$; A=mva$$; B=mvb$$; DIR=$(mktemp -d)
cleanup() {
  [ -f "$DIR/ferrovsd.pid" ] && kill "$(cat "$DIR/ferrovsd.pid")" 2>/dev/null || true
  sleep 0.5; ip netns del $S; ip netns del $A; ip netns del $B; rm -rf "$DIR"
}
trap cleanup EXIT
for n in $S $A $B; do ip netns add $n; ip -n $n link set lo up; done
ip link add mp1 netns $S type veth peer name mv1 netns $A
ip link add mp2 netns $S type veth peer name mv2 netns $B
ip -n $S link set mp1 up; ip -n $S link set mp2 up; ip -n $A link set mv1 up; ip -n $B link set mv2 up
ip -n $A addr add 10.80.0.1/24 dev mv1; ip -n $B addr add 10.80.0.2/24 dev mv2
for p in "$A mv1" "$B mv2"; do
  set -- $p
  [ "${PEER_TSO:-on}" = off ] && ip netns exec "$1" ethtool -K "$2" tso off gso off >/dev/null
  [ "${PEER_GRO:-off}" = on ] && ip netns exec "$1" ethtool -K "$2" gro on >/dev/null
done
ip netns exec $S "$BIN/ferrovsd" --rundir "$DIR" --db "$DIR/conf.json" 2>"$DIR/log" &
for _ in $(seq 50); do [ -S "$DIR/ferrovsd.ctl" ] && break; sleep 0.1; done
opt=(); [ -n "$MODE" ] && opt=("options:xdp-mode=$MODE")
"$BIN/ferrovs" --rundir "$DIR" add-br br0 -- add-port br0 mp1 -- set interface mp1 "type=$TYPE" "${opt[@]}" \
  -- add-port br0 mp2 -- set interface mp2 "type=$TYPE" "${opt[@]}"
grep -h "AF_XDP on\|mp1: opened" "$DIR/log" | head -1 | cut -d'|' -f4
ip netns exec $A ethtool -k mv1 | grep -E "^(tcp-segmentation-offload|tx-checksumming)" | sed 's/^/  VM end: /'
ip netns exec $A ping -c 3 -i 0.2 -W 1 10.80.0.2 >/dev/null
ip netns exec $B iperf3 -s -D -1 -B 10.80.0.2 >/dev/null; sleep 0.3
ip netns exec $A timeout 20 iperf3 -c 10.80.0.2 -t 4 -J | python3 -c 'import json,sys; d=json.load(sys.stdin)["end"]
print("  TCP: %.0f Mbit/s, %d retransmits" % (d["sum_received"]["bits_per_second"]/1e6, d["sum_sent"]["retransmits"]))'
ip netns exec $B iperf3 -s -D -1 -B 10.80.0.2 >/dev/null; sleep 0.3
ip netns exec $A timeout 20 iperf3 -c 10.80.0.2 -u -b 0 -l 64 -t 3 -J | python3 -c 'import json,sys; d=json.load(sys.stdin)["end"]["sum"]
print("  UDP 64 B: %.0f kpps delivered, %.1f%% lost" % (d["packets"]*(1-d["lost_percent"]/100)/d["seconds"]/1e3, d["lost_percent"]))'
ip netns exec $S ethtool -S mp1 | grep -E "xdp_(drops|redirect)|peer_tq_xdp_xmit_err" | grep -v ": 0$" | sed "s/^ */  switch end mp1: /" || true
"$BIN/ferrovs" --rundir "$DIR" ofctl dump-ports br0 | grep -A1 "port  *[12]:" | sed "s/^/  /" || true
ip -n $B -s link show mv2 | awk "/RX:/{getline; print \"  VM end mv2 rx: packets \" \$2 \", dropped \" \$4}"
PID=$(cat "$DIR/ferrovsd.pid"); sleep 1
t0=$(awk '{print $14+$15}' /proc/$PID/stat); sleep 5; t1=$(awk '{print $14+$15}' /proc/$PID/stat)
echo "  idle CPU over 5 s: $((t1 - t0)) ticks of 500"
