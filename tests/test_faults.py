"""Faults in real subprocesses: a failing job in a sweep leaves its reason and the others go on."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import QUICK, run_cli, run_main
from tests.test_cli_errors import assert_one_line_error

pytestmark = pytest.mark.slow  # new processes, real training

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "launcher",
    [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]],
    ids=["one-after-another", "joblib"],
)
def test_a_failing_job_is_recorded_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch, launcher: list[str]
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # so the subprocess imports tests.faults
    result = run_cli(
        "train", "dataset=digits", "analysis=none", "physical_layer=none",
        "physical_layer._target_=tests.faults.Exploding", "+physical_layer.explode=false,true,false",
        "-m", *QUICK, *launcher, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    (sweep,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("deepimg")]
    assert lines[-1] == (
        f"deepimg train: 2 of 3 runs completed; failed: 1 ({sweep / '1' / 'error.log'})"
    )
    assert "Traceback" not in result.stderr
    failed = json.loads((sweep / "1" / "metrics.json").read_text())
    assert failed == {
        "status": "failed",
        "error": "RuntimeError: the exploding layer exploded, as asked",
    }
    assert "Traceback" in (sweep / "1" / "error.log").read_text()
    for run in ("0", "2"):  # the jobs around it completed
        assert json.loads((sweep / run / "metrics.json").read_text())["status"] == "completed"
    mode = stat.S_IMODE(os.stat(sweep / "0" / "metrics.json").st_mode)
    assert mode == stat.S_IMODE(os.stat(sweep / "0" / ".hydra" / "config.yaml").st_mode)

    report = run_cli("report", str(sweep), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "the exploding layer exploded" in (sweep / "report" / "summary.md").read_text()
    assert "the exploding layer exploded" in (sweep / "report" / "index.html").read_text()


def test_an_output_folder_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    """A file where a folder should be: a run that could not save its results never starts
    (the same check, on a real read-only folder, cannot be made as root, which CI may be)."""
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    for args in (
        ["train", "dataset=digits", f"hydra.run.dir={blocker}/run"],
        ["train", "dataset=digits", "bits=1,2", f"hydra.sweep.dir={blocker}/sweep", "-m"],
    ):
        assert_one_line_error(run_cli(*args, cwd=tmp_path), f"cannot write to '{blocker}/")
    inside = tmp_path / "in_a_file"
    inside.mkdir()
    (inside / "outputs").write_text("a file named outputs")
    result = run_cli("train", "dataset=digits", cwd=inside)
    assert_one_line_error(result, "cannot write to 'outputs/", "hydra.run.dir=DIR")
    assert blocker.read_text() == "not a folder"


def test_an_existing_run_folder_is_never_written_over(tmp_path: Path) -> None:
    run = tmp_path / "earlier"
    (run / ".hydra").mkdir(parents=True)
    (run / "metrics.json").write_text('{"status": "completed", "test/acc": 0.9}')
    result = run_cli("train", "dataset=digits", f"hydra.run.dir={run}", cwd=tmp_path)
    assert_one_line_error(result, str(run), "already holds a run")
    assert (run / "metrics.json").read_text() == '{"status": "completed", "test/acc": 0.9}'
    assert sorted(p.name for p in run.iterdir()) == [".hydra", "metrics.json"]


def test_corrupt_and_unexpected_inputs_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty.ckpt").write_bytes(b"")
    assert_one_line_error(
        run_cli("eval", "ckpt=empty.ckpt", cwd=tmp_path), "not a deepimg checkpoint"
    )
    (tmp_path / "text.ckpt").write_text("hello, I am not a checkpoint " * 20)
    result = run_cli("eval", "ckpt=text.ckpt", cwd=tmp_path)
    assert_one_line_error(result, "text.ckpt", "not a deepimg checkpoint")
    (tmp_path / "a_run").mkdir()
    assert_one_line_error(run_cli("eval", "ckpt=a_run", cwd=tmp_path), "is a folder", "best.ckpt")
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2 and "usage: deepimg" in result.stderr and not result.stdout


def test_report_lists_the_metrics_there_are_and_survives_odd_metrics_files(tmp_path: Path) -> None:
    from tests.commands.test_report import make_run

    make_run(
        tmp_path / "0",
        ["physical_layer.bits=1"],
        {"physical_layer": {"bits": 1}},
        {"test/acc": 0.5},
    )
    make_run(
        tmp_path / "1",
        ["physical_layer.bits=2"],
        {"physical_layer": {"bits": 2}},
        {"test/acc": 0.6},
    )
    make_run(
        tmp_path / "2",
        ["physical_layer.bits=3"],
        {"physical_layer": {"bits": 3}},
        {"test/acc": 0.7},
    )
    (tmp_path / "1" / "metrics.json").write_text("[1, 2, 3]")
    (tmp_path / "2" / "metrics.json").write_bytes(bytes(range(256)))
    result = run_cli("report", str(tmp_path), "--metrics", "nosuch", cwd=tmp_path)
    assert_one_line_error(result, "'nosuch'", "available: test/acc")
    result = run_cli("report", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Failed runs (2)" in (tmp_path / "report" / "summary.md").read_text()


def test_eval_refuses_another_network_and_takes_short_keys_after_a_group_swap(tmp_path) -> None:
    result = run_cli(
        "train", "dataset=digits", "analysis=none", *QUICK, "hydra.run.dir=run", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    ckpt = f"ckpt={tmp_path / 'run' / 'checkpoints' / 'best.ckpt'}"
    for change in ("model.depth=3", "model.channels=8"):  # other layers; other shapes
        result = run_main("eval", ckpt, change, cwd=tmp_path)  # a refusal: no process of its own
        assert_one_line_error(result, "the network must match the checkpoint")
    result = run_cli("eval", ckpt, "physical_layer=blur", "sigma=1", "analysis=none",
                     "hydra.run.dir=blurred", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    config = (tmp_path / "blurred" / "config.yaml").read_text()
    assert "deepimg.physics.blur.Blur" in config and "sigma: 1" in config
    (tmp_path / "a_file").write_text("not a folder")
    result = run_main("eval", ckpt, "hydra.run.dir=a_file/eval", cwd=tmp_path)
    assert_one_line_error(result, "cannot write to 'a_file/eval'", "hydra.run.dir=DIR")
    result = run_main("report", "run", "--out", "a_file/report", cwd=tmp_path)
    assert_one_line_error(result, "cannot write to 'a_file/report'", "--out=DIR")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["optimizer.lr=-1"], ["optimizer.lr=-1", "1e-12..inf"]),
        (["optimizer.lr=0"], ["optimizer.lr=0"]),
        (["optimizer.weight_decay=-1"], ["optimizer.weight_decay=-1", "0..inf"]),
        (["seed=-1"], ["seed=-1", "0..4294967295"]),
        (["trainer.max_epochs=-2"], ["trainer.max_epochs=-2", "1..inf"]),
        (["trainer.max_epochs=0"], ["trainer.max_epochs=0"]),
        (["trainer.limit_train_batches=0"], ["trainer.limit_train_batches=0"]),
        (["trainer.limit_val_batches=0"], ["trainer.limit_val_batches=0"]),
        (["model.fc=[0]"], ["model.fc=[0]", "each an integer in 1..inf"]),
        (["dataset.val_fraction=0"], ["dataset.val_fraction=0", "0.001..0.9"]),
        (["physical_layer=blur", "psf_size=4"], ["psf_size=4", "odd"]),
        (["dataset.train_size=5000"], ["train_size=5000", "1295 training images"]),
        (["trainer=gpu"], ["needs a CUDA GPU", "trainer=cpu"]),
        (["=5"], ["'=5' has no key"]),
    ],
)
def test_values_that_would_crash_or_mean_nothing_are_refused_first(
    tmp_path, args, fragments
) -> None:
    if "trainer=gpu" in args:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    result = run_cli("train", "dataset=digits", *args, cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "outputs").exists()


def test_folders_too_small_or_with_one_class_are_one_line(tmp_path: Path) -> None:
    from PIL import Image

    from tests.data.test_folder import kaggle_tree  # noqa: F401 - the layout this mirrors

    def folder(name: str, classes: dict[str, int]) -> Path:
        root = tmp_path / name
        for cls, n in classes.items():
            (root / cls).mkdir(parents=True)
            for i in range(n):
                Image.new("L", (8, 8), color=30 * i).save(root / cls / f"{i}.png")
        return root

    tiny = folder("tiny", {"a": 2, "b": 2})
    result = run_cli("train", "dataset=folder", f"dataset.root={tiny}", cwd=tmp_path)
    assert_one_line_error(result, "split is empty", "too few")
    one = folder("one", {"a": 20})
    result = run_cli("train", "dataset=folder", f"dataset.root={one}", cwd=tmp_path)
    assert_one_line_error(result, "at least 2 classes")
    broken = folder("broken", {"a": 20, "b": 0})
    for i in range(3):
        (broken / "b" / f"{i}.png").write_bytes(b"not an image")
    result = run_cli("train", "dataset=folder", f"dataset.root={broken}", cwd=tmp_path)
    assert_one_line_error(result, "'b'", "no readable images")
    assert not (tmp_path / "outputs").exists()


def test_a_folder_of_sweeps_keeps_them_apart_and_survives_broken_run_files(tmp_path: Path) -> None:
    """One sweep swept a group, another a number, a third the same bits as the second: the
    report keeps sweeps apart (no pooling as seeds) and lists broken runs with the reason."""
    from deepimg.commands.report import report
    from tests.commands.test_report import make_run

    for name in ("A", "B", "C"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "multirun.yaml").write_text("{}")
    for i, opt in enumerate(["adam", "sgd"]):
        make_run(tmp_path / "A" / str(i), [f"optimizer={opt}"], {}, {"test/acc": 0.5 + i / 10})
    for sweep, acc in (("B", 0.6), ("C", 0.8)):
        make_run(tmp_path / sweep / "0", ["physical_layer.bits=4"],
                 {"physical_layer": {"bits": 4}}, {"test/acc": acc})  # fmt: skip
        make_run(tmp_path / sweep / "1", ["physical_layer.bits=8"],
                 {"physical_layer": {"bits": 8}}, {"test/acc": acc + 0.05})  # fmt: skip
    (tmp_path / "C" / "1" / ".hydra" / "overrides.yaml").write_text("key: [unclosed")
    summary = report([tmp_path], metrics=["test/acc"])
    b4 = summary[(summary["bits"] == 4) & summary["sweep"].str.endswith("/B")]
    assert b4["test/acc"].tolist() == [0.6] and "n" not in summary  # not pooled with C's 0.8
    md = (tmp_path / "report" / "summary.md").read_text()
    assert "Failed runs (1)" in md and "unreadable .hydra/" in md
    assert (tmp_path / "report" / "index.html").is_file()
