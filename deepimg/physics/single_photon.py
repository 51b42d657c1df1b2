"""A single-photon sensor: one bit per pixel, set by a handful of photons (quanta image sensor, SPAD)."""

from __future__ import annotations

from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics import functional as F
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Bounded
from deepimg.physics.parameter import PhysicalParameter

PHOTONS = Range(1e-3, 1e6)
THRESHOLD = Range(1, 1e4)
THRESHOLD_MIN = 1.0  # photons: a pixel cannot fire on fewer than one photon
THRESHOLD_STEP = 1e-4  # central-difference step for the derivative in the threshold


class _FiringProbability(torch.autograd.Function):
    """``P(q, lam)``, the regularised lower incomplete gamma function, with both derivatives.

    torch differentiates ``gammainc`` in its second argument only; the derivative in the
    first is taken here by a central difference in float64, where ``gammainc`` is smooth
    and accurate to about 1e-14, so the difference is accurate to about 1e-9.
    """

    @staticmethod
    def forward(ctx, lam: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(lam, q)
        return torch.special.gammainc(q, lam)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        lam, q = ctx.saved_tensors
        grad_lam = grad_q = None
        if ctx.needs_input_grad[0]:
            # dP/dlam = lam^(q-1) e^-lam / Gamma(q), in logs; xlogy makes 0 * log 0 = 0 (q = 1).
            density = torch.exp(torch.xlogy(q - 1, lam) - lam - torch.lgamma(q))
            grad_lam = grad * density
        if ctx.needs_input_grad[1]:
            lam64, q64, h = lam.double(), q.double(), THRESHOLD_STEP
            slope = (
                torch.special.gammainc(q64 + h, lam64) - torch.special.gammainc(q64 - h, lam64)
            ) / (2 * h)
            grad_q = grad * slope.to(grad.dtype)
        return grad_lam, grad_q


def firing_probability(lam: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``P(N >= q)`` for ``N ~ Poisson(lam)``: the chance that a pixel with threshold ``q`` fires.

    For an integer ``q >= 1``, ``P(N >= q) = 1 - sum_{k<q} e^-lam lam^k / k!`` equals the
    regularised lower incomplete gamma function ``P(q, lam)`` (the ``q``-th photon of a
    rate-1 Poisson process arrives before "time" ``lam``), which is smooth in both
    arguments. ``lam`` and ``q`` broadcast; both get gradients. Needs ``q > 0``, ``lam >= 0``.
    """
    lam, q = torch.broadcast_tensors(lam, q)
    return _FiringProbability.apply(lam, q)


class SinglePhoton(PhysicalLayer):
    """A binary single-photon pixel (quanta image sensor "jot", SPAD): it fires on ``q`` photons.

    Forward model, on relative irradiance ``x`` in [0, 1] (1 = full scale):

        lam = photons * x              (mean photon count in the exposure)
        N   ~ Poisson(lam)             (photons counted, an integer)
        y   = 1[N >= q]                (one bit: 0 or 1, unitless)

    so ``P(y = 1) = P(N >= q) = P(q, lam)``, the regularised lower incomplete gamma function
    (``1 - e^-lam`` for ``q = 1``). ``photons`` is the mean photon count per pixel at
    full-scale irradiance (quantum efficiency included), ``q = threshold`` the photon count
    that makes a pixel fire, an integer >= 1.

    Training passes the hard sample forward and the gradient of its expectation backward:

        y_train = y + P(q, lam) - stopgrad(P(q, lam))

    with ``dP/dlam = e^-lam lam^(q-1) / (q-1)!`` (the chance of being exactly one photon
    short) and ``dP/dq`` from the smooth continuation of ``P`` to real ``q``. ``learnable``
    makes ``q`` a per-pixel parameter in photons; the comparator uses the nearest integer,
    ``round(q)``, both derivatives are taken there, and the gradient passes the rounding
    straight through to ``q`` (as an ADC's does).
    ``project()`` keeps ``q >= 1``: a pixel cannot fire on fewer than one photon, and below 1
    ``dP/dlam = lam^(q-1) ...`` would be unbounded in the dark. Evaluation (``eval()``) draws
    exact Poisson counts from a generator seeded by ``photon_seed`` and the batch's content.
    ``init``: ``classical``, the same ``threshold`` at every pixel, learned or fixed.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        photons: Annotated[float, PHOTONS] = 4.0,
        threshold: Annotated[int, THRESHOLD] = 1,
        learnable: bool = False,
        photon_seed: int = 0,
        init: Literal["classical"] = "classical",
    ) -> None:
        super().__init__(in_shape)
        self.photons, self.photon_seed = float(photons), photon_seed
        thresholds = torch.full(self.in_shape, float(threshold))
        self.threshold = PhysicalParameter(thresholds, Bounded(low=THRESHOLD_MIN), learnable)

    @property
    def photon_threshold(self) -> torch.Tensor:
        """The comparator's integer threshold per pixel ``(C, H, W)``, in photons."""
        return F.round_ste(self.threshold())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lam = self.photons * x.clamp_min(0)
        q = self.photon_threshold
        generator = None if self.training else F.batch_generator(x, self.photon_seed)
        counts = torch.poisson(lam.detach(), generator=generator)
        fired = (counts >= q.detach()).to(x.dtype)
        if not self.training:
            return fired
        p = firing_probability(lam, q)
        return fired + (p - p.detach())

    def binary_counts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The bits (``forward``'s draw) and each pixel's firing chance ``P(q, lam)``."""
        lam = self.photons * x.clamp_min(0)
        return self(x), firing_probability(lam, self.photon_threshold)

    def maps(self) -> dict[str, torch.Tensor]:
        return {"threshold": self.photon_threshold.detach()} if self.learnable else {}

    def extra_repr(self) -> str:
        low, high = self.photon_threshold.min().item(), self.photon_threshold.max().item()
        shown = f"{low:g}" if low == high else f"{low:g}..{high:g}"
        return f"photons={self.photons:g}, threshold={shown}, learnable={self.learnable}"
