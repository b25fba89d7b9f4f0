"""Reading NeMo-RL's TensorBoard scalars back (results.metrics), naming the checkpoint metric's
tag (results.metric_tags) and finding a folder's jobs (results.jobs)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import tensorboard_data_server
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from nemotron_align.errors import LaunchRejected
from nemotron_align.results.jobs import find_jobs
from nemotron_align.results.metric_tags import candidate_tags, is_validation, tag_for
from nemotron_align.results.metrics import RunMetrics, read_metrics


def write_events(folder: Path, points: dict[str, list[tuple[int, float]]]) -> Path:
    """One scalar per event, as NeMo-RL's SummaryWriter.add_scalar writes them."""
    writer = EventFileWriter(str(folder))
    for tag, series in points.items():
        for step, value in series:
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
            writer.add_event(Event(wall_time=time.time(), step=step, summary=summary))
    writer.close()
    (path,) = folder.glob("events.out.tfevents.*")
    return path


def every_tag(tag: str) -> bool:
    return True


def accumulated(monkeypatch: pytest.MonkeyPatch, root: Path, folders: list[Path]) -> dict:
    """read_metrics as on a platform whose wheel has no data server: EventAccumulator."""
    with monkeypatch.context() as patch:
        patch.setattr(tensorboard_data_server, "server_binary", lambda: None)
        return read_metrics(root, folders, every_tag)


def as_plain(metrics: RunMetrics) -> tuple:
    series = {tag: (s.steps, s.values, s.wall_times) for tag, s in metrics.series.items()}
    return metrics.tags, metrics.last_step, metrics.last_time, series


def test_served_and_accumulated_readers_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [tmp_path / "0", tmp_path / "1"]
    for i, run in enumerate(runs):
        write_events(
            run / "logs" / "exp_001" / "tensorboard",
            {
                "train/loss": [(s, 1 / s + i) for s in range(1, 31)],
                "validation-default/loss": [(s, 0.5 - s / 100 + i) for s in (10, 20, 30)],
            },
        )
    assert tensorboard_data_server.server_binary(), "this platform's wheel has the server"
    served = read_metrics(tmp_path, runs, lambda tag: tag.startswith("validation"))
    assert served[runs[1]].tags == {"train/loss", "validation-default/loss"}
    assert served[runs[1]].last_step == 30
    assert list(served[runs[1]].series) == ["validation-default/loss"]  # only what was asked
    assert served[runs[1]].series["validation-default/loss"].values == pytest.approx(
        [1.4, 1.3, 1.2]
    )
    served = read_metrics(tmp_path, runs, every_tag)
    by_accumulator = accumulated(monkeypatch, tmp_path, runs)
    for run in runs:
        assert as_plain(served[run]) == as_plain(by_accumulator[run])


def test_a_file_cut_mid_record_gives_the_records_before_the_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_events(tmp_path / "tb", {"train/loss": [(s, float(s)) for s in range(1, 11)]})
    path.write_bytes(path.read_bytes()[:-7])  # a writer still busy with its last record
    for metrics in (
        read_metrics(tmp_path, [tmp_path], every_tag),
        accumulated(monkeypatch, tmp_path, [tmp_path]),
    ):
        assert metrics[tmp_path].series["train/loss"].steps == list(range(1, 10))


def test_a_folder_without_events_has_empty_metrics(tmp_path: Path) -> None:
    (tmp_path / "run" / "logs").mkdir(parents=True)
    folders = [tmp_path / "run", tmp_path / "not_yet_made"]
    metrics = read_metrics(tmp_path, folders, every_tag)
    for folder in folders:
        assert metrics[folder] == RunMetrics()


def test_a_relaunched_run_joins_its_experiments_the_later_one_winning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    write_events(logs / "exp_001" / "tensorboard", {"train/loss": [(s, 1.0) for s in range(1, 8)]})
    # Resumed from the checkpoint of step 5: steps 6 and 7 are logged again.
    write_events(logs / "exp_002" / "tensorboard", {"train/loss": [(s, 2.0) for s in range(6, 11)]})
    for metrics in (
        read_metrics(tmp_path, [tmp_path], every_tag),
        accumulated(monkeypatch, tmp_path, [tmp_path]),
    ):
        series = metrics[tmp_path].series["train/loss"]
        assert series.steps == list(range(1, 11))
        assert series.values == [1.0] * 5 + [2.0] * 5
        assert metrics[tmp_path].last_step == 10


def test_checkpoint_metric_names_map_to_nemo_rl_tags() -> None:
    dpo = ["validation-default/loss", "validation-default/accuracy", "train/loss"]
    assert tag_for("val:validation-default_loss", dpo) == "validation-default/loss"
    # A dataset name with "_" of its own.
    assert tag_for("val:validation-my_set_loss", ["validation-my_set/loss"]) == (
        "validation-my_set/loss"
    )
    assert tag_for("val:accuracy", ["validation/accuracy", "train/reward"]) == (
        "validation/accuracy"
    )
    assert tag_for("train:loss", dpo) == "train/loss"
    assert tag_for("val:accuracy", ["train/reward"]) is None  # not logged yet
    assert tag_for(None, dpo) is None
    assert candidate_tags("validation-default/loss") == ["validation-default/loss"]
    assert is_validation("validation-default/loss") and is_validation("validation/accuracy")
    assert not is_validation("timing/validation/total_validation_time")


def test_find_jobs_of_a_sweep_a_run_and_neither(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for job, status in ((0, "succeeded"), (1, "running")):
        (sweep / str(job)).mkdir(parents=True)
        record = {"job": job, "overrides": [f"a={job}"], "status": status, "exit_code": None}
        (sweep / str(job) / "job.json").write_text(json.dumps(record))
    (sweep / "1" / "nemo_rl.yaml").write_text("checkpointing: {metric_name: 'val:accuracy'}\n")
    kind, jobs = find_jobs(sweep)
    assert kind == "sweep"
    assert [(j.name, j.status, j.overrides) for j in jobs] == [
        ("0", "succeeded", ["a=0"]),
        ("1", "running", ["a=1"]),
    ]
    assert jobs[0].config == {}
    assert jobs[1].config["checkpointing"]["metric_name"] == "val:accuracy"
    run = tmp_path / "run"
    run.mkdir()
    (run / "launch.json").write_text(json.dumps({"overrides": ["x=1"], "exit_code": 3}))
    assert [(j.name, j.status) for j in find_jobs(run)[1]] == [("run", "failed")]
    with pytest.raises(LaunchRejected, match="neither a run folder"):
        find_jobs(tmp_path)
