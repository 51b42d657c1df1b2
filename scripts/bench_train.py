"""Benchmark: deepimg's training loop against a hand-written PyTorch loop, in one process.

Both train the default model (physical layer, standardisation, CNN) with the same batch
size, optimizer and in-memory batches (Fashion-MNIST, or ``dataset=digits``: 8×8 images,
where the cost of each step around the network shows) for the same number of batches;
``--task restore`` trains the restoration model instead (physical layer, classical
estimate, standardisation, U-Net, residual) with an L1 loss on the scene.
deepimg's loop is Lightning with deepimg's module (metrics, logging, schedule); the
hand-written one is the bare forward/backward/step. They alternate, ``--repeats`` times
each, and the best throughput of each is compared. The last line printed is JSON.

    python scripts/bench_train.py [--task classify|restore] [--batches 120] [--repeats 4] [OVERRIDE ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from deepimg.commands.train import fit_standardization, quiet_lightning
from deepimg.config.compose import compose
from deepimg.training.build import build_datamodule, build_module


class Stopwatch(pl.Callback):
    """Times the training loop itself, from its first batch to its end."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if not hasattr(self, "start"):  # the first batch of the first epoch
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.seconds = time.perf_counter() - self.start


def deepimg_loop(cfg, datamodule, batches: int) -> float:
    """Images per second of ``trainer.fit`` over ``batches`` training batches."""
    pl.seed_everything(0, verbose=False)
    module = build_module(cfg, datamodule)
    fit_standardization(module, datamodule)
    watch = Stopwatch()
    trainer = pl.Trainer(
        max_steps=batches, max_epochs=-1, limit_val_batches=0, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[watch], accelerator="cpu",
    )  # fmt: skip
    trainer.fit(module, datamodule=datamodule)
    return batches * datamodule.batch_size / watch.seconds


def raw_loop(cfg, datamodule, batches: int) -> float:
    """Images per second of a bare loop over the same tensors, model and optimizer."""
    pl.seed_everything(0, verbose=False)
    module = build_module(cfg, datamodule)  # the same physics -> standardise -> network
    fit_standardization(module, datamodule)
    model = module.train()
    optimizer = instantiate(cfg.optimizer)(params=model.parameters())
    images, labels, bs = datamodule.train.images, datamodule.train.labels, datamodule.batch_size
    per_epoch = len(labels) // bs  # a small set (digits) takes several epochs
    restore = cfg.task._target_.endswith("Restore")
    start = time.perf_counter()
    for i in range(batches):
        if i % per_epoch == 0:
            order = torch.randperm(len(labels))
        index = order[(i % per_epoch) * bs : (i % per_epoch + 1) * bs]
        x = images[index].float().div_(255)
        # restoration's target is the scene itself
        loss = F.l1_loss(model(x), x) if restore else F.cross_entropy(model(x), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return batches * bs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=["classify", "restore"], default="classify")
    parser.add_argument("--batches", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument(
        "overrides", nargs="*", help="config overrides, e.g. dataset.batch_size=256"
    )
    args = parser.parse_args()
    quiet_lightning()
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    cfg = compose([f"task={args.task}", *args.overrides])
    if args.task == "restore" and cfg.task.loss != "l1":
        parser.error("the hand-written restore loop uses an L1 loss: leave task.loss=l1")
    datamodule = build_datamodule(cfg)
    datamodule.setup()
    print(f"task {args.task}, torch {torch.__version__}, {torch.get_num_threads()} threads, batch {datamodule.batch_size}, "
          f"{args.batches} batches per measurement")  # fmt: skip
    raw_loop(cfg, datamodule, 10)  # warm-up: first-touch allocations
    results: dict[str, list[float]] = {"deepimg": [], "raw": []}
    for r in range(args.repeats):
        for name, loop in (("deepimg", deepimg_loop), ("raw", raw_loop)):
            results[name].append(loop(cfg, datamodule, args.batches))
            print(f"  repeat {r + 1}: {name:8s} {results[name][-1]:8.0f} images/s", flush=True)
    best = {name: max(values) for name, values in results.items()}
    print(json.dumps({
        "deepimg_images_per_s": round(best["deepimg"]), "raw_images_per_s": round(best["raw"]),
        "task": args.task, "dataset": cfg.dataset._target_.rsplit(".", 1)[-1].lower(),
        "ratio": round(best["deepimg"] / best["raw"], 3),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
