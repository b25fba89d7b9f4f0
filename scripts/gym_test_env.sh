#!/usr/bin/env bash
# Build a Python >= 3.12 venv with nemo-gym (the 'gym' extra) and run the tests that start
# NeMo-Gym's math_with_judge server (pytest -m gym_server). nemo-gym needs Python >= 3.12, so
# with no such interpreter on the machine this prints why and exits 0.
#
#   GYM_PYTHON=/path/to/python3.12   use this interpreter instead of searching
#   GYM_VENV=/path/to/venv           where the venv goes (default .venv-gym; reused if present)
set -euo pipefail
cd "$(dirname "$0")/.."

version_of() {
    "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null
}

# The newest interpreter >= 3.12 among GYM_PYTHON, python3.x on PATH and pyenv's versions.
find_python() {
    local candidates=() c v best="" best_v=""
    if [[ -n "${GYM_PYTHON:-}" ]]; then
        candidates+=("$GYM_PYTHON")
    else
        for c in python3.14 python3.13 python3.12 python3; do
            command -v "$c" >/dev/null 2>&1 && candidates+=("$(command -v "$c")")
        done
        local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
        for c in "$pyenv_root"/versions/*/bin/python3; do
            [[ -x "$c" ]] && candidates+=("$c")
        done
    fi
    for c in "${candidates[@]}"; do
        v="$(version_of "$c")" || continue
        [[ "$(printf '%s\n' 3.12.0 "$v" | sort -V | head -1)" == 3.12.0 ]] || continue
        if [[ -z "$best_v" || "$(printf '%s\n' "$best_v" "$v" | sort -V | tail -1)" == "$v" ]]; then
            best="$c" best_v="$v"
        fi
    done
    [[ -n "$best" ]] && echo "$best"
}

if ! python="$(find_python)"; then
    echo "skipped: no Python >= 3.12 (nemo-gym needs it); searched ${GYM_PYTHON:-PATH and pyenv}"
    exit 0
fi
venv="${GYM_VENV:-.venv-gym}"
echo "gym test env: $python (Python $(version_of "$python")) -> $venv"

start=$SECONDS
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
timeout 1800 "$venv/bin/python" -m pip install -q --upgrade pip
timeout 1800 "$venv/bin/python" -m pip install -q -e '.[test,gym]'
"$venv/bin/python" -c 'import nemo_gym, resources_servers.math_with_judge, math_verify' || {
    echo "error: $venv has no working nemo-gym after install" >&2
    exit 1
}
echo "gym test env built in $((SECONDS - start)) s"

start=$SECONDS
timeout 1200 "$venv/bin/python" -m pytest -q -m gym_server tests/test_reward_probe_gym_server.py tests/test_gym_config.py
echo "gym server tests ran in $((SECONDS - start)) s"
