"""Localisation: where on the canvas is the object?

``task.py`` holds the task (target, loss, metrics, baseline: ``conf/task/localize.yaml`` builds
``Localize``), ``figures.py`` its per-run figures and their captions."""

from deepimg.tasks.localize.task import Localize

__all__ = ["Localize"]
