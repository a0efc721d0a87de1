"""`python -m training`: parse flags, run the training loop, turn every failure into an `error` event."""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, NoReturn, get_args, get_origin

from pydantic import ValidationError

from training.config import (
    FIELD_SPECS,
    TrainingConfig,
    describe_errors,
    field_defaults,
    load_config_file,
    value_type,
)
from training.contract import (
    CHECKPOINT_LAST_FILE,
    DECODED_CACHE_FOLDER,
    DECODED_CACHE_MAX_MB,
    EVENTS_FILE,
    EXIT_CODE_FOR_ERROR,
    EXIT_CODE_MEANING,
    ExitCode,
)
from training.distributed import SINGLE, World, check_gpus, cleanup, lost_a_rank
from training.emit import EventWriter, SilentWriter
from training.errors import ConfigError, TrainerError
from training.events import EVENT_TYPES, ErrorEvent

log = logging.getLogger("training")

EPILOG = textwrap.fill(
    f"stdout carries one JSON event per line ({', '.join(EVENT_TYPES)}), also appended to OUT/{EVENTS_FILE}; "
    "logs go to stderr. Exit codes: "
    + ", ".join(f"{int(code)} {meaning}" for code, meaning in EXIT_CODE_MEANING.items())
    + ".",
    width=100,
)


SEED_MAX = 2**32 - 1  # numpy's seed range
WORKERS_MAX = 1024
CACHE_BUDGET_MAX_MB = 2**30


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(message)


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from low to high (argparse names the flag in its error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range; allowed: {low} to {high}")
        return value

    return parse


def output_folder(out: Path) -> Path:
    """--out must be a folder this process can create and write; checked before anything is written."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder (created when missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out} could not be created: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out} is not writable")
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m training",
        description="Train a timm image classifier on an ImageFolder dataset.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="a TrainingConfig as JSON; the flags below override it")
    _add_config_flags(parser)
    parser.add_argument(
        "--weights", type=Path, help="local .pth/.safetensors to start from (head may differ)"
    )
    parser.add_argument(
        "--init-from", type=Path, metavar="CHECKPOINT",
        help="start from the model weights of another run's checkpoint (its checkpoint_last.pt), with a "
        "fresh optimiser and schedule over --epochs (continuing a finished run)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="output folder (default runs/<model>-<time>)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument(
        "--workers",
        type=whole_number(0, WORKERS_MAX),
        help="decode threads / loader workers (default: as many as the compute threads)",
    )
    parser.add_argument(
        "--threads",
        type=whole_number(1, WORKERS_MAX),
        help="torch's compute threads (default: the CPUs this process may use, less those busy at start)",
    )
    parser.add_argument("--seed", type=whole_number(0, SEED_MAX), default=0, help="random seed (default 0)")
    parser.add_argument("--resume", action="store_true", help=f"continue from OUT/{CHECKPOINT_LAST_FILE}")
    parser.add_argument(
        "--onnx", action=argparse.BooleanOptionalAction, default=True,
        help="export OUT/model.onnx after training, verified with onnxruntime (default yes, when installed)",
    )  # fmt: skip
    parser.add_argument(
        "--compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="torch.compile the model; auto: only on a GPU for runs of at least 500k training images",
    )
    parser.add_argument(
        "--cache-budget-mb",
        type=whole_number(0, CACHE_BUDGET_MAX_MB),
        help="memory for decoded images without the disk cache (default: half the available RAM)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help=f"decoded images kept for later runs on the same data (default: OUT/../{DECODED_CACHE_FOLDER})",
    )
    parser.add_argument(
        "--no-cache-dir", action="store_true", help="keep no decoded images on disk: decode in every run"
    )
    parser.add_argument(
        "--cache-max-mb",
        type=whole_number(1, CACHE_BUDGET_MAX_MB),
        default=DECODED_CACHE_MAX_MB,
        help="size limit of --cache-dir; least recently used entries go first (default %(default)s)",
    )
    return parser


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainingConfig field, made from the field's declaration (training/config.py)."""
    defaults = field_defaults()
    for name, spec in FIELD_SPECS.items():
        flag = spec.flag or "--" + name.replace("_", "-")
        default = defaults.get(name)
        shown = ("yes" if default else "no") if isinstance(default, bool) else default
        help_text = spec.help if default is None else f"{spec.help} (default {shown})"
        kind = value_type(name)
        if kind is bool:
            parser.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif get_origin(kind) is Literal:
            parser.add_argument(flag, dest=name, choices=get_args(kind), help=help_text)
        else:
            parser.add_argument(flag, dest=name, type=kind, help=help_text)


def load_config(args: argparse.Namespace, implied: dict[str, Any] | None = None) -> TrainingConfig:
    """The config file's values, then the flags over them; `implied` fills what neither sets."""
    values = dict(implied or {})
    if args.config:
        try:
            values |= load_config_file(args.config)
        except (OSError, ValueError) as exc:  # unreadable, not JSON, or not a JSON object
            raise ConfigError(f"could not read config file {args.config}: {exc}") from exc
    values |= {name: getattr(args, name) for name in FIELD_SPECS if getattr(args, name) is not None}
    if "dataset_path" not in values:
        raise ConfigError("no dataset: pass --data DIR or a --config file with dataset_path")
    try:
        return TrainingConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError("; ".join(describe_errors(exc))) from exc


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM/SIGINT only set a flag: the loop finishes its step, checkpoints and exits."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.warning("received %s: stopping after the current step", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError | MemoryError) or (
        isinstance(exc, RuntimeError) and ("out of memory" in str(exc) or "can't allocate memory" in str(exc))
    )


