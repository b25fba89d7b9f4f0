"""The scalars NeMo-RL logged to TensorBoard, read back for many run folders at once.

NeMo-RL's TensorBoard logger writes `<logger.log_dir>/exp_NNN/tensorboard/events.out.tfevents.*`,
one event per scalar. TensorBoard's own reader does the reading: its Rust data server (shipped in
the `tensorboard-data-server` wheel, what `tensorboard --load_fast` uses) loads every event file
under the folder in parallel, tolerating files still being written, and is asked over gRPC with
TensorBoard's `GrpcDataProvider`: first each tag's last step and time (cheap), then the full series
of the tags asked for only. Where the wheel has no server binary for this platform, TensorBoard's
Python `EventAccumulator` reads the same files, slower.

A run folder relaunched into logs exp_001, exp_002...; its series are joined in that order, a later
experiment's value replacing an earlier one's at the same step (NeMo-RL resumed there).
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

EXP_DIR = re.compile(r"exp_(\d+)")
READY_LINE = "Finished load cycle"
SERVER_START_TIMEOUT_S = 120.0
MAX_MESSAGE_BYTES = 1 << 30


@dataclass
class Series:
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    wall_times: list[float] = field(default_factory=list)


@dataclass
class RunMetrics:
    # Every scalar tag logged, and the newest step and time over all of them.
    tags: set[str] = field(default_factory=set)
    last_step: int | None = None
    last_time: float | None = None
    # The tags asked for, in step order.
    series: dict[str, Series] = field(default_factory=dict)


# One event-file directory: {tag: (steps, wall times, values)}, and {tag: (max step, max time)}.
Points = dict[str, list[tuple[int, float, float]]]
Latest = dict[str, tuple[int, float]]
Wanted = Callable[[str], bool]


def read_metrics(root: Path, folders: list[Path], wanted: Wanted) -> dict[Path, RunMetrics]:
    """Each folder's metrics (folders under root; a folder without events gets empty metrics).
    `wanted(tag)` says which tags to read whole."""
    if not root.is_dir():
        return {folder: RunMetrics() for folder in folders}
    from tensorboard_data_server import server_binary

    binary = server_binary()
    latest, points = (
        _read_served(Path(binary), root, wanted) if binary else _read_accumulated(root, wanted)
    )
    return {folder: _join(root, folder, latest, points) for folder in folders}


def _experiment_order(run: str) -> tuple[int, str]:
    match = EXP_DIR.search(run)
    return (int(match.group(1)) if match else 0, run)


def _join(
    root: Path, folder: Path, latest: dict[str, Latest], points: dict[str, Points]
) -> RunMetrics:
    prefix = folder.resolve().relative_to(root.resolve()).as_posix()
    runs = sorted(
        (run for run in latest if prefix == "." or run == prefix or run.startswith(prefix + "/")),
        key=_experiment_order,
    )
    metrics = RunMetrics()
    by_tag: dict[str, dict[int, tuple[float, float]]] = {}
    for run in runs:
        for tag, (step, when) in latest[run].items():
            metrics.tags.add(tag)
            metrics.last_step = max(step, metrics.last_step or step)
            metrics.last_time = max(when, metrics.last_time or when)
        for tag, data in points.get(run, {}).items():
            by_tag.setdefault(tag, {}).update({s: (w, v) for s, w, v in data})
    for tag, data in by_tag.items():
        steps = sorted(data)
        metrics.series[tag] = Series(
            steps=steps, wall_times=[data[s][0] for s in steps], values=[data[s][1] for s in steps]
        )
    return metrics


def _read_served(
    binary: Path, root: Path, wanted: Wanted
) -> tuple[dict[str, Latest], dict[str, Points]]:
    with tempfile.TemporaryDirectory(prefix="nemotron_align_tb_") as tmp:
        port_file, log_file = Path(tmp) / "port", Path(tmp) / "server.log"
        with log_file.open("w") as log:
            server = subprocess.Popen(
                [
                    str(binary),
                    "--logdir",
                    str(root),
                    "--reload",
                    "once",
                    "--samples-per-plugin",
                    "scalars=all",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--port-file",
                    str(port_file),
                    "--die-after-stdin",
                    "-v",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                # A terminal's Ctrl-C is ours to handle; the server ends when stdin closes.
                start_new_session=True,
            )
            try:
                _wait_loaded(server, port_file, log_file)
                return _query(int(port_file.read_text()), wanted)
            finally:
                assert server.stdin is not None
                server.stdin.close()
                server.wait(timeout=30)


def _wait_loaded(server: subprocess.Popen[bytes], port_file: Path, log_file: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while READY_LINE not in log_file.read_text() or not port_file.read_text().endswith("\n"):
        if server.poll() is not None:
            raise RuntimeError(f"TensorBoard's data server exited: {log_file.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError("TensorBoard's data server did not finish loading in time")
        time.sleep(0.01)


def _query(port: int, wanted: Wanted) -> tuple[dict[str, Latest], dict[str, Points]]:
    import grpc

    # TensorBoard logs every request's latency at INFO: noise in a search's log, read each minute.
    logging.getLogger("tensorboard").setLevel(logging.WARNING)
    from tensorboard import context
    from tensorboard.data import grpc_provider, provider

    address = f"127.0.0.1:{port}"
    options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
    with grpc.insecure_channel(address, options=options) as channel:
        data = grpc_provider.GrpcDataProvider(address, grpc_provider.make_stub(channel))
        ctx = context.RequestContext()
        listed = data.list_scalars(ctx, experiment_id="", plugin_name="scalars")
        latest = {
            run: {tag: (s.max_step, s.max_wall_time) for tag, s in tags.items()}
            for run, tags in listed.items()
        }
        tags = sorted({tag for run in listed.values() for tag in run if wanted(tag)})
        if not tags:
            return latest, {}
        read = data.read_scalars(
            ctx,
            experiment_id="",
            plugin_name="scalars",
            downsample=1 << 62,
            run_tag_filter=provider.RunTagFilter(tags=tags),
        )
    points = {
        run: {tag: [(d.step, d.wall_time, d.value) for d in datums] for tag, datums in by.items()}
        for run, by in read.items()
    }
    return latest, points


def _read_accumulated(root: Path, wanted: Wanted) -> tuple[dict[str, Latest], dict[str, Points]]:
    from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

    latest: dict[str, Latest] = {}
    points: dict[str, Points] = {}
    for directory in sorted({p.parent for p in root.rglob("*tfevents*") if p.is_file()}):
        run = directory.relative_to(root).as_posix()
        events = EventAccumulator(str(directory), size_guidance={SCALARS: 0})
        events.Reload()
        latest[run], points[run] = {}, {}
        for tag in events.Tags()[SCALARS]:
            data = [(e.step, e.wall_time, e.value) for e in events.Scalars(tag)]
            latest[run][tag] = (max(d[0] for d in data), max(d[1] for d in data))
            if wanted(tag):
                points[run][tag] = data
    return latest, points
