"""What a job needs to know of the Hydra launcher that runs it.

deepimg schedules nothing itself: a sweep's jobs run one after another (Hydra's basic
launcher), side by side on this machine (``hydra/launcher=joblib``,
``hydra/launcher=submitit_local``), or as SLURM jobs (``hydra/launcher=slurm``, deepimg's
preset of ``submitit_slurm``). The launcher decides how many jobs share the machine; each job
then gives torch its share of the CPU cores, since two jobs that each start a thread per core
run slower together than one after the other.
"""

from __future__ import annotations

import os
from typing import Any

from omegaconf import DictConfig


def cpu_cores() -> int:
    """The cores this process may run on (a SLURM allocation or a taskset, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity
        return os.cpu_count() or 1


def launcher_config() -> dict[str, Any]:
    """The ``hydra.launcher`` node of the running job; empty outside a Hydra job."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    if not HydraConfig.initialized():
        return {}
    return OmegaConf.to_container(HydraConfig.get().launcher, resolve=True)


def parallel_jobs(n_jobs: int, cores: int) -> int:
    """How many jobs joblib runs at once: ``n_jobs``, or for a negative value ``cores + 1 + n_jobs``
    (joblib's rule: -1 is every core, -2 every core but one)."""
    return max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


def cpu_threads(threads: int | None, launcher: dict[str, Any], cores: int) -> int | None:
    """torch's CPU threads for one job, or None to keep torch's own choice.

    * ``threads`` (the config's key), when given, wins;
    * joblib: the cores shared among its ``n_jobs`` workers;
    * submitit: ``cpus_per_task`` when set; otherwise one thread on this machine
      (``submitit_local`` starts every job of the sweep at once) and SLURM's own allocation
      on a cluster;
    * Hydra's basic launcher runs one job at a time: torch's choice (every core).
    """
    if threads:
        return int(threads)
    target = str(launcher.get("_target_", ""))
    if "joblib" in target:
        return max(1, cores // parallel_jobs(int(launcher.get("n_jobs") or -1), cores))
    if "submitit" in target:
        if launcher.get("cpus_per_task"):
            return int(launcher["cpus_per_task"])
        return None if "Slurm" in target else 1
    return None


def limit_threads(cfg: DictConfig) -> int:
    """Give torch this job's share of the cores (see ``cpu_threads``); returns the count used."""
    import torch

    threads = cpu_threads(cfg.get("threads"), launcher_config(), cpu_cores())
    if threads is not None and threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return torch.get_num_threads()
