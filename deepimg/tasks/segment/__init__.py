"""Segmentation: which pixels belong to the object?

``task.py`` holds the task (target, loss, metrics, baseline: ``conf/task/segment.yaml`` builds
``Segment``), ``figures.py`` its per-run figures and their captions."""

from deepimg.tasks.segment.task import Segment

__all__ = ["Segment"]
