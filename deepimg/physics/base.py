"""The contract every physical layer keeps.

A layer declares each part of its design (a PSF, a mask, an exposure pattern) once, as a
``PhysicalParameter`` (``deepimg/physics/parameter.py``) with its constraint
(``deepimg/physics/constraints.py``) and whether it is learnable:

    self.psf = PhysicalParameter(gaussian, Simplex(dims=2), learnable)

and reads it back by calling it, ``self.psf()``, whatever the rest: a learned value is
computed from the unconstrained tensor the optimizer moves (``latent``), a fixed one is a
buffer. The ``state_dict`` holds the design under ``psf.value`` in both cases, so a fixed
layer loads a learned one's design (``deepimg eval ... learnable=false`` tests the learned
PSF, frozen). Each layer's ``__init__`` is decorated with ``@checked_arguments``: Python
callers get the same one-line refusal of a bad value as the command line.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from deepimg.config.constraints import accepts, describe
from deepimg.physics import functional as F
from deepimg.physics.parameter import PhysicalParameter


def checked_arguments(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` refusing any argument its annotation does not accept, with a ``ValueError``
    that names the value and what is accepted: the same check (``accepts``/``describe``) that
    ``config.check_config`` makes on the command line, so Python callers get it too."""
    signature = inspect.signature(init)

    @functools.cache
    def hints() -> dict[str, Any]:
        return typing.get_type_hints(init, include_extras=True)

    @functools.wraps(init)
    def checked(self: PhysicalLayer, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            hint = hints().get(name)
            if name not in ("self", "in_shape") and hint is not None and not accepts(hint, value):
                raise ValueError(f"{name}={value!r} is not accepted; expected {describe(hint)}")
        init(self, *args, **kwargs)

    return checked


class PhysicalLayer(nn.Module):
    """A differentiable model of part of an imaging system.

    It maps scenes of shape ``(B, *in_shape)`` (relative irradiance in [0, 1]) to
    measurements of shape ``(B, *out_shape)``. The network behind it is sized from
    ``out_shape``. Its design is declared as ``PhysicalParameter``s: ``self.psf`` is the
    parameter, ``self.psf()`` the PSF in use (relaxed in training, the hard design in
    evaluation), ``self.psf.design()`` the hard design. Each subclass's ``__init__`` is
    decorated with ``@checked_arguments``, which refuses values its annotations do not accept.
    """

    def __init__(self, in_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)

    def require_pixels(self, name: str, pixels: int) -> None:
        """Refuse a sensor of more ``pixels`` per side than the scene has (no new detail)."""
        _, height, width = self.in_shape
        if pixels > min(height, width):
            raise ValueError(
                f"{name}={pixels} is more than the scene has ({height}x{width}); "
                f"choose {name} in 1..{min(height, width)}"
            )

    def physical_parameters(self) -> Iterator[tuple[str, PhysicalParameter]]:
        """Every physical parameter of this layer and of its parts, by dotted name."""
        for name, module in self.named_modules():
            if isinstance(module, PhysicalParameter):
                yield name, module

    def fits(self, key: str, tensor: torch.Tensor) -> bool:
        """Whether ``tensor``, saved under ``key`` by another layer (another run's checkpoint),
        can be loaded here: a key of this layer with its shape, or a design it accepts."""
        owner, _, name = key.rpartition(".")
        try:
            module = self.get_submodule(owner)
        except AttributeError:  # a part this layer does not have
            module = None
        if isinstance(module, PhysicalParameter):
            return module.accepts(name, tensor)
        own = self.state_dict().get(key)
        return own is not None and own.shape == tensor.shape

    @property
    def learnable(self) -> bool:
        """Whether any part of the design is learned."""
        return any(p.learnable for _, p in self.physical_parameters())

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Shape ``(C', H', W')`` of one measurement; most layers keep the scene's shape."""
        return self.in_shape

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """A classical estimate of the scene from the measurement ``y``: ``(B, *out_shape)``
        -> ``(B, *in_shape)``, in the scene's units.

        Restoration networks start from it and learn the residual, and it is their baseline.
        Layers that change the shape or units bring the measurement back (bilinear resize
        after downsampling, bilinear demosaicking after a CFA, division by the exposure);
        here, the measurement as it is when the shapes agree, else a bilinear resize with the
        channels averaged and repeated. Layers that blur, add noise or quantise keep it.
        """
        if tuple(y.shape[1:]) == self.in_shape:
            return y
        channels = self.in_shape[0]
        if y.shape[1] != channels:
            y = y.mean(dim=1, keepdim=True).expand(-1, channels, -1, -1)
        return F.resize(y, self.in_shape[1:])

    @property
    def period(self) -> tuple[int, int]:
        """The design's spatial period in pixels, ``(rows, cols)``: a tile repeated over the
        sensor (a CFA's, an exposure pattern's); ``(1, 1)`` for a design the same everywhere
        or not periodic. Patches for bits per pixel start at its multiples."""
        return (1, 1)

    def photon_counts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The measurement before any ADC, in electrons, and each value's noise variance given
        the scene (electrons^2): what an estimate of bits per pixel needs
        (``deepimg/analysis/information.py``). ``None`` for a layer without a noise model."""
        return None

    def binary_counts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """For a layer whose output is one bit a pixel: the bits it gives for ``x``, and each
        pixel's chance of a 1 given the scene (its noise model); what the discrete estimate
        of bits per pixel needs. ``None`` for every other layer."""
        return None

    def layered(self, x: torch.Tensor, depth: torch.Tensor, planes: torch.Tensor) -> torch.Tensor:
        """The image of a scene ``x`` ``(B, C, H, W)`` whose pixels lie at ``depth``
        ``(B, 1, H, W)``, through the PSFs of the depth ``planes`` ``(L,)``: only a layer whose
        PSF changes with depth has one (``Pupil.layered``); every other layer refuses."""
        raise ValueError(
            f"the {type(self).__name__} layer has no depth-dependent PSF: only "
            "physical_layer=pupil has one (its defocus_per_depth and focus_depth)"
        )

    def maps(self) -> dict[str, torch.Tensor]:
        """Named physical parameter maps worth looking at (learned gains, PSFs, masks).

        Each is a ``(C, H, W)`` or ``(H, W)`` tensor in physical units; the run saves them
        as ``.npy`` and as pictures in ``physics/``.
        """
        return {}

    def grids(self) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Pixel grids worth drawing over a scene: each name -> one ``(row_edges, col_edges)``
        pair per grid (a camera's, a sensor's), in scene pixels; the run draws them over an
        example scene as ``physics/<name>.png``."""
        return {}

    def curves(self) -> dict[str, tuple[torch.Tensor, str, dict[str, torch.Tensor]]]:
        """Curves worth plotting (filter transmissions, emission spectra): each name ->
        ``(x, x_label, {label: y})``; the run plots them as ``physics/<name>.png``."""
        return {}

    def penalty(self) -> torch.Tensor | float:
        """A term the training loss adds to keep a learned design makeable (smooth filter
        curves); 0 for most layers."""
        return 0.0

    def project(self) -> None:
        """Restore every physical constraint after an optimizer step (without gradients)."""
        for _, parameter in self.physical_parameters():
            parameter.project()

    def harden(self, hardened: bool = True) -> None:
        """Train on the hard design from now on (straight-through where it is learned), as
        the *hardened* and *decode* stages of a learned run do; ``False`` goes back to the
        relaxation."""
        for _, parameter in self.physical_parameters():
            parameter.hardened = hardened

    def learn_design(self, learning: bool = True) -> None:
        """Let the optimizer move the learnable design (``True``) or hold it (``False``: the
        *warm-up* and *decode* stages), without changing what is learnable."""
        for _, parameter in self.physical_parameters():
            if parameter.learnable:
                parameter.latent.requires_grad_(learning)

    def anneal(self, progress: float) -> None:
        """Tell the layer how far training has gone, ``progress`` in [0, 1].

        Called before every training batch: relaxed discrete designs (a soft colour filter, a
        sigmoid mask) raise their temperature with it, so the relaxation approaches the hard
        design that evaluation uses. The temperatures are buffers: a resumed run goes on.
        """
        for _, parameter in self.physical_parameters():
            parameter.anneal(progress)
