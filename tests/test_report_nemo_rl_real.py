"""The report reads what NeMo-RL's own Logger writes: the real `nemo_rl.utils.logger.Logger`,
configured with the logger section our launcher rendered, logs DPO-like metrics, and the report
finds the checkpoint metric `val:validation-default_loss` under `validation-default/loss`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from nemo_rl_real_support import VENV_SIDE, real_tree, run_in_venv

from nemotron_align.results.report_rows import build_report

STEPS, VAL_PERIOD = 20, 5


@pytest.mark.nemo_rl_real
@pytest.mark.parametrize("release", ["v0.6.0", "v0.7.0", "main"])
def test_report_reads_the_real_nemo_rl_loggers_events(tmp_path: Path, release: str) -> None:
    tree = real_tree(release)
    run_dir = tmp_path / "run"
    rendered = run_cli(
        [
            "algo=dpo",
            "data=tiny",
            "launch.dry_run=true",
            f"launch.nemo_rl_root={tree}",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert rendered.returncode == 0, rendered.stderr
    driver = VENV_SIDE / "dpo_logger_driver.py"
    argv = [str(driver), str(run_dir / "nemo_rl.yaml"), str(STEPS), str(VAL_PERIOD)]
    logged = run_in_venv(tree, argv, tmp_path)
    assert logged.returncode == 0, logged.stderr[-3000:]
    assert logged.stdout.strip().endswith(str(run_dir / "logs" / "exp_001"))

    report = build_report(run_dir)
    assert report.ranking.metric == "val:validation-default_loss"
    assert report.ranking.higher_is_better is False
    (row,) = report.rows
    assert row.metric_tag == "validation-default/loss"
    assert row.steps == STEPS
    assert row.series.steps == list(range(VAL_PERIOD, STEPS + 1, VAL_PERIOD))
    assert row.series.values == pytest.approx([0.5 + 1 / s for s in row.series.steps])
    assert row.validation == {"validation-default/accuracy": pytest.approx(1 - 1 / STEPS)}
    assert row.best and row.best_point(higher_is_better=False) == (STEPS, pytest.approx(0.55))
