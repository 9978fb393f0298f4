#!/usr/bin/env bash
# `make demo`: starts ferrovsd in its own network namespace, wires two "VM" namespaces to a
# bridge (vm1 over a veth pair attached as an AF_XDP port, vm2 over an internal port moved into
# its namespace), pings across, programs flows with stock ovs-ofctl over the bridge's OpenFlow
# socket, and shows what the switch did. Cleans up on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/target/release
if [ "$(id -u)" -ne 0 ]; then echo "make demo needs root (network namespaces)" >&2; exit 1; fi
id=$$
SW=fdemo-sw-$id VM1=fdemo-vm1-$id VM2=fdemo-vm2-$id
DIR=$(mktemp -d /tmp/ferrovs-demo.XXXXXX)
cleanup() {
  [ -f "$DIR/ferrovsd.pid" ] && kill "$(cat "$DIR/ferrovsd.pid")" 2>/dev/null || true
  sleep 0.3
  for ns in $SW $VM1 $VM2; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
fv() { "$BIN/ferrovs" --rundir "$DIR" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

for ns in $SW $VM1 $VM2; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add sw-vm1 netns "$SW" type veth peer name eth0 netns "$VM1"
ip -n "$SW" link set sw-vm1 up
ip -n "$VM1" addr add 10.99.0.1/24 dev eth0
ip -n "$VM1" link set eth0 up

step "start ferrovsd inside namespace $SW"
ip netns exec "$SW" "$BIN/ferrovsd" --rundir "$DIR" --db "$DIR/conf.json" --log-file "$DIR/ferrovsd.log" --detach
step "ferrovs add-br br0 -- add-port br0 sw-vm1 -- add-port br0 vm2 -- set interface vm2 type=internal"
fv add-br br0 -- add-port br0 sw-vm1 -- add-port br0 vm2 -- set interface vm2 type=internal
ip -n "$SW" link set vm2 netns "$VM2"
ip -n "$VM2" addr add 10.99.0.2/24 dev vm2
ip -n "$VM2" link set vm2 up

step "ping vm1 -> vm2 across the bridge (NORMAL)"
ip netns exec "$VM1" ping -c 3 -i 0.2 -W 1 10.99.0.2

step "replace NORMAL by explicit flows with stock ovs-ofctl (unix:$DIR/br0.mgmt), ping again"
OF=unix:$DIR/br0.mgmt
ovs-ofctl del-flows "$OF"
ovs-ofctl add-flow "$OF" "priority=10,in_port=1,actions=output:2"
ovs-ofctl add-flow "$OF" "priority=10,in_port=2,actions=output:1"
ip netns exec "$VM1" ping -c 3 -i 0.2 -W 1 10.99.0.2
sleep 0.6

step "ferrovs show"; fv show
step "ovs-ofctl show / dump-flows / dump-ports"; ovs-ofctl show "$OF"; ovs-ofctl dump-flows "$OF"; ovs-ofctl dump-ports "$OF"
step "ferrovs appctl dpctl/dump-flows"; fv appctl dpctl/dump-flows
step "ferrovs appctl pmd-stats-show"; fv appctl pmd-stats-show
step "ferrovs appctl ofproto/trace br0 in_port=1,ip,nw_dst=10.99.0.2"; fv appctl ofproto/trace br0 in_port=1,ip,nw_dst=10.99.0.2
echo; echo "demo done: traffic crossed ferrovs."
