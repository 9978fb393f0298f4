#!/usr/bin/env bash
# Installs what `make test` / `make demo` need on a fresh Debian machine (idempotent: only
# what is missing is installed).  Usage: deps.sh test|demo|bench
set -euo pipefail
what=${1:-test}
pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || pkgs+=("$2"); }
need_file() { [ -e "$1" ] || pkgs+=("$2"); }
case "$what" in
  test)
    need ip iproute2
    need ping iputils-ping
    need ovs-ofctl openvswitch-common   # stock ovs-ofctl: the oracle for the flow syntax
    need python3 python3
    need clang-19 clang-19              # benches/build.rs: the rate harness's XDP programs (smoke test)
    need ethtool ethtool                # rate harness: GRO on the switch's veths
    need_file /usr/include/bpf/bpf_helpers.h libbpf-dev
    ;;
  bench)
    need ip iproute2
    need clang-19 clang-19              # benches/bpf/*.bpf.c
    need ethtool ethtool
    need ovs-vswitchd openvswitch-switch  # Open vSwitch userspace datapath, the comparison
    need ovsdb-tool openvswitch-common
    need_file /usr/include/bpf/bpf_helpers.h libbpf-dev
    ;;
  demo)
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
for c in clippy rustfmt; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c" 2>/dev/null || true
done
