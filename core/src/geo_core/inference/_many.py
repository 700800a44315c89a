"""Run one job per scene over this rank's share, with a ledger, a failure budget and a closing summary.

Used by ``geo predict`` and ``geo embed`` when they get several scenes: every rank takes every
``world_size``-th scene of the sorted list (:mod:`geo_core.inference._ranks`), skips those the
ledger marks done, and records each outcome (:mod:`geo_core.inference._ledger`). A scene that
raises is recorded as failed and the run goes on, until more than ``max_failures`` scenes failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from geo_core._errors import InputDataError
from geo_core.inference._ledger import STALE_AFTER_S, Ledger
from geo_core.inference._ranks import RankInfo, my_share, rank_info
from geo_core.inference._scenes import Scene

__all__ = ["RunSummary", "run_scenes"]

log = logging.getLogger("geo_core.inference")


@dataclass
class RunSummary:
    """What one rank did.

    Attributes:
        rank: This process's rank.
        world_size: Processes in the launch.
        total: Scenes of this rank's share.
        done: Ids done by this run.
        skipped: Ids already done by an earlier run (output present).
        busy: Ids another live process holds (left alone).
        failed: Id -> ``"Type: message"`` of the scenes that raised.
        not_started: Ids left because ``max_failures`` was exceeded.
        outputs: Output files written by this run, in order.
    """

    rank: int = 0
    world_size: int = 1
    total: int = 0
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_started: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)

    def format(self) -> str:
        """A few lines for stderr: counts, then each failed scene with its reason."""
        who = f"rank {self.rank}/{self.world_size}: " if self.world_size > 1 else ""
        lines = [
            f"{who}{self.total} scene(s): {len(self.done)} done, {len(self.skipped)} skipped (already done), "
            f"{len(self.failed)} failed"
            + (f", {len(self.busy)} busy elsewhere" if self.busy else "")
            + (f", {len(self.not_started)} not started (--max-failures reached)" if self.not_started else "")
        ]
        lines += [f"  failed {sid}: {why}" for sid, why in self.failed.items()]
        if self.busy:
            lines.append(
                f"  busy (claimed by a live process; rerun when it ends): {', '.join(self.busy[:10])}"
                + (" ..." if len(self.busy) > 10 else "")
            )
        return "\n".join(lines)

    def raise_if_incomplete(self, ledger_dir: Path) -> None:
        """Raise :class:`InputDataError` when a scene failed or was not started (exit status 1)."""
        if self.failed or self.not_started:
            raise InputDataError(
                f"{len(self.failed)} scene(s) failed and {len(self.not_started)} were not started; "
                "the reasons are above and in the ledger; rerun the same command to retry them "
                "(done scenes are skipped)",
                path=ledger_dir,
            )


def run_scenes(
    scenes: list[Scene],
    job: Callable[[Scene, Path], Path],
    output_for: Callable[[Scene], Path],
    output_dir: str | Path,
    *,
    max_failures: int | None = None,
    info: RankInfo | None = None,
    stale_after: float = STALE_AFTER_S,
) -> RunSummary:
    """Run ``job(scene, output)`` over this rank's share of ``scenes``.

    Args:
        scenes: Every scene of the launch (each rank passes the same list).
        job: Does one scene and returns the output written (atomically).
        output_for: The output path of a scene (a done scene whose output is gone is redone).
        output_dir: Folder of the outputs and of the ledger.
        max_failures: Stop starting scenes once more than this many failed (None: never stop).
        info: Rank and world size (default: from the environment).
        stale_after: Seconds after which another host's silent claim counts as dead.

    Returns:
        This rank's :class:`RunSummary`.
    """
    info = info or rank_info()
    ledger = Ledger(output_dir, info.rank, info.run_id, stale_after)
    share = my_share(scenes, info)
    summary = RunSummary(rank=info.rank, world_size=info.world_size, total=len(share))
    for scene in share:
        out = output_for(scene)
        if max_failures is not None and len(summary.failed) > max_failures:
            done_before = ledger.read(scene.id).get("state") == "done" and out.exists()
            (summary.skipped if done_before else summary.not_started).append(scene.id)
            continue
        claim = ledger.claim(scene.id, out)
        if not claim.take:
            (summary.skipped if claim.state == "done" else summary.busy).append(scene.id)
            continue
        if claim.state == "stale":
            log.info(
                "taking over %s from %s (pid %s), which is gone",
                scene.id,
                claim.record.get("host"),
                claim.record.get("pid"),
            )
        t0 = time.perf_counter()
        try:
            with ledger.heartbeat(scene.id):
                written = job(scene, out)
        except Exception as exc:  # one bad scene never stops the run
            log.warning("scene %s failed: %s: %s", scene.id, type(exc).__name__, exc)
            ledger.failed(scene.id, exc)
            summary.failed[scene.id] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            continue
        ledger.done(scene.id, written, time.perf_counter() - t0)
        summary.done.append(scene.id)
        summary.outputs.append(written)
    return summary
