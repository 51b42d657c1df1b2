"""Classification: which class does the scene show?

``task.py`` holds the task (target, loss, metrics, baseline: ``conf/task/classify.yaml`` builds
``Classify``), ``figures.py`` its per-run figures and their captions."""

from deepimg.tasks.classify.task import Classify

__all__ = ["Classify"]
