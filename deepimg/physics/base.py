"""The contract every physical layer keeps."""

from __future__ import annotations

import torch
from torch import nn

from deepimg.physics import functional as F


class PhysicalLayer(nn.Module):
    """A differentiable model of part of an imaging system.

    It maps scenes of shape ``(B, *in_shape)`` (relative irradiance in [0, 1]) to
    measurements of shape ``(B, *out_shape)``. The network behind it is sized from
    ``out_shape``. Fixed physical parameters are buffers; learnable ones are
    ``nn.Parameter``s, so the optimizer sees them.
    """

    def __init__(self, in_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)

    def register_physical(self, name: str, value: torch.Tensor, learnable: bool) -> None:
        """``value`` as ``self.<name>``: a parameter the optimizer trains when ``learnable``,
        else a fixed buffer; either way saved in the ``state_dict`` under the same name."""
        if learnable:
            self.register_parameter(name, nn.Parameter(value))
        else:
            self.register_buffer(name, value)

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

    def maps(self) -> dict[str, torch.Tensor]:
        """Named physical parameter maps worth looking at (learned gains, PSFs, masks).

        Each is a ``(C, H, W)`` or ``(H, W)`` tensor in physical units; the run saves them
        as ``.npy`` and as pictures in ``physics/``.
        """
        return {}

    def project(self) -> None:
        """Restore the physical constraints after an optimizer step (called without gradients).

        Most layers keep their constraints by reparameterisation (a softmax PSF, a log gain)
        and need nothing here; layers whose parameters are clipped do it in this method.
        """

    def anneal(self, progress: float) -> None:
        """Tell the layer how far training has gone, ``progress`` in [0, 1].

        Called before every training batch. Layers that relax a discrete choice (a soft
        colour filter, a sigmoid mask) raise their temperature with it, so the relaxation
        approaches the hard design they will use in evaluation.
        """
