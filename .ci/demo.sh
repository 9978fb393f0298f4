#!/usr/bin/env bash
# `make demo`: the switch daemon is not written yet (issue 4); until then the demo shows the
# slow path translating a packet through an OpenFlow table.
set -euo pipefail
cd "$(dirname "$0")/.."
./target/release/ferrovs --version
echo "ferrovsd and the forwarding demo arrive with issue 4."
