"""The classical detector: threshold the classical estimate of the scene, take its connected
components (scikit-image), and call each component one object of the most common class.

It counts and boxes without learning anything but the most common class of the training
set; it cannot tell classes apart, and it merges objects that touch.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.measure import label, regionprops

MIN_AREA = 4  # pixels: smaller components are noise, not objects


def components(
    estimate: torch.Tensor, threshold: float, common_class: int, keep: int
) -> torch.Tensor:
    """Detections ``(B, keep, 6)`` ``(x1, y1, x2, y2, score, class)`` of the components of
    each estimate ``(B, C, H, W)`` above ``threshold``; the score is the component's mean
    brightness, so brighter, surer blobs rank first. Padded with class -1."""
    bright = estimate.detach().float().amax(dim=1).cpu().numpy()
    out = np.zeros((len(bright), keep, 6), dtype=np.float32)
    out[..., 5] = -1
    for i, image in enumerate(bright):
        regions = [
            r
            for r in regionprops(label(image > threshold, connectivity=2), intensity_image=image)
            if r.area >= MIN_AREA
        ]
        regions.sort(key=lambda r: -r.intensity_mean)
        for j, region in enumerate(regions[:keep]):
            y1, x1, y2, x2 = region.bbox  # rows and columns, the end one past the last
            out[i, j] = (x1, y1, x2, y2, min(1.0, region.intensity_mean), common_class)
    return torch.from_numpy(out).to(estimate.device)
