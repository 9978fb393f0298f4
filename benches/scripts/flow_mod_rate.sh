#!/usr/bin/env bash
# Flow-mod rate (issue 3): N flows loaded by stock `ovs-ofctl add-flows` from one file, with and
# without --bundle, into ferrovsd and into Open vSwitch 3.1 (ovs-vswitchd, userspace datapath),
# each in its own network namespace, in the same run; then the resident memory (VmRSS) of each
# switch process. Prints a markdown table. Root. Usage: flow_mod_rate.sh [N] (default 100000).
set -euo pipefail
N=${1:-100000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FERROVSD=${FERROVSD:-$ROOT/target/release/ferrovsd}
FERROVS=${FERROVS:-$ROOT/target/release/ferrovs}
[ -x "$FERROVSD" ] || { echo "build first: cargo build --release -p ctl" >&2; exit 1; }
command -v ovs-vswitchd >/dev/null || { echo "needs openvswitch-switch (ovs-vswitchd)" >&2; exit 1; }
TAG=ffm$$
WORK=$(mktemp -d /tmp/flowmod-XXXXXX)
NS_F=$TAG-f NS_O=$TAG-o
cleanup() {
  for p in "$WORK"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  ip netns del "$NS_F" 2>/dev/null || true
  ip netns del "$NS_O" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ip netns add "$NS_F"; ip netns add "$NS_O"

# N flows as Neutron's br-tun table 20 holds them (MAC + VLAN -> tunnel), distinct matches.
python3 - "$N" > "$WORK/flows.txt" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print("table=20,priority=2,dl_vlan=%d,dl_dst=fa:16:3e:%02x:%02x:%02x,actions=strip_vlan,set_tunnel:0x%x,output:2"
          % (i % 4000 + 1, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, i % 4000 + 100))
PY

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
rate_row() { # switch mode seconds rss client-cpu
  printf '| %s | %s | %.2f | %.0f | %s | %d |\n' "$1" "$2" "$3" "$(echo "$N / $3" | bc -l)" "$5" "$(( $4 / 1024 ))"
}

# ferrovsd
mkdir -p "$WORK/f"
ip netns exec "$NS_F" "$FERROVSD" --rundir "$WORK/f" --db "$WORK/f/conf.json" --log-file "$WORK/f/log" \
  --pidfile "$WORK/ferrovsd.pid" --detach
"$FERROVS" --rundir "$WORK/f" add-br br0
F_SOCK=unix:$WORK/f/br0.mgmt
# OVS
mkdir -p "$WORK/o"
export OVS_RUNDIR=$WORK/o OVS_LOGDIR=$WORK/o OVS_DBDIR=$WORK/o
ovsdb-tool create "$WORK/o/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ip netns exec "$NS_O" ovsdb-server "$WORK/o/conf.db" --remote=punix:"$WORK/o/db.sock" \
  --pidfile="$WORK/ovsdb.pid" --detach --log-file="$WORK/o/ovsdb.log"
ip netns exec "$NS_O" ovs-vswitchd unix:"$WORK/o/db.sock" --pidfile="$WORK/ovs-vswitchd.pid" --detach \
  --log-file="$WORK/o/vswitchd.log" -vconsole:off
ovs-vsctl --db=unix:"$WORK/o/db.sock" --no-wait init
ovs-vsctl --db=unix:"$WORK/o/db.sock" add-br br0 -- set bridge br0 datapath_type=netdev
O_SOCK=unix:$WORK/o/br0.mgmt
for _ in $(seq 1 100); do [ -S "$WORK/o/br0.mgmt" ] && break; sleep 0.1; done

echo "| switch | ovs-ofctl add-flows | seconds | flow_mods/s | ovs-ofctl's own CPU s | RSS after (MiB) |"
echo "| --- | --- | --- | --- | --- | --- |"
for mode in plain bundle; do
  opt=(); [ "$mode" = bundle ] && opt=(--bundle -O OpenFlow13)
  for sw in ferrovs ovs; do
    if [ $sw = ferrovs ]; then sock=$F_SOCK; pid=$(cat "$WORK/ferrovsd.pid"); else sock=$O_SOCK; pid=$(cat "$WORK/ovs-vswitchd.pid"); fi
    ovs-ofctl del-flows "$sock"
    t0=$(now)
    if [ -x /usr/bin/time ]; then
      /usr/bin/time -f "%U %S" -o "$WORK/client.time" ovs-ofctl "${opt[@]}" add-flows "$sock" "$WORK/flows.txt"
    else
      ovs-ofctl "${opt[@]}" add-flows "$sock" "$WORK/flows.txt"; echo "n/a" > "$WORK/client.time"
    fi
    t1=$(now)
    client=$(awk '{ if (NF == 2) printf "%.2f", $1 + $2; else print "n/a" }' "$WORK/client.time")
    got=$(ovs-ofctl dump-aggregate "$sock" | sed -n 's/.*flow_count=\([0-9]*\).*/\1/p')
    [ "$got" -ge "$N" ] || { echo "$sw: only $got flows installed" >&2; exit 1; }
    rate_row "$sw" "$mode" "$(echo "$t1 - $t0" | bc -l)" "$(rss_kib "$pid")" "$client"
  done
done
echo
echo "N=$N flows (br-tun table 20 style), ovs-ofctl $(ovs-ofctl --version | head -1 | awk '{print $NF}'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
