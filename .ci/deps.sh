#!/usr/bin/env bash
# Installs what `make test` / `make demo` need on a fresh Debian machine (idempotent).
# Usage: deps.sh test|demo
set -euo pipefail
what=${1:-test}
pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || pkgs+=("$2"); }
case "$what" in
  test) need ip iproute2; need ping iputils-ping ;;
  demo) need ip iproute2; need ping iputils-ping ;;
  *) echo "deps.sh: unknown set '$what' (test|demo)" >&2; exit 2 ;;
esac
if ((${#pkgs[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: need root to install: ${pkgs[*]}" >&2; exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
fi
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt 2>/dev/null || true
