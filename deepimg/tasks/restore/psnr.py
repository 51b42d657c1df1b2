"""PSNR per image and its mean, the restoration metric that the task logs and its figures
draw, with a floor that keeps an exactly restored image finite."""

from __future__ import annotations

import torch
from torchmetrics import Metric


def psnr_per_image(preds: torch.Tensor, target: torch.Tensor, data_range: float) -> torch.Tensor:
    """Each image's PSNR ``10 log10(data_range^2 / MSE_i)`` in dB, ``(B,)``, with the MSE
    floored at the noise of a 16-bit quantiser at that full scale, ``(data_range / 65535)^2
    / 12``: an exactly restored image scores 107.1 dB instead of infinity."""
    mse = (preds - target).double().pow(2).flatten(1).mean(dim=1)
    floor = (data_range / 65535) ** 2 / 12
    return 10 * torch.log10(data_range**2 / mse.clamp_min(floor))


class MeanPSNR(Metric):
    """The mean over images of each image's PSNR (``psnr_per_image``), in dB.

    The floor keeps one exactly restored image (a flat, saturated patch) from making the
    mean infinite; torchmetrics' ``PeakSignalNoiseRatio(dim=...)`` has none.
    """

    higher_is_better = True
    full_state_update = False

    def __init__(self, data_range: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data_range = data_range
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        values = psnr_per_image(preds, target, self.data_range)
        self.total += values.sum()
        self.count += len(values)

    def compute(self) -> torch.Tensor:
        return (self.total / self.count).float()
