"""The memory a run needs is estimated on the meta device, before anything large exists."""

from __future__ import annotations

from pathlib import Path

from deepimg.config import compose as config
from deepimg.training.build import build_datamodule, build_module
from deepimg.training.memory import BYTES_PER_PARAMETER, memory_need
from tests.conftest import run_main
from tests.test_cli_errors import assert_one_line_error


def test_the_estimate_counts_the_real_networks_parameters_and_a_batch_of_activations() -> None:
    cfg = config.compose(["dataset=digits", "dataset.batch_size=32"])
    data = build_datamodule(cfg)
    need = memory_need(cfg, data)
    network = build_module(cfg, data).network
    assert need.parameters == sum(p.numel() for p in network.parameters()) * BYTES_PER_PARAMETER
    bigger = memory_need(config.compose(["dataset=digits", "dataset.batch_size=64"]), data)
    assert bigger.activations == 2 * need.activations > 0  # activations scale with the batch


def test_a_network_larger_than_the_machine_is_refused_before_it_is_built(tmp_path: Path) -> None:
    result = run_main(
        "train", "task=localize", "dataset=digits", "dataset.canvas=4096", cwd=tmp_path
    )
    assert_one_line_error(result, "needs about", "GB for one batch", "this machine has")
    assert not (tmp_path / "outputs").exists()
