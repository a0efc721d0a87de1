"""checkpoint_last.pt: the typed run state and the trainables' states survive a save and a load."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from training import checkpoint
from training.checkpoint import BestEpoch, RunState, Trainables


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
        history=[{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.75}],
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
