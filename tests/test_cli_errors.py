"""Every bad input: one line on stderr naming the value, exit status 2, no traceback, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepimg.errors import UserError
from tests.conftest import run_main


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert lines[0].startswith("deepimg")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working folder that already holds a result, which no failure may touch."""
    earlier = tmp_path / "outputs" / "2026-01-01" / "00-00-00"
    earlier.mkdir(parents=True)
    (earlier / "metrics.json").write_text('{"test/acc": 0.9}')
    return tmp_path


def outputs_unchanged(workdir: Path) -> bool:
    files = [
        p.relative_to(workdir / "outputs").as_posix() for p in (workdir / "outputs").rglob("*")
    ]
    earlier = workdir / "outputs" / "2026-01-01" / "00-00-00" / "metrics.json"
    return sorted(files) == [
        "2026-01-01",
        "2026-01-01/00-00-00",
        "2026-01-01/00-00-00/metrics.json",
    ] and (earlier.read_text() == '{"test/acc": 0.9}')


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["physical_layer=blurr"], ["blurr", "accepted: blur, cameras, cfa,"]),
        (["bits=17"], ["physical_layer.bits=17", "1..16"]),
        (["bits=abc"], ["'abc'", "an integer in 1..16"]),
        (["bits=1.5"], ["1.5", "an integer in 1..16"]),
        (["bits=0..3", "-m"], ["physical_layer.bits=0", "1..16"]),
        (["dataset.root=/no/such/folder"], ["/no/such/folder", "existing folder"]),
        (["bitz=3"], ["bitz"]),
        (["bits=1..2", "--cfg", "job"], ["--cfg", "cannot be combined with a sweep"]),
        (["physics_lr=-1"], ["physics_lr=-1", "a number"]),
        (["physical_layer=cfa"], ["cfa", "3 channels"]),
        (["physical_layer=downsample", "pixels=40"], ["pixels=40", "1..28"]),
        (["physical_layer=sensor", "sigma=-1"], ["physical_layer.parts.blur.sigma=-1", "0..20"]),
    ],
)
def test_bad_train_input(workdir: Path, args: list[str], fragments: list[str]) -> None:
    assert_one_line_error(run_main("train", *args, cwd=workdir), *fragments)
    assert outputs_unchanged(workdir)


def test_unknown_command(workdir: Path) -> None:
    assert_one_line_error(run_main("trian", cwd=workdir), "trian", "train, eval, report")


def test_missing_checkpoint(workdir: Path) -> None:
    assert_one_line_error(
        run_main("eval", "ckpt=runs/none.ckpt", cwd=workdir), "runs/none.ckpt", "does not exist"
    )
    assert outputs_unchanged(workdir)


def test_checkpoint_that_is_not_deepimgs(workdir: Path) -> None:
    import torch

    (workdir / "other.ckpt").write_bytes(b"not a checkpoint at all")
    assert_one_line_error(
        run_main("eval", "ckpt=other.ckpt", cwd=workdir), "other.ckpt", "not a deepimg checkpoint"
    )
    torch.save({"state_dict": {}}, workdir / "foreign.ckpt")
    assert_one_line_error(
        run_main("eval", "ckpt=foreign.ckpt", cwd=workdir),
        "foreign.ckpt",
        "not a deepimg checkpoint",
    )
    assert outputs_unchanged(workdir)


def test_report_dir_that_does_not_exist(workdir: Path) -> None:
    assert_one_line_error(
        run_main("report", "outputs/multirun/nope", cwd=workdir),
        "outputs/multirun/nope",
        "does not exist",
    )


def test_report_dir_without_runs(workdir: Path) -> None:
    assert_one_line_error(run_main("report", "outputs", cwd=workdir), "no runs under 'outputs'")
    assert outputs_unchanged(workdir)


def test_missing_data_root_found_at_load_time(workdir: Path) -> None:
    """A folder that exists but lacks the files passes the early check and fails at load."""
    (workdir / "empty").mkdir()
    result = run_main("train", "dataset.root=empty", "trainer.max_epochs=1", cwd=workdir)
    assert_one_line_error(result, "dataset.root 'empty' lacks train-images-idx3-ubyte.gz")


class Payload:
    """Unpickled, it creates the file it names: what a crafted --experimental-rerun FILE runs."""

    def __init__(self, victim: Path) -> None:
        self.victim = victim

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.victim}",))


