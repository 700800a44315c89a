"""Which share of the scenes this process takes: rank and world size from the launcher's environment.

``torchrun`` (any number of nodes) and SLURM's ``srun`` are recognised through Lightning's
cluster environments (imported only when one of their variables is set); a plain process is
rank 0 of 1. Scenes are dealt round-robin over the sorted list, so every rank computes the
same assignment without talking to the others and each scene goes to exactly one rank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["RankInfo", "rank_info", "my_share"]

T = TypeVar("T")


@dataclass(frozen=True)
class RankInfo:
    """This process's place in a launch.

    Attributes:
        rank: Global rank, ``0 <= rank < world_size``.
        world_size: Number of processes sharing the scenes.
        launcher: ``torchrun``, ``slurm``, ``env`` (``RANK``/``WORLD_SIZE`` only) or ``single``.
        run_id: An id shared by the ranks of one launch (``TORCHELASTIC_RUN_ID``, the SLURM job and
            step), recorded in the ledger; empty for a single process.
    """

    rank: int = 0
    world_size: int = 1
    launcher: str = "single"
    run_id: str = ""


def rank_info() -> RankInfo:
    """Detect the launcher from the environment (torchrun first, then an ``srun`` step, then RANK/WORLD_SIZE).

    A SLURM batch script run without ``srun`` has ``SLURM_NTASKS`` but only one process: it counts
    as a single process (``SLURM_STEP_NUM_TASKS`` marks an ``srun`` step), so no scene is left out.
    """
    env = os.environ
    if "TORCHELASTIC_RUN_ID" in env or ("LOCAL_WORLD_SIZE" in env and "RANK" in env):
        from lightning.fabric.plugins.environments.torchelastic import TorchElasticEnvironment

        if TorchElasticEnvironment.detect():
            te = TorchElasticEnvironment()
            return _checked(te.global_rank(), te.world_size(), "torchrun", env.get("TORCHELASTIC_RUN_ID", ""))
    if "SLURM_STEP_NUM_TASKS" in env and "SLURM_PROCID" in env:
        from lightning.fabric.plugins.environments.slurm import SLURMEnvironment

        if SLURMEnvironment.detect():
            sl = SLURMEnvironment()
            run = f"slurm-{env.get('SLURM_JOB_ID', '')}.{env.get('SLURM_STEP_ID', '')}"
            return _checked(sl.global_rank(), int(env["SLURM_STEP_NUM_TASKS"]), "slurm", run)
    if "RANK" in env and "WORLD_SIZE" in env:
        return _checked(int(env["RANK"]), int(env["WORLD_SIZE"]), "env", env.get("GEO_RUN_ID", ""))
    return RankInfo()


def _checked(rank: int, world: int, launcher: str, run_id: str) -> RankInfo:
    from geo_core._errors import ConfigError

    if world < 1 or not 0 <= rank < world:
        raise ConfigError(
            f"{launcher} gives rank {rank} of world size {world}; need 0 <= rank < world size", key="RANK"
        )
    return RankInfo(rank, world, launcher, run_id)


def my_share(items: list[T], info: RankInfo) -> list[T]:
    """The items of rank ``info.rank``: every ``world_size``-th one, starting at its rank."""
    return items[info.rank :: info.world_size]
