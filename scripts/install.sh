#!/usr/bin/env bash
# Create (or reuse) segflow's virtual environment outside the clone and install the project into it.
#   SEGFLOW_VENV  where the venv lives (default: ~/.cache/segflow/venv)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SEGFLOW_VENV:-$HOME/.cache/segflow/venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install -q --upgrade pip >/dev/null
# A known-good torch pair first (it installs offline on the project's machines); any torch >= 2.1 works.
if ! "$py" -c "import torch, torchvision" >/dev/null 2>&1; then
  "$py" -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
fi
"$py" -m pip install -q -e "$here[test]"
echo "segflow installed in $venv (run: $venv/bin/segflow --help)"
