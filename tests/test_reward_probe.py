"""The reward probe: rows, answers, table, verdict; math-verify in-process; NeMo-Gym's server."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

from nemotron_align.config.launch_schema import ProbeMode
from nemotron_align.config.resolvers import TINY_DATA_DIR
from nemotron_align.errors import LaunchRejected, LaunchRejectedMany
from nemotron_align.probe.answers import WRONG_SENTINEL, as_number, good_answer, wrong_answer
from nemotron_align.probe.gym_server import (
    descendants,
    running_gym_server,
    server_config,
    server_environment,
)
from nemotron_align.probe.gym_verifier import GymVerifyClient, Score, gym_availability
from nemotron_align.probe.reward import main, run_probe
from nemotron_align.probe.rows import ProbeRow, read_rows, row_from_record, sample_rows
from nemotron_align.probe.scoring import ProbeResult, math_verify_available, score_rows
from nemotron_align.probe.verdict import format_table, reject_if_failed

GYM_ROWS = TINY_DATA_DIR / "grpo_gym_train.jsonl"
RLVR_ROWS = TINY_DATA_DIR / "rlvr_train.jsonl"
# Math-verify cannot parse a stray closing brace, so a row expecting it can never score 1.0.
UNSCORABLE_EXPECTED = "}"

needs_math_verify = pytest.mark.skipif(
    not math_verify_available(),
    reason=f"math-verify is not installed in {sys.executable} "
    "(pip install 'nemotron-align[probe]')",
)
_GYM = gym_availability(sys.executable)
needs_gym = pytest.mark.skipif(
    not _GYM.ok,
    reason=f"NeMo-Gym's math_with_judge server cannot run here: {_GYM.why_not()} "
    "(nemo-gym needs Python >= 3.12: run scripts/gym_test_env.sh)",
)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def rlvr_row(expected: str, where: str = "rows.jsonl:1") -> ProbeRow:
    return row_from_record({"input": "Q?", "output": expected}, where)


class FixedScorer:
    """Scores every good answer `good` and every wrong one `wrong`."""

    description = "fixed scores"

    def __init__(self, good: float, wrong: float) -> None:
        self.good, self.wrong = good, wrong

    def score(self, row: ProbeRow, answer: str) -> Score:
        return Score(self.good if answer == good_answer(row.expected) else self.wrong, None)


# ---- rows


def test_gym_and_rlvr_rows_are_read_with_file_and_line() -> None:
    gym = read_rows(GYM_ROWS)
    assert gym[0].where == f"{GYM_ROWS}:1"
    assert (gym[0].question, gym[0].expected) == ("What is 2 + 3?", "5")
    assert gym[0].responses_create_params["input"][0]["role"] == "user"
    rlvr = read_rows(RLVR_ROWS)
    assert rlvr[6].where == f"{RLVR_ROWS}:7"
    assert rlvr[6].expected == "\\frac{3}{4}"
    assert rlvr[6].responses_create_params == {
        "input": [{"role": "user", "content": "What is 1/2 + 1/4? Give a fraction."}]
    }


def test_gym_row_without_question_uses_its_prompt() -> None:
    record = {
        "responses_create_params": {"input": [{"role": "user", "content": "What is 1 + 1?"}]},
        "expected_answer": 2,
    }
    row = row_from_record(record, "f.jsonl:3")
    assert (row.question, row.expected) == ("What is 1 + 1?", "2")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"prompt": "x"}, "neither expected_answer"),
        ({"expected_answer": "1"}, "no responses_create_params.input"),
        ({"output": "1"}, "no input text"),
        ({"input": "Q?", "output": "  "}, "empty"),
        ({"input": "Q?", "output": ["1"]}, "not text or a number"),
        (["not", "a", "dict"], "not a JSON object"),
    ],
)
def test_unusable_rows_are_rejected_at_their_line(record: object, problem: str) -> None:
    with pytest.raises(LaunchRejected) as err:
        row_from_record(record, "data.jsonl:4")
    assert err.value.where == "data.jsonl:4"
    assert problem in err.value.problem


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"input": "Q?", "output": "1"}\n\n{oops\n')
    with pytest.raises(LaunchRejected) as err:
        read_rows(path)
    assert err.value.where == f"{path}:3"


def test_sampling_is_deterministic_subset_in_file_order() -> None:
    rows = read_rows(GYM_ROWS)
    first = sample_rows(rows, 3, seed=7)
    assert first == sample_rows(rows, 3, seed=7)
    assert len(first) == 3
    assert [rows.index(r) for r in first] == sorted(rows.index(r) for r in first)
    assert {tuple(r.where for r in sample_rows(rows, 3, seed=s)) for s in range(10)} != {
        tuple(r.where for r in first)
    }
    assert sample_rows(rows, 100) == rows


# ---- answers


@pytest.mark.parametrize(
    ("expected", "value"),
    [
        ("42", Fraction(42)),
        ("-3", Fraction(-3)),
        ("+0.5", Fraction(1, 2)),
        (".25", Fraction(1, 4)),
        ("3/4", Fraction(3, 4)),
        ("-\\frac{3}{4}", Fraction(-3, 4)),
        ("\\dfrac{10}{4}", Fraction(5, 2)),
        ("x^2", None),
        ("1/0", None),
        ("\\sqrt{2}", None),
    ],
)
def test_plain_numbers_are_read_exactly(expected: str, value: Fraction | None) -> None:
    assert as_number(expected) == value


@pytest.mark.parametrize(
    ("expected", "wrong"),
    [
        ("5", "\\boxed{17}"),
        ("0", "\\boxed{7}"),
        ("-3", "\\boxed{13}"),
        ("0.5", "\\boxed{8}"),
        ("\\frac{3}{4}", "\\boxed{\\frac{17}{2}}"),
        ("\\(\\frac{333}{1997}\\)", "\\boxed{\\frac{14645}{1997}}"),
        ("$-2.5$", "\\boxed{12}"),
        ("A", "\\boxed{B}"),
        ("(C)", "\\boxed{D}"),
        ("Z", "\\boxed{A}"),
        ("x", "\\boxed{y}"),
        ("x^2+1", f"\\boxed{{{WRONG_SENTINEL}}}"),
        ("\\text{Monday}", f"\\boxed{{{WRONG_SENTINEL}}}"),
        ("\\(\\sqrt{2}\\)", f"\\boxed{{{WRONG_SENTINEL}}}"),
    ],
)
def test_wrong_answer_cannot_equal_the_expected_one(expected: str, wrong: str) -> None:
    assert wrong_answer(expected) == wrong
    value, wrong_value = as_number(expected.strip("$")), as_number(wrong[7:-1])
    if value is not None:
        assert wrong_value is not None
        assert abs(wrong_value - value) >= 7
        assert abs(wrong_value - value) >= abs(value)


def test_good_answer_boxes_the_expected_one_without_delimiters() -> None:
    assert good_answer("5") == "\\boxed{5}"
    assert good_answer("\\(\\frac{1}{2}\\)") == "\\boxed{\\frac{1}{2}}"
    assert good_answer(" $x^2$ ") == "\\boxed{x^2}"


# ---- table and verdict


def test_table_shows_every_row_and_its_verdict() -> None:
    rows = [rlvr_row("5", "a.jsonl:1"), rlvr_row("\\frac{3}{4}", "a.jsonl:2")]
    table = format_table(score_rows(rows, FixedScorer(good=1.0, wrong=0.0)))
    lines = table.splitlines()
    assert lines[0] == "reward probe: fixed scores"
    assert lines[1].split() == [
        "row", "expected", "good", "answer", "reward", "wrong", "answer", "reward", "verdict",
    ]  # fmt: skip
    assert lines[2].split() == ["a.jsonl:1", "5", "\\boxed{5}", "1.0", "\\boxed{17}", "0.0", "ok"]
    assert lines[-1] == "2/2 rows ok"
    failing = format_table(score_rows(rows, FixedScorer(good=1.0, wrong=1.0)))
    assert failing.splitlines()[2].endswith("FAIL")
    assert failing.splitlines()[-1] == "0/2 rows ok, 2 FAILED"


def test_passing_probe_is_not_rejected() -> None:
    result = score_rows([rlvr_row("5")], FixedScorer(good=1.0, wrong=0.0))
    assert result.ok
    reject_if_failed(result)


def test_good_answer_below_one_rejects_naming_the_row() -> None:
    result = score_rows([rlvr_row("5", "train.jsonl:12")], FixedScorer(good=0.0, wrong=0.0))
    with pytest.raises(LaunchRejected) as err:
        reject_if_failed(result)
    assert err.value.where == "train.jsonl:12"
    assert "expected answer \\boxed{5} scored 0, not 1.0" in err.value.problem
    assert "write the expected answer so the verifier parses it" in err.value.fix


def test_rewarded_wrong_answers_reject_every_row() -> None:
    rows = [rlvr_row("5", "t.jsonl:1"), rlvr_row("6", "t.jsonl:2"), rlvr_row("7", "t.jsonl:3")]
    scorer = FixedScorer(good=1.0, wrong=1.0)
    with pytest.raises(LaunchRejectedMany) as err:
        reject_if_failed(score_rows(rows, scorer))
    assert [p.where for p in err.value.problems] == ["t.jsonl:1", "t.jsonl:2", "t.jsonl:3"]
    assert "wrong answer \\boxed{17} scored 1, not 0.0" in err.value.problems[0].problem
    assert "rewards wrong answers" in err.value.problems[0].fix
    assert err.value.render().count("error: t.jsonl:") == 3


def test_no_rows_scored_is_a_failure() -> None:
    with pytest.raises(LaunchRejected):
        reject_if_failed(ProbeResult("nothing"))


def test_gym_mode_with_no_gym_interpreter_is_refused(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-python")
    with pytest.raises(LaunchRejected) as err:
        run_probe([RLVR_ROWS], mode=ProbeMode.gym, gym_python=missing)
    assert missing in err.value.problem
    assert "nemotron-align[gym]" in err.value.fix


# ---- in-process math-verify


@needs_math_verify
def test_math_verify_scores_good_one_and_wrong_zero_on_tiny_data() -> None:
    out = io.StringIO()
    result = run_probe([GYM_ROWS, RLVR_ROWS], n=8, mode=ProbeMode.math_verify, out=out)
    assert result.ok, out.getvalue()
    assert len(result.outcomes) == 16
    assert result.mode.startswith("in-process math-verify")
    assert all(o.good.reward == 1.0 and o.wrong.reward == 0.0 for o in result.outcomes)
    assert "16/16 rows ok" in out.getvalue()


@needs_math_verify
def test_math_verify_unscorable_answer_makes_the_cli_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"input": "Q1?", "output": "4"}, {"input": "Q2?", "output": UNSCORABLE_EXPECTED}],
    )
    assert main([str(path), "--mode", "math-verify"]) == 2
    captured = capsys.readouterr()
    assert "FAIL" in captured.out
    assert f"error: {path}:2: reward probe (in-process math-verify" in captured.err
    assert "fix: write the expected answer" in captured.err


# ---- the Gym /verify client and server lifecycle, without Gym


def test_server_config_is_loopback_judge_off_and_ignores_outer_ray(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    env = server_environment(port=12345, head_port=12346)
    assert "RAY_ADDRESS" not in env
    assert env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"
    assert env["NEMO_GYM_CONFIG_PATH"] == "math_with_judge"
    config = server_config(port=12345, head_port=12346)
    assert yaml.safe_load(env["NEMO_GYM_CONFIG_DICT"]) == config
    server = config["math_with_judge"]["resources_servers"]["math_with_judge"]
    assert (server["host"], server["port"], server["should_use_judge"]) == (
        "127.0.0.1",
        12345,
        False,
    )
    judge = config[server["judge_model_server"]["name"]]["responses_api_models"]["vllm_model"]
    assert judge["base_url"].startswith("http://127.0.0.1:")
    assert config["head_server"] == {"host": "127.0.0.1", "port": 12346}


def test_dead_endpoint_fails_fast() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = GymVerifyClient(f"http://127.0.0.1:{port}", timeout_s=5)
    started = time.monotonic()
    with pytest.raises(LaunchRejected) as err:
        client.verify("Q?", "4", {"input": "Q?"}, "\\boxed{4}")
    assert time.monotonic() - started < 5
    assert err.value.where == f"http://127.0.0.1:{port}/verify"
    assert "refused" in err.value.problem.lower()


def test_silent_endpoint_times_out() -> None:
    # Listening but never answering: connect succeeds, the reply never comes.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        client = GymVerifyClient(f"http://127.0.0.1:{sock.getsockname()[1]}", timeout_s=1)
        started = time.monotonic()
        with pytest.raises(LaunchRejected) as err:
            client.verify("Q?", "4", {"input": "Q?"}, "\\boxed{4}")
        assert time.monotonic() - started < 5
    assert "no answer within 1 s" in err.value.problem


def test_server_that_cannot_start_is_reported_with_its_log() -> None:
    if _GYM.ok:
        pytest.skip("this interpreter has nemo-gym, so the server would start")
    started = time.monotonic()
    with pytest.raises(LaunchRejected) as err, running_gym_server(sys.executable):
        pass
    assert time.monotonic() - started < 30
    assert "exited with status 1" in err.value.problem
    assert "No module named" in err.value.problem


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.fixture
def stuck_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A stand-in Gym interpreter whose server never listens and has a child in its own session,
    as Ray's workers are, and a grandchild; it writes their PIDs to the second path. Asked to
    run `-c` (the availability check), it reports nemo-gym present."""
    pids = tmp_path / "pids"
    fake_python = tmp_path / "fake-python"
    fake_python.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import json, os, subprocess, sys, time
            if sys.argv[1] == "-c":
                print(json.dumps({{"missing": [], "version": "0", "python": "3.12.0"}}))
                sys.exit(0)
            child = subprocess.Popen(["sleep", "300"], start_new_session=True)
            grandchild = subprocess.Popen(["sleep", "300"])
            with open(os.environ["PROBE_TEST_PIDS"], "w") as f:
                f.write(f"{{os.getpid()}} {{child.pid}} {{grandchild.pid}}")
            time.sleep(300)
            """
        )
    )
    fake_python.chmod(0o755)
    monkeypatch.setenv("PROBE_TEST_PIDS", str(pids))
    return fake_python, pids


def assert_all_gone(pids: Path) -> None:
    for pid in map(int, pids.read_text().split()):
        deadline = time.monotonic() + 5
        while _state(pid) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(pid) in (None, "Z"), f"process {pid} outlived the server"


def test_server_never_ready_is_stopped_with_all_its_children(
    stuck_server: tuple[Path, Path],
) -> None:
    fake_python, pids = stuck_server
    started = time.monotonic()
    with (
        pytest.raises(LaunchRejected) as err,
        running_gym_server(str(fake_python), ready_timeout_s=3, stop_grace_s=1),
    ):
        pass
    assert time.monotonic() - started < 20
    assert "did not answer within 3 s" in err.value.problem
    assert_all_gone(pids)


def test_sigterm_to_the_probe_stops_the_server(stuck_server: tuple[Path, Path]) -> None:
    fake_python, pids = stuck_server
    argv = [sys.executable, "-m", "nemotron_align.probe.reward", str(RLVR_ROWS)]
    probe = subprocess.Popen([*argv, "--mode", "gym", "--gym-python", str(fake_python)])
    try:
        deadline = time.monotonic() + 30
        while not (pids.exists() and len(pids.read_text().split()) == 3):
            assert time.monotonic() < deadline, "the stand-in server never started"
            assert probe.poll() is None, "the probe ended before its server started"
            time.sleep(0.1)
        probe.send_signal(signal.SIGTERM)
        assert probe.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait(timeout=10)
    assert_all_gone(pids)


# ---- the real NeMo-Gym server


@pytest.mark.gym_server
@needs_gym
def test_gym_server_scores_good_one_and_wrong_zero_on_tiny_data() -> None:
    out = io.StringIO()
    result = run_probe([GYM_ROWS, RLVR_ROWS], n=8, mode=ProbeMode.gym, out=out)
    assert result.ok, out.getvalue()
    assert result.mode.startswith(f"NeMo-Gym {_GYM.gym_version} math_with_judge server")
    assert len(result.outcomes) == 16
    assert all(o.good.reward == 1.0 and o.wrong.reward == 0.0 for o in result.outcomes)
    by_expected = {o.row.expected: o for o in result.outcomes}
    assert by_expected["42"].good.extracted == "42"
    assert by_expected["\\frac{3}{4}"].wrong_answer == "\\boxed{\\frac{17}{2}}"


@pytest.mark.gym_server
@needs_gym
def test_gym_server_unscorable_answer_is_rejected_and_server_stopped(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"input": "Q1?", "output": "4"}, {"input": "Q2?", "output": UNSCORABLE_EXPECTED}],
    )
    out = io.StringIO()
    result = run_probe([path], mode=ProbeMode.gym, out=out)
    with pytest.raises(LaunchRejected) as err:
        reject_if_failed(result)
    assert err.value.where == f"{path}:2"
    assert "scored 0, not 1.0" in err.value.problem
    url = result.mode.rsplit(", ", 1)[1].rstrip(")")
    with pytest.raises(LaunchRejected, match="refused"):
        GymVerifyClient(url, timeout_s=5).verify("Q?", "4", {"input": "Q?"}, "\\boxed{4}")


def _listening_sockets(pids: list[int]) -> list[str]:
    """Local addresses of the TCP sockets these processes listen on (Linux /proc)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1].split(":")[0])
    return found


