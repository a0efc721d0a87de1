"""DistributedDataParallel for a run on several GPUs of one node, started by torchrun (training/launch.py).

One process (rank) per GPU: NCCL on CUDA, gloo on the CPU. Every rank decodes the same cached data and
trains on its own shard of each epoch's shuffled order; evaluation is sharded the same way and its sums
are added up across ranks, so every rank gets the metrics one process would. Only rank 0 writes events,
checkpoints and artifacts. A stop seen by any rank is agreed on by all at the same step, so they stop
together; a rank that fails ends the others through torchrun. With one process all of this is a no-op.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from training.errors import ConfigError

if TYPE_CHECKING:  # torch loads with the loop, not when the CLI reads which rank it is
    import torch

log = logging.getLogger(__name__)

STOP_SYNC_STEPS = 8  # ranks agree on a stop every this many steps (and at an epoch's last step)
PARENT_POLL_SECONDS = 1.0
COLLECTIVE_TIMEOUT = timedelta(minutes=30)  # rank 0 may spend minutes writing artifacts


@dataclass(frozen=True)
class World:
    """This process's place among the run's processes (torchrun's RANK, LOCAL_RANK, WORLD_SIZE)."""

    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> World:
        try:
            rank, local_rank = int(environ.get("RANK", 0)), int(environ.get("LOCAL_RANK", 0))
            return cls(rank, local_rank, int(environ.get("WORLD_SIZE", 1)))
        except ValueError:
            raise ConfigError(
                "RANK, LOCAL_RANK and WORLD_SIZE are whole numbers (torchrun sets them)"
            ) from None


SINGLE = World()  # one process: no torchrun


def check_gpus(gpus: int, device: str, world: World) -> None:
    """The run's `gpus` against this host's GPUs and the processes torchrun started; ConfigError when
    they disagree. Under torchrun without CUDA (or with `--device cpu`) the ranks are CPU processes
    (gloo): how DDP is tested on a machine without GPUs."""
    import torch

    found = torch.cuda.device_count() if device != "cpu" else 0
    if world.size == 1 and gpus > 1:
        if device != "cpu" and gpus > found:
            raise ConfigError(
                f"gpus is {gpus}, but this host has {found} GPU(s) (CUDA_VISIBLE_DEVICES limits what it "
                f"sees); a run can use at most {max(1, found)}"
            )
        raise ConfigError(
            f"gpus is {gpus}: a run on several GPUs needs one process per GPU; start it with "
            f"`python -m training.launch --standalone --nproc-per-node {gpus} -m training ...`"
        )
    if world.size != gpus:
        raise ConfigError(
            f"torchrun started {world.size} processes, but gpus is {gpus}; pass --gpus {world.size}"
        )
    if world.distributed and found and world.size > found:
        raise ConfigError(
            f"torchrun started {world.size} processes, but this host has {found} GPU(s); a run can use at "
            f"most {found}"
        )


def device_name(requested: str, world: World) -> str:
    """Each rank of a GPU run trains on its own GPU: cuda:LOCAL_RANK."""
    import torch

    if world.distributed and requested in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{world.local_rank}"
    return requested


def init(world: World, device: torch.device) -> None:
    """Join the process group (NCCL on CUDA, gloo on the CPU) and end with the agent if it dies."""
    if not world.distributed:
        return
    import torch
    import torch.distributed as dist

    if device.type == "cpu":  # the ranks share the cores
        ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", world.size))
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // ranks_here))
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(
        backend, timeout=COLLECTIVE_TIMEOUT, device_id=device if device.type == "cuda" else None
    )
    _end_with_parent()


def cleanup(world: World) -> None:
    import torch.distributed as dist

    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def _end_with_parent() -> None:
    """torchrun starts each rank in a session of its own, so a signal to the launcher's process group
    never reaches it: a rank whose launcher is gone (killed after the stop grace period) kills itself."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        log.error("the launcher (pid %s) is gone; ending this rank", parent)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def wrap(model: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
    """The module the training steps run: DDP around the model when distributed (gradients averaged
    across ranks at each backward), the model itself otherwise. Checkpoints save the bare model."""
    if not world.distributed:
        return model
    import torch

    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def shard(order: torch.Tensor, world: World) -> torch.Tensor:
    """This rank's share of an order every rank drew alike: every size-th item from its rank, the tail
    that does not divide evenly left out, so all ranks take the same number of steps."""
    if not world.distributed:
        return order
    usable = len(order) - len(order) % world.size
    return order[world.rank : usable : world.size]


def eval_shard(count: int, world: World) -> torch.Tensor | None:
    """This rank's images of an evaluation split (None: all, in order). Uneven shares are fine here:
    only the sums are combined."""
    import torch

    return torch.arange(world.rank, count, world.size) if world.distributed else None


def rank_batch(batch_size: int, world: World) -> int:
    """Each rank's part of a step's `batch_size` images (rounded up), so a step sees about the same number
    of images on any number of GPUs and the learning rate keeps its meaning."""
    return -(-batch_size // world.size)


def same_buffers(model: torch.nn.Module, world: World) -> None:
    """Rank 0's buffers (BatchNorm running statistics) on every rank: DDP broadcasts them before each
    training step, but each rank's own last step then updated them with its own images."""
    if world.distributed:
        import torch.distributed as dist

        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def all_sum(world: World, *tensors: torch.Tensor) -> None:
    """Add each tensor up across ranks, in place."""
    if world.distributed:
        import torch.distributed as dist

        for tensor in tensors:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)


def sum_values(world: World, device: torch.device, *values: torch.Tensor | float) -> list[float]:
    """Numbers (tensors or floats) added up across ranks, in one all-reduce."""
    import torch

    totals = torch.tensor([float(value) for value in values], device=device, dtype=torch.float64)
    all_sum(world, totals)
    return totals.tolist()


def agreed_stop(stop: threading.Event, world: World, device: torch.device) -> bool:
    """Whether any rank was asked to stop; every rank calls this at the same point and gets the same
    answer (a signal arriving meanwhile counts at the next agreement)."""
    if not world.distributed:
        return stop.is_set()
    import torch
    import torch.distributed as dist

    flag = torch.tensor(1.0 if stop.is_set() else 0.0, device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    agreed = bool(flag.item())
    if agreed:
        stop.set()
    return agreed


def stop_at_step(stop: threading.Event, world: World, device: torch.device, step: int, last: bool) -> bool:
    """Mid-epoch: one process checks its flag every step; ranks agree every STOP_SYNC_STEPS steps and at
    the epoch's last step (an agreement waits for every rank to get there)."""
    if world.distributed and step % STOP_SYNC_STEPS and not last:
        return False
    return agreed_stop(stop, world, device)


def lost_a_rank(exc: BaseException) -> bool:
    """A collective failed because another rank went away (its connection closed, or NCCL gave up)."""
    import torch.distributed as dist

    text = str(exc)
    return isinstance(exc, dist.DistError) or any(
        sign in text for sign in ("Connection reset by peer", "Connection closed by peer", "NCCL")
    )


def barrier(world: World) -> None:
    if world.distributed:
        import torch.distributed as dist

        dist.barrier()
