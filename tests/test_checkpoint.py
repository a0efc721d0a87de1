"""checkpoint_last.pt: the typed run state and the trainables' states survive a save and a load."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from training import checkpoint
from training.checkpoint import BestEpoch, RunState, Trainables
from training.events import EpochRecord


def _trainables(seed: int) -> Trainables:
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(3, 4)).sum().backward()
    optimizer.step()
    return Trainables(
        model, optimizer, torch.amp.GradScaler("cpu", enabled=False), torch.Generator().manual_seed(seed)
    )


def test_run_state_and_trainables_round_trip(tmp_path: Path) -> None:
    state = RunState(
        classes=["a", "b"],
        config={"model": "resnet18", "epochs": 3},
        epoch=2,
        history=[EpochRecord(epoch=1, val_acc=0.5), EpochRecord(epoch=2, val_acc=0.75, val_top5=0.9)],
        best=BestEpoch(val_acc=0.75, epoch=2, confusion=[[1, 0], [0, 1]], per_class={"a": 1.0, "b": 1.0}),
    )
    saved, fresh = _trainables(0), _trainables(1)
    draws = torch.rand(
        3, generator=saved.generator
    )  # the generator's state after these draws is what's saved
    path = checkpoint.save_run(tmp_path / checkpoint.LAST, state, saved)
    expected_next = torch.rand(3, generator=saved.generator)

    loaded = checkpoint.load(path)
    assert checkpoint.read_run_state(loaded) == state
    checkpoint.restore_trainables(loaded, fresh)
    assert torch.equal(fresh.model.weight, saved.model.weight)
    assert fresh.optimizer.state_dict()["state"][0]["exp_avg"].equal(
        saved.optimizer.state_dict()["state"][0]["exp_avg"]
    )
    assert torch.equal(torch.rand(3, generator=fresh.generator), expected_next) and not draws.equal(
        expected_next
    )


def test_the_saved_layout_keeps_the_keys_older_checkpoints_have(tmp_path: Path) -> None:
    path = checkpoint.save_run(tmp_path / checkpoint.LAST, RunState(classes=["a"], config={}), _trainables(0))
    saved = checkpoint.load(path)
    assert set(saved) == {
        "model",
        "optimizer",
        "scaler",
        "epoch",
        "history",
        "best",
        "classes",
        "config",
        "generator",
        "rng",
    }
    older = {"val_acc": -1.0, "epoch": 0, "confusion": [], "per_class": {}}
    assert older.items() <= saved["best"].items()  # detection's figures come on top


def test_history_rows_are_saved_as_the_plain_rows_older_checkpoints_hold(tmp_path: Path) -> None:
    """A checkpoint written before the rows were typed (plain dicts, as torch.save wrote them from the run
    state) still resumes with the same figures, and a new one holds its rows the same way."""
    classifier = {"epoch": 1, "train_loss": 1.2, "train_acc": 0.4, "val_loss": 1.1, "val_acc": 0.5,
                  "lr": 0.001, "epoch_seconds": 3.5, "val_top5": 0.9}  # fmt: skip
    detector = {"epoch": 2, "train_loss": 4.5, "val_map50": 0.2, "val_map": 0.08, "lr": 1e-4,
                "epoch_seconds": 9.0}  # fmt: skip
    trainables = _trainables(0)
    older = {
        "classes": ["a"], "config": {"epochs": 3}, "epoch": 2, "history": [classifier, detector],
        "best": {"val_acc": 0.5, "epoch": 1, "confusion": [[1]], "per_class": {"a": 0.5}},
        "model": trainables.model.state_dict(), "optimizer": trainables.optimizer.state_dict(),
        "scaler": {}, "generator": trainables.generator.get_state(), "rng": checkpoint.rng_states(),
    }  # fmt: skip
    torch.save(older, tmp_path / checkpoint.LAST)
    state = checkpoint.read_run_state(checkpoint.load(tmp_path / checkpoint.LAST))
    assert all(isinstance(record, EpochRecord) for record in state.history)
    assert state.history[0].val_top5 == 0.9 and state.history[1].val_map == 0.08
    assert state.best.val_map == -1.0 and state.best.val_acc == 0.5  # detection's figures: their defaults
    checkpoint.restore_trainables(checkpoint.load(tmp_path / checkpoint.LAST), _trainables(1))
    assert checkpoint.history_rows(state.history) == [classifier, detector]
    again = checkpoint.load(checkpoint.save_run(tmp_path / "again.pt", state, trainables))
    assert again["history"] == [classifier, detector]


class Planted:
    """What a hostile checkpoint in a shared OUTPUT_ROOT would hold: unpickling it runs code."""

    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(self.marker),))

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path: Path) -> None:
    path = checkpoint.save_run(tmp_path / checkpoint.LAST, RunState(classes=["a"], config={}), _trainables(0))
    hostile = torch.load(path, weights_only=False) | {"planted": Planted(tmp_path / "ran")}
    torch.save(hostile, path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        checkpoint.load(path)
    assert not (tmp_path / "ran").exists()


def test_init_from_takes_the_model_of_another_runs_checkpoint(tmp_path: Path, monkeypatch) -> None:
    state = RunState(classes=["a", "b"], config={"model": "resnet18", "epochs": 3}, epoch=3)
    source = checkpoint.save_run(tmp_path / checkpoint.LAST, state, _trainables(0))
    out = tmp_path / "next"
    out.mkdir()
    weights = checkpoint.init_weights_file(source, out)
    assert weights == out / checkpoint.INIT_WEIGHTS_FILE
    loaded = torch.load(weights, weights_only=True)  # what --weights reads: plain tensors, no pickled state
    saved = checkpoint.load(source)["model"]
    assert loaded.keys() == saved.keys() and all(torch.equal(loaded[k], saved[k]) for k in saved)
    monkeypatch.setenv("RANK", "1")  # another rank of a multi-GPU run writes its own copy, not over rank 0's
    assert checkpoint.init_weights_file(source, out).name == "init_weights.rank1.pt"
