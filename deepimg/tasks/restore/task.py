"""Restoration: recover the scene itself from the measurement.

Deblurring, denoising, super-resolution, demosaicking, HDR reconstruction, inpainting and
de-quantisation are all this one task; the physical layer in front decides which.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torchmetrics import MeanSquaredError, Metric
from torchmetrics.functional.image import structural_similarity_index_measure
from torchmetrics.image import StructuralSimilarityIndexMeasure

from deepimg.config.constraints import Range
from deepimg.models.base import Output
from deepimg.tasks.base import Mode, Task
from deepimg.tasks.restore.psnr import MeanPSNR, psnr_per_image

SSIM_L1_ALPHA = (
    0.84  # Zhao et al. (2017), "Loss functions for image restoration with neural networks"
)
Loss = Literal["l1", "mse", "ssim_l1", "mu_law", "gamma"]
GAMMA_EPS = 1e-3  # the gamma curve's offset: its slope at 0 stays finite (about 20 for 2.2)


def mu_law(x: torch.Tensor, mu: float) -> torch.Tensor:
    """``sign(x) log(1 + mu |x|) / log(1 + mu)``: 0 at 0, 1 at 1 (full scale), odd, strictly
    increasing, so prediction and target map to the same value only when they are equal."""
    sign = odd_sign(x)
    return sign * torch.log1p(mu * (sign * x)) / math.log1p(mu)


def gamma_curve(x: torch.Tensor, gamma: float) -> torch.Tensor:
    """``sign(x) ((|x| + e)^(1/gamma) - e^(1/gamma)) / ((1 + e)^(1/gamma) - e^(1/gamma))``,
    ``e = GAMMA_EPS``: the display gamma ``x^(1/gamma)``, shifted by ``e`` so that its slope
    at 0 is finite; 0 at 0, 1 at 1, odd and strictly increasing."""
    p, e, sign = 1.0 / gamma, GAMMA_EPS, odd_sign(x)
    return sign * ((sign * x + e) ** p - e**p) / ((1 + e) ** p - e**p)


def odd_sign(x: torch.Tensor) -> torch.Tensor:
    """+1 where ``x >= 0``, -1 below, as a constant: ``sign * f(sign * x)`` is then odd with
    the slope ``f'(0)`` at 0 (``torch.sign`` and ``abs`` would give 0 there)."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


def ssim_kernel_size(shape: tuple[int, ...]) -> int:
    """SSIM's usual 11-pixel Gaussian window, smaller (odd) on images smaller than that."""
    side = min(shape[-2:])
    return min(11, side if side % 2 else side - 1)


