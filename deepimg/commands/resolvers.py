"""The interpolation resolver that deepimg's own configs use beside Hydra's.

``conf/hydra/sweeper/search.yaml`` sets the Optuna sweeper's direction to
``${deepimg_direction:${task._target_}}``: maximise a task whose objective rises (accuracy),
minimise one whose objective falls (position error). Hydra resolves it when it builds the
sweeper, so it is registered before Hydra starts (``deepimg.cli.run_hydra``).
"""

from __future__ import annotations

from omegaconf import OmegaConf


def direction(task_target: str) -> str:
    """The task's objective direction; the task module (torch, torchmetrics) is imported only
    when a sweeper asks, not for every ``deepimg train``."""
    from deepimg.tasks.base import objective_direction

    return objective_direction(task_target)


def register_resolvers() -> None:
    """``${deepimg_direction:${task._target_}}``, used by ``conf/hydra/sweeper/search.yaml``."""
    if not OmegaConf.has_resolver("deepimg_direction"):
        OmegaConf.register_new_resolver("deepimg_direction", direction)
