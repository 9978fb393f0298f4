#!/usr/bin/env bash
# Installs what `make test` / `make demo` need on a fresh Debian machine (idempotent: only
# what is missing is installed).  Usage: deps.sh test|demo|bench
set -euo pipefail
what=${1:-test}
pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || pkgs+=("$2"); }
# Header/library packages have no command: ask dpkg.
need_dev() { for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || pkgs+=("$p"); done; }
case "$what" in
  test)
    need ip iproute2
    need ping iputils-ping
    need ovs-ofctl openvswitch-common   # stock ovs-ofctl: the oracle for the flow syntax
    need python3 python3
    need clang-19 clang-19              # compiles the XDP program (ebpf/build.rs)
    need llc-19 llvm-19
    need m4 m4
    need bpftool bpftool
    need ethtool ethtool
    need iperf3 iperf3                  # AF_XDP daemon tests
    need_dev libelf-dev libbpf-dev zlib1g-dev
    need ovs-vswitchd openvswitch-switch   # real Open vSwitch (netdev datapath) for the dump-flows diff
    need stdbuf coreutils                  # line-buffered ovs-ofctl monitor in tests
    need tshark tshark                     # GRE tunnel tests decode keys on the wire
    need dnsmasq dnsmasq-base              # Neutron test: the qdhcp namespace's DHCP server
    need busybox busybox                   # Neutron test: udhcpc in the VM
    need iptables iptables                 # Neutron test: the qrouter's NAT
    need ss iproute2                       # security test: TCP listeners
    ;;
  bench)
    need ip iproute2
    need clang-19 clang-19              # benches/bpf/*.bpf.c (the rate harness)
    need ethtool ethtool
    need ovs-vswitchd openvswitch-switch  # Open vSwitch userspace datapath, the comparison
    need ovsdb-tool openvswitch-common
    need_dev libbpf-dev
    # Open vSwitch's own classifier, built from its source (benches/scripts/classifier_vs_ovs.sh).
    need_dev openvswitch-source
    need gcc gcc
    need make make
    ;;
  demo)
    need clang-19 clang-19
    need llc-19 llvm-19
    need ovs-ofctl openvswitch-common   # the demo programs flows with stock ovs-ofctl
    need_dev libbpf-dev
    need ip iproute2
    need ping iputils-ping
    ;;
  *) echo "deps.sh: unknown set '$what' (test|demo|bench)" >&2; exit 2 ;;
esac
if ((${#pkgs[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: need root to install: ${pkgs[*]}" >&2
    exit 1
  fi
  echo "deps.sh: installing ${pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
# os-ken: the OpenFlow controller framework of ctl/tests/openflow_controller.rs.
if [ "$what" = test ] && command -v python3 >/dev/null 2>&1 && ! python3 -c 'import os_ken' 2>/dev/null; then
  echo "deps.sh: pip install os-ken"
  python3 -m pip install -q os-ken
fi
for c in clippy rustfmt; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c" 2>/dev/null || true
done