class Restore(Task):
    """The scene ``(C, H, W)`` from the measurement ``(C', H', W')``.

    The network reads the layer's classical estimate of the scene, ``x0 = physics.to_scene(y)``
    (a bilinear resize after ``downsample``, bilinear demosaicking after ``cfa``, division by
    the exposure after ``exposure``, the measurement itself where the shapes agree), and
    learns the residual: ``x_hat = x0 + network(standardise(x0))``, as pre-upsampling
    super-resolution and DnCNN do. ``x0`` alone is the baseline every run reports
    (``test/psnr_baseline``, ``test/ssim_baseline``), so a report shows what the network
    adds to the sensor.

    ``loss``: ``l1``, ``mse``, or ``ssim_l1`` = 0.84 (1 - SSIM) + 0.16 L1 (Zhao et al. 2017);
    for HDR scenes, a tone-mapped L1, ``L1(T(x_hat / D), T(x / D))`` with ``D`` the scene's
    full scale (``data_range``), so dark detail weighs as much as bright (Kalantari and
    Ramamoorthi 2017; Metzler et al. 2020): ``mu_law``, ``T(x) = log(1 + mu x) / log(1 + mu)``
    with ``mu = tone_mu``, or ``gamma``, ``T(x) = x^(1/tone_gamma)`` (offset by 1e-3 so its
    slope at 0 is finite); both odd in ``x`` (a prediction below 0 is penalised too).
    Metrics: PSNR (``MeanPSNR``: the mean over images of each image's PSNR, dB), SSIM and
    MSE (torchmetrics), with
    ``data_range`` the scene's full scale: 1, or the dynamic range of HDR scenes. They judge
    the prediction clipped to [0, data_range], as an image would be stored.
    """

    name = "restore"
    monitor_metric = "psnr"
    directions: ClassVar[dict[str, Mode]] = {"psnr": "max", "ssim": "max", "mse": "min"}
    outputs: ClassVar[tuple[Output, ...]] = ("map",)  # the residual, an image of the scene
    reads_scene_estimate = True

    def __init__(
        self,
        loss: Loss = "l1",
        tone_mu: Annotated[float, Range(1, 1e6)] = 5000.0,
        tone_gamma: Annotated[float, Range(1, 10)] = 2.2,
    ) -> None:
        self.loss_name = loss
        self.tone_mu, self.tone_gamma = tone_mu, tone_gamma
        self.data_range = 1.0
        self.kernel_size = 11
        self.channels = 1

    def bind(self, data: Any) -> None:
        self.data_range = float(getattr(data, "dynamic_range", 1.0))
        self.channels = data.in_shape[0]
        self.kernel_size = ssim_kernel_size(data.in_shape)

    def network_kwargs(self, in_shape: tuple[int, int, int], output: Output) -> dict[str, Any]:
        return {"out_channels": self.channels}

    def prediction(self, output: torch.Tensor, network_input: torch.Tensor) -> torch.Tensor:
        return network_input + output

    def score(self, prediction: torch.Tensor) -> torch.Tensor:
        return prediction.clamp(0.0, self.data_range)

    def target(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return batch[0]

    def tone_map(self, x: torch.Tensor) -> torch.Tensor:
        """The tone curve of a ``mu_law`` or ``gamma`` loss, on ``x`` over the full scale."""
        x = x / self.data_range
        if self.loss_name == "mu_law":
            return mu_law(x, self.tone_mu)
        return gamma_curve(x, self.tone_gamma)

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.loss_name in ("mu_law", "gamma"):
            return F.l1_loss(self.tone_map(prediction), self.tone_map(target))
        if self.loss_name == "mse":
            return F.mse_loss(prediction, target)
        l1 = F.l1_loss(prediction, target)
        if self.loss_name == "l1":
            return l1
        ssim = structural_similarity_index_measure(
            prediction, target, data_range=self.data_range, kernel_size=self.kernel_size
        )
        return SSIM_L1_ALPHA * (1 - ssim) + (1 - SSIM_L1_ALPHA) * l1 / self.data_range

    def metrics(self) -> dict[str, Metric]:
        return {
            "psnr": self.psnr(),
            "ssim": self.ssim(),
            "mse": MeanSquaredError(),
        }

    def per_image(
        self, scored: torch.Tensor, target: torch.Tensor, network_input: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Each image's PSNR, SSIM and MSE, of the network and of the classical estimate."""
        baseline = self.baseline(network_input)
        records = {}
        for suffix, image in (("", scored), ("_baseline", baseline)):
            records[f"psnr{suffix}"] = psnr_per_image(image, target, self.data_range).float()
            records[f"ssim{suffix}"] = structural_similarity_index_measure(
                image, target, data_range=self.data_range, reduction="none",
                kernel_size=self.kernel_size,
            )  # fmt: skip
            records[f"mse{suffix}"] = (image - target).pow(2).flatten(1).mean(dim=1)
        return records

    def baseline_metrics(self) -> dict[str, Metric]:
        return {"psnr": self.psnr(), "ssim": self.ssim()}

    def psnr(self) -> Metric:
        return MeanPSNR(data_range=self.data_range)

    def ssim(self) -> Metric:
        return StructuralSimilarityIndexMeasure(
            data_range=self.data_range, kernel_size=self.kernel_size
        )

    def analysis(self) -> type:
        from deepimg.tasks.restore.figures import RestoreAnalysis

        return RestoreAnalysis
