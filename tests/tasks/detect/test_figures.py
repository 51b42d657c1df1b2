"""The detection figures: the boxes figure's count agrees with count_acc."""

from __future__ import annotations

import torch

from deepimg.tasks.detect import figures


def test_an_object_seen_as_two_classes_is_counted_once_in_the_title(monkeypatch, tmp_path) -> None:
    drawn = []
    monkeypatch.setattr(figures.figures, "save", lambda fig, path: drawn.append(fig))
    target = torch.tensor([[[2.0, 2.0, 10.0, 10.0, 0.0], [0.0, 0.0, 0.0, 0.0, -1.0]]])
    detections = torch.tensor([[
        [2.0, 2.0, 10.0, 10.0, 0.9, 0.0],
        [2.0, 2.0, 10.0, 10.0, 0.6, 1.0],  # the same object, as another class
        [0.0, 0.0, 0.0, 0.0, 0.0, -1.0],
    ]])  # fmt: skip
    canvases = torch.zeros(1, 1, 16, 16)
    figures.boxes_figure(canvases, target, detections, 0.5, ["a", "b"], tmp_path / "b.png",
                         radius=1.5)  # fmt: skip
    titles = [ax.get_title() for ax in drawn[0].axes if ax.get_title()]
    assert titles == ["1 object, 1 counted"]
    assert len(drawn[0].axes[0].patches) == 3  # the true box and both detections are drawn
