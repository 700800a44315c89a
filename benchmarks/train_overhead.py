"""Time per training step: a geo task under Lightning vs a hand-written PyTorch loop, side by side.

Same model (smp resnet18 U-Net when segmentation_models_pytorch is installed, else a small
CNN), same in-memory batches (8 x 6 x 128 x 128, 2 classes), AdamW, same thread count. The
task runs with its default metrics on (train mIoU/F1/accuracy/per-class IoU updated every
step) and loss logging; checkpointing and the progress bar are off on both sides. A step is
timed from the end of one step to the end of the next, so fetching the batch and everything
the framework does between steps counts. Median step time over the measured steps, cases
interleaved. Writes
benchmarks/results/train_overhead.json and .md.

Usage: .venv/bin/python benchmarks/train_overhead.py [--steps 20] [--warmup 5] [--rounds 4]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent


def make_net() -> tuple[nn.Module, str]:
    try:
        import segmentation_models_pytorch as smp

        return smp.Unet("resnet18", encoder_weights=None, in_channels=6, classes=2), "smp Unet(resnet18)"
    except ImportError:
        return nn.Sequential(
            nn.Conv2d(6, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 2, 1)
        ), "3-layer CNN"


def batches(n: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [
        {"image": torch.randn(8, 6, 128, 128, generator=g), "mask": torch.randint(0, 2, (8, 128, 128), generator=g)}
        for _ in range(n)
    ]


def _intervals(stamps: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(stamps)]


def hand_loop(data: list[dict[str, torch.Tensor]]) -> list[float]:
    torch.manual_seed(0)
    net, _ = make_net()
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(data, batch_size=None, shuffle=False)
    stamps = [time.perf_counter()]
    for b in loader:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(b["image"]), b["mask"])
        loss.backward()
        opt.step()
        loss.item()
        stamps.append(time.perf_counter())
    return _intervals(stamps)


def task_loop(data: list[dict[str, torch.Tensor]]) -> list[float]:
    import lightning.pytorch as pl
    from geo_core import Model, ModelOutput
    from geo_core.tasks import SemanticSegmentationTask

    class Wrapped(Model):
        def __init__(self) -> None:
            super().__init__()
            self.net, _ = make_net()
            self.num_classes = 2

        def forward(self, x: torch.Tensor, **kw: object) -> ModelOutput:
            return ModelOutput(self.net(x))

    class Timer(pl.Callback):  # step end to step end: data fetch and all of Lightning's work between count
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def on_train_epoch_start(self, *a: object) -> None:
            self.stamps.append(time.perf_counter())

        def on_train_batch_end(self, *a: object) -> None:
            self.stamps.append(time.perf_counter())

    torch.manual_seed(0)
    task = SemanticSegmentationTask(model=Wrapped(), lr=1e-3, optimizer="AdamW")
    timer = Timer()
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        callbacks=[timer],
    )
    loader = torch.utils.data.DataLoader(data, batch_size=None, shuffle=False)
    trainer.fit(task, train_dataloaders=loader)
    return _intervals(timer.stamps)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    data = batches(args.steps + args.warmup)
    hand: list[float] = []
    task: list[float] = []
    per_round = []
    for _ in range(args.rounds):  # interleave so machine drift hits both sides alike
        if len(per_round) % 2:  # alternate which side goes first: order effects (allocator, caches) cancel
            t_r, h_r = task_loop(data)[args.warmup :], hand_loop(data)[args.warmup :]
        else:
            h_r, t_r = hand_loop(data)[args.warmup :], task_loop(data)[args.warmup :]
        hand += h_r
        task += t_r
        per_round.append({"hand": round(statistics.median(h_r), 4), "task": round(statistics.median(t_r), 4)})
    h, t = statistics.median(hand), statistics.median(task)
    result = {
        "model": make_net()[1],
        "batch": "8 x 6 x 128 x 128",
        "optimizer": "AdamW",
        "threads": args.threads,
        "steps_measured_per_side": len(hand),
        "hand_loop_median_s": round(h, 4),
        "task_median_s": round(t, 4),
        "overhead": round(t / h - 1, 4),
        "per_round_medians": per_round,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(result, indent=2))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "train_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "train_overhead.md").write_text(
        "# Training step: geo task vs hand-written loop\n\n"
        f"{result['model']}, batch {result['batch']}, AdamW, torch threads={args.threads}, "
        f"{len(hand)} measured steps per side (median), default task metrics on.\n\n"
        "| side | median s/step |\n|---|---|\n"
        f"| hand-written loop | {h:.4f} |\n| SemanticSegmentationTask + Trainer | {t:.4f} |\n\n"
        f"Overhead: {t / h - 1:+.1%} (target <= 5%).\n\n"
        "Per-round medians (sides alternate who goes first):\n\n"
        + "".join(f"- round {i + 1}: hand {r['hand']:.4f} s, task {r['task']:.4f} s\n" for i, r in enumerate(per_round))
    )


if __name__ == "__main__":
    main()