@pytest.mark.gym_server
@needs_gym
def test_gym_server_and_its_ray_listen_on_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")  # a private Ray must ignore it
    with running_gym_server(sys.executable) as server:
        assert server.client.base_url.startswith("http://127.0.0.1:")
        assert server.client.verify("Q?", "4", {"input": "Q?"}, "\\boxed{4}").reward == 1.0
        tree = [server.pid, *(p.pid for p in descendants(server.pid))]
        addresses = _listening_sockets(tree)
    assert addresses
    # 127.0.0.1 in /proc/net/tcp, then ::1 and ::ffff:127.0.0.1 in /proc/net/tcp6.
    loopback = {
        "0100007F",
        "00000000000000000000000001000000",
        "0000000000000000FFFF00000100007F",
    }
    assert set(addresses) <= loopback, addresses
    assert not any(_state(pid) not in (None, "Z") for pid in tree)


@needs_math_verify
def test_launch_runs_the_probe_before_writing_anything(tmp_path: Path) -> None:
    ok_dir = tmp_path / "ok"
    ok = run_cli(
        [
            "algo=rlvr",
            "data=tiny",
            "launch.dry_run=true",
            "launch.reward_probe=true",
            "launch.reward_probe_rows=3",
            f"hydra.run.dir={ok_dir}",
        ],
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert "reward probe: in-process math-verify" in ok.stderr and "6/6 rows ok" in ok.stderr

    bad_rows = tmp_path / "bad.jsonl"
    bad_rows.write_text(json.dumps({"input": "Q?", "output": UNSCORABLE_EXPECTED}) + "\n")
    bad_dir = tmp_path / "bad"
    bad = run_cli(
        [
            "algo=rlvr",
            "data=response_jsonl",
            f"data.train.data_path={bad_rows}",
            f"data.validation.data_path={bad_rows}",
            "launch.dry_run=true",
            "launch.reward_probe=true",
            f"hydra.run.dir={bad_dir}",
        ],
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert f"{bad_rows}:1" in bad.stderr and "Traceback" not in bad.stderr
    assert not bad_dir.exists()


def test_probe_refused_for_dpo(tmp_path: Path) -> None:
    result = run_cli(
        [
            "algo=dpo",
            "data=tiny",
            "launch.dry_run=true",
            "launch.reward_probe=true",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "DPO has no reward to probe" in result.stderr
