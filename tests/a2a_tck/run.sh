#!/usr/bin/env bash
# The A2A conformance kit against the gateway, at every level over JSON-RPC and HTTP+JSON.
# The kit is not part of hivebus and is never committed: it is fetched and installed in
# its own virtual environment under /tmp (TCK_DIR, TCK_VENV to put it elsewhere):
#   the repository a2aproject/a2a-tck, branch 1.0-dev, checked out in $TCK_DIR, then
#   python3 -m venv "$TCK_VENV" && "$TCK_VENV/bin/pip" install -e "$TCK_DIR"
# Then: tests/a2a_tck/run.sh [--levels must] [--transports jsonrpc]  (run from the repository)
set -euo pipefail
cd "$(dirname "$0")/../.."
TCK_DIR=${TCK_DIR:-/tmp/a2a-tck}
TCK_VENV=${TCK_VENV:-/tmp/a2a-tck-venv}
if [ ! -x "$TCK_VENV/bin/python" ] || [ ! -f "$TCK_DIR/run_tck.py" ]; then
    echo "the kit is not installed: see the top of $0" >&2
    exit 2
fi
exec .venv/bin/python -m tests.a2a_tck.run --tck "$TCK_DIR" --tck-python "$TCK_VENV/bin/python" "$@"
