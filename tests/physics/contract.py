"""Checks every physical layer must pass, shared by the per-layer test files."""

from __future__ import annotations

from collections.abc import Callable

import torch

from deepimg.physics.base import PhysicalLayer


def assert_gradients_reach_input_and_parameters(layer: PhysicalLayer, x: torch.Tensor) -> None:
    """One training-mode backward pass: the scene and every learnable parameter get a finite,
    non-zero gradient."""
    layer.train()
    x = x.clone().requires_grad_(True)
    out = layer(x)
    assert torch.isfinite(out).all()
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    params = dict(layer.named_parameters())
    assert params, "the layer has no learnable parameter"
    for name, p in params.items():
        assert p.grad is not None, f"no gradient reaches {name}"
        assert torch.isfinite(p.grad).all(), f"non-finite gradient in {name}"
        assert p.grad.abs().sum() > 0, f"zero gradient in {name}"
    assert_gradients_finite_on_black(layer, x)


def assert_gradients_finite_on_black(layer: PhysicalLayer, x: torch.Tensor) -> None:
    """Real scenes have black pixels (Fashion-MNIST's background is exactly 0): square roots
    and logarithms of the signal must not turn their gradients into inf or NaN there."""
    layer.zero_grad()
    x = x.detach().clone()
    x[..., : x.shape[-1] // 2] = 0
    x.requires_grad_(True)
    out = layer(x)
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(x.grad).all(), "non-finite gradient on black pixels"
    for name, p in layer.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), f"non-finite {name} on black"


def assert_state_dict_round_trip(
    make: Callable[[], PhysicalLayer], x: torch.Tensor, perturb: bool = True
) -> None:
    """A second layer loaded from the first one's ``state_dict`` gives the same evaluation
    outputs (after the first one's parameters moved away from their initial values)."""
    torch.manual_seed(0)
    first = make()
    if perturb:
        with torch.no_grad():
            for p in first.parameters():
                p.add_(0.1 * torch.randn_like(p))
        first.project()
    second = make()
    second.load_state_dict(first.state_dict())
    first.eval()
    second.eval()
    assert torch.equal(first(x), second(x))
