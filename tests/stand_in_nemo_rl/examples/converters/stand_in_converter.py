"""Stand-in for NeMo-RL's checkpoint converters (tests only; NOT NeMo-RL): the real ones load
torch / Megatron and the model. Same flags as the real scripts (argparse); checks that the paths
they are given exist, writes `<hf>/config.json` and `<hf>/stand_in_export.json` (argv, cwd),
and exits with `$STAND_IN_EXPORT_EXIT_CODE` (default 0)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def convert(weights_flag: str) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument(weights_flag, required=True)
    parser.add_argument("--hf-ckpt-path", required=True)
    args = vars(parser.parse_args())
    for flag in ("config", weights_flag.lstrip("-").replace("-", "_")):
        if not Path(args[flag]).exists():
            print(f"stand-in converter: {args[flag]} does not exist", file=sys.stderr)
            sys.exit(3)
    code = int(os.environ.get("STAND_IN_EXPORT_EXIT_CODE", "0"))
    hf = Path(args["hf_ckpt_path"])
    hf.mkdir(parents=True, exist_ok=True)
    (hf / "config.json").write_text(json.dumps({"stand_in": True}))
    record = {"argv": sys.argv[1:], "cwd": os.getcwd(), "exit_code": code}
    (hf / "stand_in_export.json").write_text(json.dumps(record, indent=2))
    print(f"stand-in converter: wrote {hf}, exiting with {code}")
    sys.exit(code)
