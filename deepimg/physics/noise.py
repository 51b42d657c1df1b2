"""The sensor's noise in physical units, after the EMVA 1288 standard."""

from __future__ import annotations

from typing import Annotated

import torch

from deepimg.config.constraints import Range
from deepimg.physics import functional as F
from deepimg.physics.base import PhysicalLayer, checked_arguments


class Noise(PhysicalLayer):
    """Photon shot noise, dark current, read noise and full-well clipping (EMVA 1288).

    Forward model, for relative irradiance ``x`` in [0, 1] (1 = full-scale scene):

        mu_e = qe * photons * x + dark_e                     (mean electrons)
        e    = Poisson(mu_e) + Normal(0, read_noise_e^2)     (electrons)
        y    = clip(e, 0, full_well_e) / (qe * photons)      (unitless, ~x when noiseless)

    ``photons`` is the mean photon count per pixel at full-scale irradiance, ``qe`` the
    quantum efficiency, ``dark_e`` the mean dark electrons per exposure, ``read_noise_e``
    the read noise in e- rms, ``full_well_e`` the capacity in e-.

    Training draws the same noise, exact Poisson counts, and passes the gradient straight
    through the shot noise to its mean (``d e / d mu_e = 1``, the derivative of ``E[e]``): the
    network trains on the images it is tested on, down to one photon a pixel, where a Gaussian
    of the same variance would be far from the counts 0, 1, 2, ... Evaluation (``eval()``)
    draws from a generator seeded by ``noise_seed`` and the batch's content, so every run sees
    the same noise on the same test images.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        photons: Annotated[float, Range(1e-3, 1e9)] = 1000.0,
        qe: Annotated[float, Range(1e-3, 1)] = 1.0,
        full_well_e: Annotated[float, Range(1, 1e9)] = 1e6,
        read_noise_e: Annotated[float, Range(0, 1e6)] = 0.0,
        dark_e: Annotated[float, Range(0, 1e9)] = 0.0,
        noise_seed: int = 0,
    ) -> None:
        super().__init__(in_shape)
        self.photons, self.qe, self.full_well_e = photons, qe, full_well_e
        self.read_noise_e, self.dark_e, self.noise_seed = read_noise_e, dark_e, noise_seed

    def mean_electrons(self, x: torch.Tensor) -> torch.Tensor:
        return self.qe * self.photons * x.clamp_min(0) + self.dark_e

    def electrons(self, x: torch.Tensor) -> torch.Tensor:
        """Noisy electron counts: exact in both modes, seeded in evaluation; in training the
        gradient reaches the mean straight through the Poisson draw."""
        mu = self.mean_electrons(x)
        generator = None if self.training else F.batch_generator(x, self.noise_seed)
        shot = torch.poisson(mu.detach(), generator=generator)
        read = torch.randn(mu.shape, generator=generator, device=x.device, dtype=mu.dtype)
        if self.training:
            shot = mu + (shot - mu).detach()
        return shot + self.read_noise_e * read

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.electrons(x).clamp(0, self.full_well_e) / (self.qe * self.photons)

    def photon_counts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Electrons (before full-well clipping) and their variance, ``mu_e + read_noise_e^2``:
        Poisson's variance is its mean, dark electrons included."""
        return self.electrons(x), self.mean_electrons(x) + self.read_noise_e**2

    def extra_repr(self) -> str:
        return (f"photons={self.photons:g}, qe={self.qe:g}, full_well_e={self.full_well_e:g}, "
                f"read_noise_e={self.read_noise_e:g}, dark_e={self.dark_e:g}")  # fmt: skip
