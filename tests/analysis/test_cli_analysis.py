"""`deepimg train` and `deepimg eval` leave their figures and page in the run folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis.pages import missing_images, references
from tests.conftest import QUICK, run_cli

pytestmark = pytest.mark.slow  # new processes, real training

FAST_FULL = ["analysis.examples_per_class=1", "analysis.embedding_samples=100", "mosaic_side=2"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One epoch on scikit-learn's digits with every figure: a few seconds."""
    workdir = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMP_NUM_THREADS", "1")  # 8x8 images: more threads only wait for each other
        result = run_cli(
            "train", "dataset=digits", "analysis=full", *FAST_FULL, *QUICK, "hydra.run.dir=run",
            cwd=workdir,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_train_writes_every_figure_and_the_run_page(trained: Path) -> None:
    run = trained / "run"
    for name in ("confusion", "roc", "pr", "learning_curves", "saliency", "occlusion",
                 "filters", "embeddings", "sliding_window"):  # fmt: skip
        assert (run / "analysis" / f"{name}.png").stat().st_size > 5000, name
    page = run / "index.html"
    assert missing_images(page) == [] and "physics/examples.png" in references(page).images
    assert "one epoch only" in page.read_text()  # the diagnosis of a one-epoch run


def test_eval_draws_the_basic_figures_of_the_retest(trained: Path) -> None:
    ckpt = trained / "run" / "checkpoints" / "best.ckpt"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OMP_NUM_THREADS", "1")
        result = run_cli(
            "eval", f"ckpt={ckpt}", "bits=2", "analysis=basic", "hydra.run.dir=ev", cwd=trained
        )
    assert result.returncode == 0, result.stderr[-3000:]
    retest = trained / "ev"
    made = sorted(p.name for p in (retest / "analysis").glob("*.png"))
    assert made == ["confusion.png", "learning_curves.png", "pr.png", "roc.png"]
    assert (retest / "physics" / "examples.png").is_file()  # the 2-bit sensor's pictures
    text = (retest / "index.html").read_text()
    assert "re-test of" in text and "bits=2" in text
    assert missing_images(retest / "index.html") == []
    assert "figures: ev/index.html" in result.stdout