@pytest.mark.parametrize("flag", ["--experimental-rerun", "--experimental-re", "--exp"])
def test_hydras_rerun_flag_never_unpickles_a_file(
    tmp_path: Path, capsys, monkeypatch, flag: str
) -> None:
    """Hydra unpickles the file given to --experimental-rerun (any prefix of the flag works
    with argparse): deepimg refuses it with one line, in process, before Hydra starts."""
    import pickle

    from deepimg.cli import main

    victim, pickled = tmp_path / "victim.txt", tmp_path / "config.pickle"
    pickled.write_bytes(pickle.dumps(Payload(victim)))
    monkeypatch.chdir(tmp_path)
    for args in (["train", flag, str(pickled)], ["train", f"{flag}={pickled}", "bits=2"]):
        with pytest.raises(SystemExit) as stop:
            main(args)
        assert stop.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "is not accepted" in lines[0] and "resume=DIR" in lines[0]
    assert not victim.exists()
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    ("folder", "override"),
    [
        ("outputs/q1", "hydra.run.dir='outputs/q1'"),  # quoted: Hydra parses the quotes away
        ("outputs/sw_victim", 'hydra.sweep.dir="outputs/sw_victim"'),
        ("outputs/interp_0", "hydra.run.dir=outputs/interp_${seed}"),  # resolved by Hydra
    ],
)
def test_the_guard_checks_the_folder_hydra_will_use(
    tmp_path: Path, folder: str, override: str
) -> None:
    earlier = tmp_path / folder / ("0" if "sw_" in folder else "")
    (earlier / ".hydra").mkdir(parents=True)
    (earlier / ".hydra" / "overrides.yaml").write_text("[]\n")
    (earlier / "metrics.json").write_text('{"test/acc": 0.9}')
    sweep = ["bits=1,2", "-m"] if "sweep" in override else []
    assert_one_line_error(
        run_main("train", "dataset=digits", override, *sweep, cwd=tmp_path), "already holds a run"
    )
    assert (earlier / "metrics.json").read_text() == '{"test/acc": 0.9}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]  # no folder named "'outputs"


def test_a_folder_another_train_has_claimed_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "new").mkdir()
        (tmp_path / "new" / ".deepimg-claim").write_text(f"{other.pid}\n")
        result = run_main("train", "dataset=digits", "hydra.run.dir=new", cwd=tmp_path)
        assert_one_line_error(result, "'new' is being used by another deepimg train")
    finally:
        other.kill()
        other.wait()
    (tmp_path / "stale").mkdir()
    (tmp_path / "stale" / ".deepimg-claim").write_text(f"{other.pid}\n")  # that process ended
    from deepimg.commands.preflight import claim

    claim(tmp_path / "stale")  # taken over, no error
    assert (tmp_path / "stale" / ".deepimg-claim").read_text().strip() != str(other.pid)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["train", "dataset=digits", "k" * 5000 + "=1"], ["override key of 5,000 characters"]),
        (["train", "dataset=digits", "hydra/launcher=joblib", "hydra.launcher.n_jobs=0",
          "bits=1,2", "-m"], ["hydra.launcher.n_jobs=0 runs no job"]),
        (["eval", "ckpt=/dev/zero"], ["'/dev/zero' is not a regular file"]),
        (["eval", "ckpt="], ["ckpt= names nothing"]),
    ],
)  # fmt: skip
def test_inputs_that_gave_tracebacks_are_one_line(
    workdir: Path, args: list[str], fragments: list[str]
) -> None:
    assert_one_line_error(run_main(*args, cwd=workdir), *fragments)
    assert outputs_unchanged(workdir)  # no empty sweep folder either


def test_a_huge_sweep_is_counted_and_refused_without_listing_it(workdir: Path) -> None:
    import time

    start = time.perf_counter()
    result = run_main("train", "dataset=digits", "seed=1..1000000", cwd=workdir)
    assert_one_line_error(result, "this sweep makes 1,000,000 runs, more than 1,000",
                          "+max_runs=1000000")  # fmt: skip
    assert time.perf_counter() - start < 60  # a bound on a hang (it took minutes), not a goal
    assert outputs_unchanged(workdir)


def test_a_sweep_says_its_size_before_it_checks() -> None:
    from deepimg.config.sweeps import plan_sweep

    sweep = plan_sweep(["seed=range(1,1000001)", "physical_layer.bits=1,2,3,4,5,6,7,8"])
    assert sweep.runs == 8_000_000
    assert len(sweep.variants) == 3  # the ends of each, never a million configs
    assert sweep.numbers == {"physical_layer.bits": [str(b) for b in range(1, 9)]}


def test_each_of_many_swept_numbers_is_checked_against_its_annotation(workdir: Path) -> None:
    """The ends of a long list are composed; the values between them are checked against the
    key's annotation alone (here a value the range holds, but the literal does not)."""
    from deepimg.commands.preflight import check_values
    from deepimg.config import compose as config

    cfg = config.compose(["dataset=folder", "dataset.root=/tmp"])
    with pytest.raises(
        UserError, match=r"dataset.channels=2 is not accepted; expected one of 1, 3"
    ):
        check_values(cfg, "dataset.channels", ["1", "3", "1", "2", "3"])
    result = run_main("train", "dataset=digits", "bits=1,2,3,4,5,6,7,8", "-m", "lr=0", cwd=workdir)
    assert "a sweep of 8 runs; checking its values first" in result.stdout
