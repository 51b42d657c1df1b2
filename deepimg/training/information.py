"""The information objective: the bits per pixel of a batch's measurements, differentiable in
the design, so that hardware can be designed with no decoder in the loop (the
information-optimal design, "IDEAL", of Pinkard, Kabuli, Markley, Chien, Jiao and Waller,
"Information-driven design of imaging systems", 2024).

It is the estimate of ``deepimg info`` (``deepimg/analysis/information.py``), in torch:

    I(X; Y) / D = H(Y) / D - H(Y | X) / D

* ``H(Y)``: the entropy of a Gaussian fitted to the batch's ``size x size`` measurement
  patches (``D`` values each, crops aligned to the design's period), ``1/2 log2((2 pi e)^D
  det S)`` with ``S`` their covariance, its eigenvalues floored at the least noise variance
  (never singular);
* ``H(Y | X)``: each pixel's Gaussian noise entropy, ``1/2 log2(2 pi e (mu_e + read_e^2))``.

The measurements are the layer's electrons in training mode, whose Poisson draw passes the
gradient straight through to its mean, so the gradient reaches the design through both terms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from deepimg.analysis.information import LOG2_2PIE, MIN_VARIANCE, patch_size

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

    from deepimg.physics.base import PhysicalLayer

NEEDS_NOISE = (  # what a layer without a noise model is told
    "designing for information needs one: physical_layer=noise, sensor, or cfa or "
    "fluorescence with physical_layer.photons"
)


def aligned_patches(images: torch.Tensor, size: int, period: tuple[int, int]) -> torch.Tensor:
    """Every ``size x size`` crop of ``images`` ``(B, C, H, W)`` that starts at a multiple of
    ``period``, flattened: ``(N, C * size * size)``."""
    crops = F.unfold(images, kernel_size=size, stride=period)  # (B, C*size*size, L)
    return crops.transpose(1, 2).reshape(-1, crops.shape[1])


def batch_bits_per_pixel(
    electrons: torch.Tensor, variance: torch.Tensor, period: tuple[int, int] = (1, 1)
) -> torch.Tensor:
    """The Gaussian estimate of ``I(X; Y)`` per pixel (bits) of one batch of measurements:
    ``electrons`` ``(B, C, H, W)`` and each value's noise variance (electrons^2), as the
    layer's ``photon_counts`` gives them. Differentiable in both."""
    size = patch_size(electrons.shape)
    variance = variance.double().clamp_min(MIN_VARIANCE)
    y = aligned_patches(electrons.double(), size, period)
    centred = y - y.mean(dim=0)
    covariance = centred.T @ centred / max(1, len(y) - 1)
    # no measurement varies less than its noise: eigenvalues floored at the least variance
    eigenvalues = torch.linalg.eigvalsh(covariance).clamp_min(variance.min().detach())
    h_y = 0.5 * (LOG2_2PIE + torch.log2(eigenvalues).mean())
    h_noise = 0.5 * (LOG2_2PIE + torch.log2(variance).mean())
    return (h_y - h_noise).float()


def design_for_information(
    physics: PhysicalLayer, batches: DataLoader, passes: int, lr: float, device: torch.device
) -> list[float]:
    """The information-optimal design: ``passes`` passes over ``batches`` (the training
    scenes) in which only the design learns, by Adam at ``lr``, to maximise its measurements'
    bits per pixel. The bits are those of the hard design (a CFA's one-hot choice), with the
    relaxation's gradient at temperature 1 (straight-through, as the hardened stage trains):
    an annealed relaxation's gradient vanishes. No network is involved, so a pass costs a
    fraction of a training epoch. Returns the mean bits of each pass."""
    parameters = [p for p in physics.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError(f"{type(physics).__name__} has no learnable design to optimise")
    optimizer = torch.optim.Adam(parameters, lr=lr)
    physics.train()
    physics.harden(True)
    curve = []
    for _ in range(passes):
        total, count = 0.0, 0
        for batch in batches:
            counts = physics.photon_counts(batch[0].to(device))
            if counts is None:
                raise ValueError(f"{type(physics).__name__} has no noise model, and {NEEDS_NOISE}")
            bits = batch_bits_per_pixel(*counts, period=physics.period)
            optimizer.zero_grad()
            (-bits + physics.penalty()).backward()
            optimizer.step()
            with torch.no_grad():
                physics.project()
            total, count = total + float(bits), count + 1
        curve.append(total / count)
    return curve
