"""A run's figures and page: which files each analysis level makes, and what they hold."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from deepimg.analysis.run_analysis import AnalysisSettings, analyse_run, settings_from_config
from deepimg.config import compose as config
from tests.analysis.pages import missing_images, references

BASIC = ["confusion.png", "roc.png", "pr.png"]
FULL = [*BASIC, "learning_curves.png", "saliency.png", "occlusion.png", "filters.png",
        "embeddings.png", "sliding_window.png"]  # fmt: skip


def test_full_analysis_makes_every_figure(analysed_run: Path) -> None:
    for name in FULL:
        assert (analysed_run / "analysis" / name).stat().st_size > 5000, name
    table = pd.read_csv(analysed_run / "analysis" / "per_class.csv", index_col=0)
    assert list(table.columns) == ["precision", "recall", "f1", "support"]
    assert list(table.index) == [str(d) for d in range(10)] + ["macro average"]
    assert table.loc["macro average", "support"] == table["support"].iloc[:10].sum()
    summary = json.loads((analysed_run / "analysis" / "analysis.json").read_text())
    assert summary["diagnosis"].startswith("overfitting from epoch 2")  # the HISTORY's minimum
    assert 0.5 < summary["macro_auroc"] <= 1.0 and 0.1 < summary["kmeans_purity"] <= 1.0


def test_the_run_page_shows_every_figure_and_the_physics(analysed_run: Path) -> None:
    page = analysed_run / "index.html"
    shown = set(references(page).images)
    assert {f"analysis/{name}" for name in FULL} | {"physics/examples.png"} <= shown
    assert missing_images(page) == []
    text = page.read_text()
    assert "overfitting from epoch 2" in text and ">precision</th>" in text


def test_basic_makes_only_the_fast_figures(digits_module, tmp_path: Path) -> None:
    module, datamodule = digits_module
    page = analyse_run(module, datamodule, tmp_path, AnalysisSettings(figures="basic"))
    made = sorted(p.name for p in (tmp_path / "analysis").iterdir())
    assert made == sorted([*BASIC, "analysis.json", "per_class.csv"])  # no history: no curves
    assert page == tmp_path / "index.html" and missing_images(page) == []
    assert module.training is False  # left as it was found


def test_none_makes_nothing(digits_module, tmp_path: Path) -> None:
    module, datamodule = digits_module
    assert analyse_run(module, datamodule, tmp_path, AnalysisSettings(figures="none")) is None
    assert list(tmp_path.iterdir()) == []


def test_settings_come_from_the_analysis_group() -> None:
    assert settings_from_config(config.compose([])).figures == "basic"
    full = settings_from_config(config.compose(["analysis=full", "analysis.mosaic_side=3"]))
    assert (full.figures, full.mosaic_side) == ("full", 3)
    older = OmegaConf.create({"seed": 0})  # a run made before the analysis group existed
    assert settings_from_config(older) == AnalysisSettings()
