"""After NeMo-RL exits: what the run produced, and (launch.export_hf=best|last) its Hugging Face
export into `<run folder>/hf/` by NeMo-RL's own converter for the backend that trained.

One code path for every way a run ends where we are still there to see it (subprocess,
in-process, a Slurm node's head task): `after_training` fills launch.json's `produced` and
`export_hf` and returns the run's exit code (a failed export fails the run).

Standard library only: it also runs on Slurm nodes, where nemo_rl.yaml cannot be parsed; the
facts it needs travel as `ExportSettings` (in slurm_job.json there).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.launchers.process import run_child
from nemotron_align.records.launch_record import LaunchRecord, now_iso
from nemotron_align.results.checkpoints import Checkpoint, best, latest, list_checkpoints

HF_DIR = "hf"
DCP_CONVERTER = "examples/converters/convert_dcp_to_hf.py"
MEGATRON_CONVERTER = "examples/converters/convert_megatron_to_hf.py"
# The run failed after training succeeded, without a converter exit code to pass on.
EXIT_EXPORT_FAILED = 1


@dataclass(frozen=True)
class ExportSettings:
    """launch.export_hf and the checkpointing facts of the rendered config it needs."""

    which: str  # none | best | last
    checkpoint_dir: str
    metric_name: str | None
    higher_is_better: bool
    megatron: bool

    @classmethod
    def from_config(cls, config: dict[str, Any], which: str) -> ExportSettings:
        checkpointing = config.get("checkpointing") or {}
        megatron_cfg = (config.get("policy") or {}).get("megatron_cfg") or {}
        return cls(
            which=which,
            checkpoint_dir=str(checkpointing.get("checkpoint_dir") or ""),
            metric_name=checkpointing.get("metric_name"),
            higher_is_better=bool(checkpointing.get("higher_is_better", True)),
            megatron=bool(megatron_cfg.get("enabled")),
        )

    def directory(self, nemo_rl_root: Path) -> Path | None:
        """Where NeMo-RL saved: a relative checkpoint_dir is read from its working directory."""
        return nemo_rl_root / self.checkpoint_dir if self.checkpoint_dir else None

    def pick(self, checkpoints: list[Checkpoint]) -> Checkpoint | None:
        if self.which == "best":
            return best(checkpoints, self.metric_name, self.higher_is_better)
        return latest(checkpoints)


@dataclass(frozen=True)
class StartedAs:
    """How NeMo-RL was started (interpreter, the NeMo-RL root as cwd, environment, fds it
    inherits such as the run folder's lock): the converter runs the same way."""

    python: list[str]
    cwd: Path
    env: dict[str, str]
    pass_fds: tuple[int, ...] = ()


def converter_argv(
    python: list[str], checkpoint: Checkpoint, hf_dir: Path, megatron: bool
) -> list[str] | None:
    """NeMo-RL's converter for the backend that trained, run from the NeMo-RL root; None when a
    Megatron checkpoint lacks the `policy/weights/iter_XXXXXXX` folder its converter wants."""
    if not megatron:
        script, flag, weights = DCP_CONVERTER, "--dcp-ckpt-path", checkpoint.weights
    else:
        iters = sorted(checkpoint.weights.glob("iter_*"))
        if not iters:
            return None
        script, flag, weights = MEGATRON_CONVERTER, "--megatron-ckpt-path", iters[-1]
    return [
        *python,
        script,
        "--config",
        str(checkpoint.config),
        flag,
        str(weights),
        "--hf-ckpt-path",
        str(hf_dir),
    ]


def produced(
    settings: ExportSettings, directory: Path | None, checkpoints: list[Checkpoint]
) -> dict[str, Any]:
    """launch.json's `produced`: the checkpoints the run left (the HF export is added by it)."""
    last = latest(checkpoints)
    top = best(checkpoints, settings.metric_name, settings.higher_is_better)
    return {
        "checkpoint_dir": str(directory) if directory else None,
        "last_step": last.step if last else None,
        "best_step": top.step if top else None,
        "metric_name": settings.metric_name,
        "best_metric": top.metric(settings.metric_name) if top else None,
        "hf_export": None,
    }


def after_training(
    record: LaunchRecord,
    run_dir: Path,
    settings: ExportSettings,
    training_code: int,
    started_as: StartedAs,
) -> int:
    """Fill `produced`, export when asked and training succeeded; the run's exit code."""
    directory = settings.directory(started_as.cwd)
    checkpoints = list_checkpoints(directory) if directory else []
    record.produced = produced(settings, directory, checkpoints)
    if training_code != 0 or settings.which == "none":
        return training_code
    hf_dir = run_dir.resolve() / HF_DIR
    record.export_hf = {"which": settings.which, "hf_path": str(hf_dir), "exit_code": None}
    chosen = settings.pick(checkpoints)
    if chosen is None:
        return _failed(
            record,
            f"{directory} holds no finished checkpoint (step_N/ with training_info.json)",
            "check checkpointing.save_period against the steps the run makes (NeMo-RL also "
            "saves at the last step), then export a checkpoint by hand",
        )
    argv = converter_argv(started_as.python, chosen, hf_dir, settings.megatron)
    if argv is None:
        return _failed(
            record,
            f"{chosen.weights} holds no Megatron iter_XXXXXXX folder to convert",
            "check that the checkpoint finished saving, then run NeMo-RL's "
            f"{MEGATRON_CONVERTER} on it by hand",
        )
    return _convert(record, argv, chosen, started_as)


def _convert(
    record: LaunchRecord,
    argv: list[str],
    chosen: Checkpoint,
    started_as: StartedAs,
) -> int:
    export = record.export_hf
    assert export is not None and record.produced is not None
    export.update(step=chosen.step, checkpoint=str(chosen.path), argv=argv, start_time=now_iso())
    started = time.monotonic()
    code = run_child(argv, started_as.cwd, started_as.env, pass_fds=started_as.pass_fds)
    export.update(
        end_time=now_iso(), duration_s=round(time.monotonic() - started, 3), exit_code=code
    )
    if code != 0:
        return _failed(
            record,
            f"NeMo-RL's converter exited with {code} exporting step {chosen.step}",
            "see the converter's output above, then rerun it from the NeMo-RL root "
            "(launch.json export_hf.argv); the checkpoints stay",
            code,
        )
    record.produced["hf_export"] = export["hf_path"]
    return 0


def _failed(record: LaunchRecord, what: str, fix: str, code: int = EXIT_EXPORT_FAILED) -> int:
    """The export failed after training succeeded: the run fails, its checkpoints stay."""
    err = LaunchRejected("launch.export_hf", f"training finished (exit 0), but {what}", fix)
    record.error = err.render()
    assert record.export_hf is not None
    record.export_hf["error"] = record.error
    print(record.error, file=sys.stderr)
    return code
