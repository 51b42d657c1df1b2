"""Restoration: the scene itself, from what the sensor measured.

``task.py`` holds the task (target, loss, metrics, baseline: ``conf/task/restore.yaml`` builds
``Restore``), ``figures.py`` its per-run figures and their captions."""

from deepimg.tasks.restore.task import Restore

__all__ = ["Restore"]
