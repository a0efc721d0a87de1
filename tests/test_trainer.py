"""The trainer end to end, in-process: events, learning, splits, artifacts, determinism, config errors."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import load_file

from tests.imagegen import make_image_folder, make_split_folder
from tests.trainer_helpers import after_preparing, read_events, run_trainer
from training import artifacts, reports
from training.artifacts import load_confusion_matrix
from training.augment import Normalizer, augment_batch
from training.cli import main
from training.config import TrainingConfig
from training.contract import ExitCode
from training.data import discover
from training.device import Precision, resolve_device
from training.events import EpochRecord, parse_event
from training.loop import lr_at


@pytest.fixture(scope="module")
def trained(module_tmp: Path) -> tuple[Path, Path, list, list[str]]:
    """One 6-epoch run on an auto-split dataset, shared by the tests that only read its results."""
    root = module_tmp
    data = make_image_folder(root / "data", per_class=20)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code, events = run_trainer(data, root / "out", "--lr", "0.003", epochs=6)
    assert code == ExitCode.DONE
    return data, root / "out", events, stdout.getvalue().splitlines()


def test_events_follow_the_protocol_in_order(trained) -> None:
    _, _, events, stdout_lines = trained
    assert [parse_event(line) for line in stdout_lines] == events  # stdout == events.jsonl, all valid
    types = [e.type for e in after_preparing(events)]
    assert types[0] == "start" and types[-1] == "done"
    assert set(types) == {"start", "progress", "epoch", "done"}
    start = after_preparing(events)[0]
    assert start.classes == ["circle", "square", "triangle"]
    assert start.counts == {"train": 48, "val": 12}
    assert start.model == "resnet18" and start.device == "cpu" and start.num_params > 1_000_000
    assert start.config["epochs"] == 6 and start.resumed_from_epoch == 0
    assert start.threads is not None and start.threads.cpus == len(os.sched_getaffinity(0))
    assert 1 <= start.threads.compute <= start.threads.cpus and start.threads.reason in ("cpus", "load")
    epochs = [e for e in events if e.type == "epoch"]
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5, 6]
    assert all(e.epochs == 6 and e.val_top5 is None for e in epochs)  # 3 classes: no top-5
    assert epochs[-1].eta_seconds == 0 and epochs[0].eta_seconds > 0
    assert [e.best_val_acc for e in epochs] == sorted(e.best_val_acc for e in epochs)
    for epoch in epochs:  # each epoch's progress events come before it and end on the last step
        progress = [e for e in events if e.type == "progress" and e.epoch == epoch.epoch]
        assert progress and progress[-1].step == progress[-1].steps_per_epoch == 3
        assert events.index(progress[-1]) < events.index(epoch)
    # the lr asked for is the peak lr used, then it decays
    assert max(e.lr for e in epochs) <= 0.003 and epochs[-1].lr < epochs[0].lr


def test_learning_happens_on_an_easy_task(trained) -> None:
    done = trained[2][-1]
    assert done.best_val_acc >= 0.8  # chance is 1/3
    assert done.epochs_completed == 6 and 1 <= done.best_epoch <= 6
    assert sum(map(sum, load_confusion_matrix(trained[1])[1])) == 12
    assert set(done.per_class_acc) == {"circle", "square", "triangle"}


def test_artifacts_are_written_and_the_model_loads_back_into_timm(trained) -> None:
    _, out, events, _ = trained
    done = events[-1]
    for name in ("model", "config", "metrics", "results", "model_card", "curves", "confusion_matrix"):
        path = Path(done.artifacts[name])
        assert path.is_absolute() and path.is_file() and path.stat().st_size > 0, name
    # the README's one line: architecture, trained input size, label names and weights all come back
    model = timm.create_model(f"local-dir:{out}", pretrained=True)
    assert model.default_cfg["architecture"] == "resnet18" and model.num_classes == 3
    assert model.pretrained_cfg["label_names"] == ["circle", "square", "triangle"]
    data_config = timm.data.resolve_data_config({}, model=model)
    assert data_config["input_size"] == (3, 32, 32) and data_config["crop_mode"] == "center"
    saved = load_file(str(out / "model.safetensors"))
    assert torch.equal(model.state_dict()["fc.weight"], saved["fc.weight"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["best_val_acc"] == done.best_val_acc and len(metrics["history"]) == 6


def test_results_csv_has_one_row_per_epoch(trained) -> None:
    _, out, events, _ = trained
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    epochs = [e for e in events if e.type == "epoch"]
    assert [int(r["epoch"]) for r in rows] == [e.epoch for e in epochs]
    for row, epoch in zip(rows, epochs, strict=True):
        assert float(row["val_acc"]) == pytest.approx(epoch.val_acc)
        assert float(row["train_loss"]) == pytest.approx(epoch.train_loss)
        assert float(row["lr"]) == pytest.approx(epoch.lr)
        assert float(row["epoch_seconds"]) == pytest.approx(epoch.epoch_seconds) and epoch.epoch_seconds > 0
        assert row["val_top5"] == ""  # 3 classes: no top-5


def test_model_card_describes_data_settings_results_and_loading(trained) -> None:
    _, out, events, _ = trained
    card = (out / "README.md").read_text()
    done = events[-1]
    assert "| circle | 16 | 4 |" in card and "| **total** | 48 | 12 |" in card  # per class, per split
    assert "- epochs: `6`" in card and "- model: `resnet18`" in card
    assert f"{done.best_val_acc:.1%} (epoch {done.best_epoch} of 6)" in card
    assert f'timm.create_model("local-dir:{out}", pretrained=True)' in card
    assert f"python -m training.predict {out} IMAGE..." in card
    assert "- pretrained: `False`" in card  # run_trainer trains from random init


@pytest.mark.parametrize("epochs", [2, 3, 7])
def test_curves_have_whole_epoch_ticks(epochs: int) -> None:
    history = [
        EpochRecord(epoch=e, train_loss=1 / e, val_loss=1 / e, train_acc=e / 10, val_acc=e / 10)
        for e in range(1, epochs + 1)
    ]
    figure = reports.curves_figure(history, artifacts.CURVES)
    for axes in figure.axes:
        low, high = axes.get_xlim()
        ticks = [tick for tick in axes.get_xticks() if low <= tick <= high]
        assert ticks and all(float(tick).is_integer() for tick in ticks), ticks
    reports.pyplot().close(figure)


def test_auto_split_is_stratified_and_reproducible(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", per_class=10)
    plan = discover(data, seed=0)
    assert plan.classes == ["circle", "square", "triangle"]
    assert [sum(1 for _, label in plan.val if label == c) for c in range(3)] == [2, 2, 2]
    assert len(plan.train) == 24 and not {p for p, _ in plan.train} & {p for p, _ in plan.val}
    assert discover(data, seed=0).val == plan.val
    assert discover(data, seed=1).val != plan.val


def test_a_class_of_one_image_stays_in_train_with_a_warning(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", classes=("a", "b"), per_class=6)
    make_image_folder(tmp_path / "data", classes=("c",), per_class=1)
    plan = discover(data, seed=0)
    assert any(code == "tiny_class" and "c" in message for code, message in plan.warnings)
    assert all(label != 2 for _, label in plan.val) and any(label == 2 for _, label in plan.train)


def test_hidden_files_and_folders_are_ignored(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", classes=("a", "b"), per_class=4)
    for junk in ("__MACOSX/a", ".ipynb_checkpoints", "a/.ipynb_checkpoints"):
        make_image_folder(data / junk, classes=("x",), per_class=1)
    (data / ".DS_Store").write_bytes(b"\0")
    (data / "a" / ".DS_Store").write_bytes(b"\0")
    plan = discover(data, seed=0)
    assert plan.classes == ["a", "b"] and len(plan.train) + len(plan.val) == 8


@pytest.mark.parametrize("val_name", ["val", "valid"])
def test_train_val_layout_with_held_out_test_split(tmp_path: Path, val_name: str) -> None:
    data = make_split_folder(tmp_path / "data", train_per_class=8, val_per_class=3, val_name=val_name)
    make_image_folder(data / "test", per_class=2, seed=3)
    code, events = run_trainer(data, tmp_path / "out")
    assert code == ExitCode.DONE
    assert after_preparing(events)[0].counts == {"train": 24, "val": 9, "test": 6}
    assert events[-1].type == "done" and 0 <= events[-1].test["acc"] <= 1


def test_same_seed_gives_identical_metrics(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", per_class=8)
    histories = []
    for run in ("a", "b"):
        # the same thread count for both: by default it follows how busy the host is at start, and a
        # different count sums in another order (identical only to rounding)
        code, _ = run_trainer(data, tmp_path / run, "--seed", "7", "--threads", "1", epochs=2)
        assert code == ExitCode.DONE
        history = json.loads((tmp_path / run / "metrics.json").read_text())["history"]
        histories.append([{k: v for k, v in row.items() if k != "epoch_seconds"} for row in history])
    assert histories[0] == histories[1]


def test_streaming_fallback_when_over_the_cache_budget(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", per_class=6)
    flags = ("--cache-budget-mb", "0", "--no-cache-dir", "--workers", "0")  # no disk cache to map instead
    code, events = run_trainer(data, tmp_path / "out", *flags)
    assert after_preparing(events)[0].data.images_from == "streaming"
    assert code == ExitCode.DONE and events[-1].type == "done"


def test_pretrained_offline_warns_and_trains_from_random_init(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = make_image_folder(tmp_path / "data", per_class=6)
    code, events = run_trainer(data, tmp_path / "out", "--pretrained")
    assert code == ExitCode.DONE
    warnings = [e for e in events if e.type == "warning"]
    assert [w.code for w in warnings] == ["pretrained_unavailable"]
    assert events[-1].type == "done"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--model", "resnet5O"], "resnet50"),  # a typo: close matches are listed
        (["--epochs", "0"], "epochs"),
        (["--lr", "0"], "learning_rate"),
        (["--num-classes", "5"], "num_classes is 5 but the dataset has 3 classes"),
        (["--device", "cuda:7"], "cuda"),
        (["--bogus-flag"], "unrecognized arguments"),
    ],
)
def test_config_errors_exit_2_with_an_error_event(tmp_path: Path, flags: list[str], expected: str) -> None:
    data = make_image_folder(tmp_path / "data", per_class=3)
    code, events = run_trainer(data, tmp_path / "out", *flags)
    assert code == ExitCode.CONFIG
    assert events[-1].type == "error" and events[-1].kind == "config"
    assert expected in events[-1].message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[1, 2]", "must hold a JSON object"),
        ("{not json", "could not read config file"),
        (None, "No such file"),
    ],
)
def test_unusable_config_files_are_config_errors(tmp_path: Path, content: str | None, expected: str) -> None:
    data = make_image_folder(tmp_path / "data", per_class=3)
    config = tmp_path / "run.json"
    if content is not None:
        config.write_text(content)
    code, events = run_trainer(data, tmp_path / "out", "--config", str(config))
    assert code == ExitCode.CONFIG
    assert events[-1].type == "error" and events[-1].kind == "config" and expected in events[-1].message


def test_resume_without_a_checkpoint_is_a_config_error(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", per_class=3)
    code, events = run_trainer(data, tmp_path / "out", "--resume")
    assert code == ExitCode.CONFIG and "no checkpoint" in events[-1].message


def test_lr_schedule_warms_up_to_the_requested_lr_then_decays() -> None:
    lrs = [lr_at(step, total_steps=100, warmup_steps=5, peak_lr=0.01) for step in range(100)]
    assert lrs[0] == pytest.approx(0.002) and lrs[4] == pytest.approx(0.01) == max(lrs)
    assert lrs == lrs[:5] + sorted(lrs[5:], reverse=True) and lrs[-1] < 1e-4


def test_augmentation_is_batched_seeded_and_sized() -> None:
    images = torch.randint(0, 256, (4, 3, 36, 36), dtype=torch.uint8)
    normalize = Normalizer((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), torch.device("cpu"))
    first = augment_batch(images, 32, normalize, torch.Generator().manual_seed(0))
    again = augment_batch(images, 32, normalize, torch.Generator().manual_seed(0))
    other = augment_batch(images, 32, normalize, torch.Generator().manual_seed(1))
    assert first.shape == (4, 3, 32, 32) and first.dtype == torch.float32
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.min() >= -2.0 - 1e-5 and first.max() <= 2.0 + 1e-5  # (0..255 - 127.5) / 63.75


def test_config_file_with_flags_overriding_it(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", per_class=4)
    config = {
        "dataset_path": str(data),
        "model": "resnet18",
        "pretrained": False,
        "image_size": 32,
        "epochs": 9,
    }
    (tmp_path / "run.json").write_text(json.dumps(config))
    code = main(["--config", str(tmp_path / "run.json"), "--out", str(tmp_path / "out"), "--epochs", "1"])
    events = after_preparing(read_events(tmp_path / "out"))
    assert code == ExitCode.DONE
    assert events[0].config["epochs"] == 1 and events[0].config["model"] == "resnet18"
    assert [e.epoch for e in events if e.type == "epoch"] == [1]


def test_local_weights_load_with_a_different_head(trained, tmp_path: Path) -> None:
    _, out, _, _ = trained  # a 3-class model; this run has 2 classes, so only the head differs
    data = make_image_folder(tmp_path / "data", classes=("circle", "square"), per_class=4)
    weights = out / "model.safetensors"
    code, _ = run_trainer(data, tmp_path / "out", "--weights", str(weights), "--lr", "1e-7")
    assert code == ExitCode.DONE
    before, after = load_file(str(weights)), load_file(str(tmp_path / "out" / "model.safetensors"))
    assert torch.allclose(before["conv1.weight"], after["conv1.weight"], atol=1e-4)
    assert after["fc.weight"].shape[0] == 2


def test_out_of_memory_is_reported_with_its_own_kind(tmp_path: Path, monkeypatch) -> None:
    def exhausted(*_args, **_kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("training.loop.train", exhausted)
    code, events = run_trainer(make_image_folder(tmp_path / "data", per_class=2), tmp_path / "out")
    assert code == ExitCode.OUT_OF_MEMORY
    assert events[-1].kind == "out_of_memory" and "smaller batch size" in events[-1].message


@pytest.mark.parametrize("name", ["auto", "cuda"])
def test_cuda_device_gets_an_index_for_set_device(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert resolve_device(name) == torch.device("cuda", 1)


def test_resume_with_fp16_grad_scaling_from_a_checkpoint_saved_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_image_folder(tmp_path / "data", classes=("a", "b"), per_class=6)
    code, _ = run_trainer(data, tmp_path / "out", epochs=1)
    assert code == ExitCode.DONE
    # what an fp16-only GPU picks; GradScaler also runs on the CPU
    monkeypatch.setattr("training.loop.choose_precision", lambda *_: Precision(None, use_scaler=True))
    code, events = run_trainer(data, tmp_path / "out", "--resume", epochs=2)
    assert code == ExitCode.DONE, events[-1]
    assert [e.epoch for e in events if e.type == "epoch"][-1] == 2


def test_early_stopping_ends_a_plateau_and_keeps_the_best_epoch(tmp_path: Path) -> None:
    # both classes hold the same picture: every val image gets the same guess, so val acc is 50% each epoch
    make_image_folder(tmp_path / "one", classes=("a",), per_class=1)
    picture = (tmp_path / "one" / "a" / "a_000.png").read_bytes()
    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for n in range(5):
            (tmp_path / "data" / name / f"{n}.png").write_bytes(picture)
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"dataset_path": str(tmp_path / "data"), "early_stopping_patience": 2}))
    code, events = run_trainer(tmp_path / "data", tmp_path / "out", "--config", str(config), epochs=8)
    assert code == ExitCode.DONE
    done = events[-1]
    assert [e.val_acc for e in events if e.type == "epoch"] == [0.5, 0.5, 0.5]  # epochs 2 and 3: no gain
    assert done.early_stopped and done.epochs_completed == 3 and done.best_epoch == 1
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["early_stopped_at"] == 3 and metrics["config"]["early_stopping_patience"] == 2
    assert (
        "Stopped early after epoch 3: no improvement for 2 epochs."
        in (tmp_path / "out" / "README.md").read_text()
    )


def test_early_stopping_off_and_the_rule() -> None:
    from training.loop import plateaued

    assert not plateaued(epoch=50, best_epoch=1, patience=0)
    assert not plateaued(epoch=5, best_epoch=1, patience=5) and plateaued(epoch=6, best_epoch=1, patience=5)
    assert TrainingConfig(dataset_path="x").early_stopping_patience == 10  # the default, shown in the summary