def _usable_out(argv: Sequence[str] | None) -> Path | None:
    """--out when it is (or can be made) a folder, so even a flag error reaches events.jsonl; else None
    and the events go to stdout only (the flag error then says what is wrong with --out)."""
    out_only = argparse.ArgumentParser(add_help=False)
    out_only.add_argument("--out", type=Path)
    out = out_only.parse_known_args(argv)[0].out
    try:
        return output_folder(out) if out is not None else None
    except ConfigError:
        return None


def _writer(out: Path | None, world: World) -> EventWriter:
    """Events go to stdout and OUT/events.jsonl from one process: rank 0 of a multi-GPU run."""
    return EventWriter(out) if world.is_main else SilentWriter()


def exit_now(code: int) -> NoReturn:
    """End the process once a run is over, without the interpreter's own teardown: with torch loaded that
    takes about 3 s on a small CPU, after the last event, and the bot counts a run as finished when its
    trainer exits. atexit handlers (logging, multiprocessing) still run and the streams are flushed."""
    atexit._run_exitfuncs()  # what a normal exit runs first
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    writer: EventWriter = EventWriter(None)
    world = SINGLE
    try:
        world = World.from_env()
        writer = _writer(_usable_out(argv), world)
        args = build_parser().parse_args(argv)
        out = output_folder(
            args.out or Path("runs") / time.strftime(f"{args.model or 'resnet50'}-%Y%m%d-%H%M%S")
        )
        writer = _writer(out, world)
        # under torchrun, one process per GPU: its process count is the run's GPUs unless they are given
        config = load_config(args, {"gpus": world.size} if world.distributed else None)
        if args.init_from is not None and args.weights is not None:
            raise ConfigError("--init-from and --weights both give starting weights; pass one of them")
        check_gpus(config.gpus, args.device, world)
        from training import checkpoint  # torch loads only once the flags are valid
        from training.loop import RunOptions, train

        weights = checkpoint.init_weights_file(args.init_from, out) if args.init_from else args.weights

        options = RunOptions(
            out_dir=out, device=args.device, workers=args.workers, threads=args.threads, seed=args.seed,
            resume=args.resume, weights=weights, export_onnx=args.onnx,
            cache_budget_bytes=args.cache_budget_mb * 2**20 if args.cache_budget_mb is not None else None,
            cache_dir=None if args.no_cache_dir else (args.cache_dir or out.parent / DECODED_CACHE_FOLDER),
            cache_max_bytes=args.cache_max_mb * 2**20, compile=args.compile, world=world,
        )  # fmt: skip
        with stop_on_signals() as stop:
            code = train(config, options, writer, stop)
        cleanup(world)
        return int(code)
    except TrainerError as exc:
        writer.emit(ErrorEvent(kind=exc.kind, message=exc.message))
        return int(EXIT_CODE_FOR_ERROR[exc.kind])
    except Exception as exc:
        detail = traceback.format_exc()
        log.error("%s", detail)
        if world.distributed and lost_a_rank(exc):
            # another rank failed first: no event here, the launcher ends with how that rank ended
            return int(ExitCode.INTERNAL)
        if _is_out_of_memory(exc):
            message = "ran out of memory; try a smaller batch size or image size"
            writer.emit(ErrorEvent(kind="out_of_memory", message=message, detail=str(exc)[:2000]))
            return int(ExitCode.OUT_OF_MEMORY)
        message = f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        writer.emit(ErrorEvent(kind="internal", message=message, detail=detail[-4000:]))
        return int(ExitCode.INTERNAL)
