"""The trained model's outputs on the test split: class probabilities and penultimate features."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from deepimg.analysis.run_analysis import device_of
from deepimg.models.layers import last_linear


@dataclass
class Predictions:
    """Test labels ``(N,)``, class probabilities ``(N, K)`` and, if asked for, the
    penultimate features ``(N, D)`` (the input of the network's last linear layer)."""

    labels: np.ndarray
    probabilities: np.ndarray
    features: np.ndarray | None = None

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)


@torch.no_grad()
def predict(
    model: nn.Module,
    network: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    features: bool = False,
) -> Predictions:
    """Run ``model`` (scenes -> logits, in evaluation mode) over ``batches``.

    The penultimate features are caught by a forward hook on ``network``'s classifier head,
    so no network needs a special method; a network without a linear head yields none.
    """
    was_training = model.training
    model.eval()
    device = device_of(model)
    caught: list[torch.Tensor] = []
    head = last_linear(network) if features else None
    hook = (
        head.register_forward_hook(
            lambda _m, inputs, _out: caught.append(inputs[0].flatten(1).cpu())
        )
        if head
        else None
    )
    labels, probabilities = [], []
    try:
        for scenes, batch_labels, *_ in batches:
            logits = model(scenes.to(device))
            probabilities.append(logits.float().softmax(dim=1).cpu())
            labels.append(batch_labels.cpu())
    finally:
        if hook is not None:
            hook.remove()
        model.train(was_training)
    return Predictions(
        labels=torch.cat(labels).numpy(),
        probabilities=torch.cat(probabilities).numpy(),
        features=torch.cat(caught).numpy() if caught else None,
    )
