"""The figures of a restoration run: per-image PSNR of the network and of the classical
estimate, the error maps and the examples, in one pass over the test split."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from deepimg.tasks.restore.figures import EXAMPLES, psnr_title, restore_test_split
from deepimg.tasks.restore.task import Restore


class Offsets(nn.Module):
    """A restoration model whose estimate is off by 0.01 and whose output by 0.1."""

    def __init__(self) -> None:
        super().__init__()
        self.task = Restore()
        self.task.bind(SimpleNamespace(in_shape=(1, 4, 4), dynamic_range=1.0))
        self.unused = nn.Parameter(torch.zeros(()))

    def infer(self, scenes: torch.Tensor):
        return scenes + 0.1, scenes + 0.01, scenes * 2


def test_one_pass_gives_psnr_error_maps_and_the_first_examples() -> None:
    torch.manual_seed(0)
    batches = [(torch.rand(n, 1, 4, 4) * 0.5, torch.zeros(n)) for n in (7, 2)]
    r = restore_test_split(Offsets(), batches, data_range=1.0)
    assert r.count == 9
    assert r.psnr == pytest.approx(np.full(9, 20.0), rel=1e-5)  # 10 log10(1 / 0.1^2)
    assert r.psnr_baseline == pytest.approx(np.full(9, 40.0), rel=1e-4)
    assert torch.allclose(r.error_sum / r.count, torch.full((1, 4, 4), 0.1))
    assert torch.allclose(r.error_sum_baseline / r.count, torch.full((1, 4, 4), 0.01))
    assert set(r.examples) == {"scene", "measurement", "estimate", "output"}
    assert torch.equal(r.examples["scene"], batches[0][0][:EXAMPLES])
    assert torch.allclose(r.examples["measurement"], batches[0][0][:EXAMPLES] * 2)


def test_the_psnr_in_a_panel_title() -> None:
    scene = torch.full((1, 4, 4), 0.5)
    assert psnr_title(scene + 0.1, scene, 1.0) == "\n20.0 dB"
    assert psnr_title(scene + 0.1, scene, 4.0) == f"\n{20 + 20 * np.log10(4):.1f} dB"
