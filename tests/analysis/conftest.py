"""A run folder analysed with every figure, shared by the tests of this folder (the trained
``digits_module`` it analyses is in tests/conftest.py: the tests of classification use it too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepimg.analysis.run_analysis import AnalysisSettings, analyse_run
from deepimg.commands.runs import write_metrics
from deepimg.commands.train import save_physics_pictures

# The CSV logger's layout for three epochs whose validation loss bottoms out at epoch 2.
HISTORY = """epoch,step,train/acc,train/loss,train/loss_step,val/acc,val/loss
0,10,,,1.9,,
0,17,,,,0.70,0.90
0,17,0.55,1.40,,,
1,35,,,,0.85,0.50
1,35,0.80,0.60,,,
2,53,,,,0.84,0.62
2,53,0.93,0.25,,,
"""


@pytest.fixture(scope="session")
def analysed_run(digits_module, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder as `deepimg train analysis=full` leaves it (small example counts)."""
    module, datamodule = digits_module
    run = tmp_path_factory.mktemp("run")
    (run / "metrics.csv").write_text(HISTORY)
    write_metrics(run, {"test/acc": 0.9, "status": "completed", "epochs": 3})
    save_physics_pictures(module, datamodule, run)
    settings = AnalysisSettings(
        figures="full", examples_per_class=1, embedding_samples=120, mosaic_side=2
    )
    analyse_run(module, datamodule, run, settings, history=run / "metrics.csv")
    return run
