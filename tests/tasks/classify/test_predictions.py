"""The trained model's outputs on the test split: probabilities and penultimate features."""

from __future__ import annotations

import numpy as np

from deepimg.tasks.classify.predictions import predict


def test_predictions_catch_the_penultimate_features_and_remove_their_hook(digits_module) -> None:
    module, datamodule = digits_module
    predictions = predict(module, module.network, datamodule.test_dataloader(), features=True)
    n = len(datamodule.test)
    assert predictions.probabilities.shape == (n, 10) and predictions.features.shape == (n, 32)
    assert np.allclose(predictions.probabilities.sum(axis=1), 1, atol=1e-5)
    assert all(not m._forward_hooks for m in module.network.modules())
