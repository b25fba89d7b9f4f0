"""Lineage: what a run starts from, recorded in launch.json's `consumed` before it starts, and
where a later run finds an earlier one's model (`${from_run:<run folder>}`).

`consumed` holds each local data file (path, size, xxh3_128 of its bytes, streamed), the policy's
starting point (`policy.model_name`, and the run folder it came from when it is a run's HF
export) and, for RLHF, the GenRM judge model. What the run leaves (`produced`) is filled after
it, by nemotron_align.results.export_hf, which also runs on Slurm nodes (this module needs
xxhash, so it is not imported there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nemotron_align.config.render import config_value
from nemotron_align.errors import LaunchRejected
from nemotron_align.gym.rows import split_paths
from nemotron_align.records.launch_record import LAUNCH_JSON

# 8 MiB reads: large enough that xxh3 runs at memory speed, small enough to stay cheap in RAM.
CHUNK_BYTES = 8 << 20
# Where rlhf names its GenRM judge: the model the Gym GenRM server is given.
JUDGE_KEY = "env.nemo_gym.genrm_model.responses_api_models.genrm_model.model"


def file_digest(path: Path) -> str:
    import xxhash  # only a launch that records lineage pays for it

    digest = xxhash.xxh3_128()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _data_files(config: dict[str, Any], root: Path) -> list[dict[str, Any]]:
    files = []
    # A relative path stayed as a recipe wrote it: NeMo-RL reads it from its root.
    for split, found in split_paths(config.get("data") or {}, root).items():
        path = found.resolve()
        if not path.is_file():  # a Hugging Face dataset, not a local file
            continue
        files.append(
            {
                "key": f"data.{split}.data_path",
                "path": str(path),
                "size": path.stat().st_size,
                "xxh3_128": file_digest(path),
            }
        )
    return files


def _exported_by(model: str) -> str | None:
    """The run folder whose HF export `model` is (as ${from_run:...} resolves it), else None."""
    path = Path(model)
    if not path.is_absolute() or path.name != "hf":
        return None
    try:
        record = json.loads((path.parent / LAUNCH_JSON).read_text())
    except (OSError, ValueError):
        return None
    produced = record.get("produced") or {}
    return str(path.parent) if produced.get("hf_export") == str(path) else None


def consumed(config: dict[str, Any], nemo_rl_root: Path) -> dict[str, Any]:
    model = config_value(config, "policy.model_name")
    found: dict[str, Any] = {
        "data": _data_files(config, nemo_rl_root),
        "policy": {
            "model_name": model,
            "from_run": _exported_by(model) if isinstance(model, str) else None,
        },
    }
    judge = config_value(config, JUDGE_KEY)
    if judge is not None:
        found["judge"] = {"key": JUDGE_KEY, "model": judge}
    return found


def run_hf_export(run_dir: str) -> str:
    """`${from_run:<run folder>}`: the HF export of a run that succeeded, as its launch.json
    records it."""
    folder = Path(run_dir).expanduser().resolve()
    fix_run = "name the folder of a finished run (the one holding its launch.json)"
    try:
        record = json.loads((folder / LAUNCH_JSON).read_text())
    except OSError:
        raise LaunchRejected(
            "from_run", f"{folder} is not a run folder (it has no {LAUNCH_JSON})", fix_run
        ) from None
    except ValueError:
        raise LaunchRejected(
            "from_run", f"{folder / LAUNCH_JSON} is not valid JSON", fix_run
        ) from None
    if record.get("dry_run"):
        raise LaunchRejected("from_run", f"{folder} is a dry run: it trained nothing", fix_run)
    if record.get("exit_code") != 0:
        how = "has not ended" if record.get("exit_code") is None else "failed"
        raise LaunchRejected(
            "from_run",
            f"the run in {folder} {how} (exit code {record.get('exit_code')}"
            f"{': ' + record['error'].splitlines()[0] if record.get('error') else ''})",
            "start from a run that succeeded, or rerun this one",
        )
    hf = (record.get("produced") or {}).get("hf_export")
    if not hf or not Path(hf).is_dir():
        raise LaunchRejected(
            "from_run",
            f"the run in {folder} has no Hugging Face export" + (f" ({hf} is gone)" if hf else ""),
            "launch that run with launch.export_hf=best (or last), or convert one of its "
            "checkpoints and point policy.model_name at the HF folder",
        )
    return str(hf)
