"""Detection and counting: which objects are on the canvas, where, and how many?

``task.py`` holds the task (target, loss, metrics, baseline: ``conf/task/detect.yaml`` builds
``Detect``); ``centres.py`` the detector's heat-map targets, loss and decoding (after
CenterNet); ``metrics.py`` COCO mAP and counting accuracy; ``components.py`` the classical
baseline; ``figures.py`` the per-run figures and their captions."""

from deepimg.tasks.detect.task import Detect

__all__ = ["Detect"]
