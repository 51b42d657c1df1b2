"""Physical layers: differentiable models of optics, sensor and ADC on (B, C, H, W) scenes."""

from deepimg.physics.base import PhysicalLayer
from deepimg.physics.identity import Identity
from deepimg.physics.quantize import Quantize

__all__ = ["Identity", "PhysicalLayer", "Quantize"]
