"""Depth: how far is each pixel, read from how the lens blurred it?

``task.py`` holds the task (target, loss, metrics, baselines: ``conf/task/depth.yaml`` builds
``Depth``); ``sharpness.py`` the classical depth from defocus; ``figures.py`` the per-run
figures and their captions. The scenes' depths come from ``deepimg/data/depth.py``, the
depth-dependent PSF from ``Pupil.psf_at`` and ``Pupil.layered``."""

from deepimg.tasks.depth.task import Depth

__all__ = ["Depth"]
