"""Stand-in NeMo-RL (tests only): a run that exits with a chosen code or waits for signals.

What the real scripts check (schema, data, tokenization, start-up up to the GPU placement) is
proven against the real NeMo-RL by the tests marked nemo_rl_real. The few checks left here are
what the real code accepts silently: leftovers of our own composition and a Gym config handed to
run_grpo.py, which ignores env.should_use_nemo_gym."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf
from stand_in_training import train

ROOT = Path(__file__).resolve().parent.parent


class StandInFailure(Exception):
    pass


def _lookup(cfg: dict, dotted: str):
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise StandInFailure(f"config lacks {dotted}")
        node = node[part]
    return node


def check(algo: str, argv: list[str]) -> tuple[Path, dict]:
    if Path.cwd().resolve() != ROOT:
        raise StandInFailure(f"cwd is {Path.cwd()}, the NeMo-RL root is {ROOT}")
    if len(argv) != 2 or argv[0] != "--config":
        raise StandInFailure(f"argv must be exactly ['--config', <path>], got {argv}")
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    path = Path(parser.parse_args(argv).config)
    if not path.is_absolute() or not path.is_file():
        raise StandInFailure(f"--config {path} is not an existing absolute path")
    text = path.read_text()
    for marker in ("${", "???"):
        if marker in text:
            raise StandInFailure(f"config holds an unresolved '{marker}'")
    cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    for key in ("hydra", "launch"):
        if key in cfg:
            raise StandInFailure(f"config has a top-level '{key}' key")
    if algo == "grpo" and cfg["env"].get("should_use_nemo_gym"):
        raise StandInFailure("run_grpo.py ignores env.should_use_nemo_gym: wrong entry point")
    return path, cfg


def _applies(setting: str | None, cfg: dict) -> bool:
    """A setting is "1" (every job) or "<dotted key>=<value>" (the job with that value)."""
    if not setting:
        return False
    if "=" not in setting:
        return True
    key, value = setting.split("=", 1)
    return str(_lookup(cfg, key)) == value


def _exit_code(cfg: dict) -> int:
    """STAND_IN_EXIT_CODE, or per job: STAND_IN_EXIT_CODE_WHEN=<dotted key>=<value>:<code>."""
    rule = os.environ.get("STAND_IN_EXIT_CODE_WHEN")
    if rule:
        condition, code = rule.rsplit(":", 1)
        if _applies(condition, cfg):
            return int(code)
    return int(os.environ.get("STAND_IN_EXIT_CODE", "0"))


def _save(record: dict, record_path: str | None) -> None:
    if record_path:
        Path(record_path).write_text(json.dumps(record, indent=2))


def _start_record(algo: str) -> dict:
    return {
        "script": f"examples/run_{algo}.py",
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "python": platform.python_version(),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("STAND_IN_", "NA_TEST_"))},
        "signals": [],
    }


def _catch_signals(received: list[int]) -> None:
    """Record INT, TERM, USR1 and USR2 as they come, except those named in STAND_IN_IGNORE."""
    ignored = {signal.Signals[s] for s in os.environ.get("STAND_IN_IGNORE", "").split(",") if s}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2):
        if sig in ignored:
            signal.signal(sig, signal.SIG_IGN)
        else:
            signal.signal(sig, lambda signum, _frame: received.append(signum))


def _wait_for_signals(record: dict, record_path: str | None, ready: Path) -> None:
    """Tell the test it may signal (<record>.ready), then wait up to STAND_IN_WAIT_S seconds."""
    received: list[int] = []
    _catch_signals(received)
    _save(record, record_path)
    ready.write_text("ready")
    deadline = time.monotonic() + float(os.environ.get("STAND_IN_WAIT_S", "30"))
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    record["signals"] = [signal.Signals(s).name for s in received]
    with Path(f"{record_path}.signals").open("a") as log:
        log.write(" ".join(record["signals"]) + "\n")


def main(algo: str) -> None:
    record_path = os.environ.get("STAND_IN_RECORD")
    record = _start_record(algo)
    try:
        path, cfg = check(algo, sys.argv[1:])
    except StandInFailure as err:
        record["failure"] = str(err)
        _save(record, record_path)
        print(f"stand-in NeMo-RL: {err}", file=sys.stderr)
        sys.exit(3)
    record["config_path"] = str(path)
    record["config"] = cfg
    train(algo, cfg)
    code = _exit_code(cfg)
    ready = Path(f"{record_path}.ready")
    once = os.environ.get("STAND_IN_WAIT_ONCE") and ready.exists()
    if _applies(os.environ.get("STAND_IN_WAIT_FOR_SIGNAL"), cfg) and not once:
        _wait_for_signals(record, record_path, ready)
    _save(record, record_path)
    print(f"stand-in NeMo-RL {algo}: config accepted, exiting with {code}")
    sys.exit(code)
