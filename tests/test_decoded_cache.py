"""The persistent decoded cache: hits across runs, invalidation, one build for two runs, LRU eviction, and the
trainer's fallbacks when it cannot be written."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import torch

from tests.imagegen import make_image_folder
from tests.trainer_helpers import after_preparing, run_trainer
from tests.waiting import wait_until
from training.contract import ExitCode
from training.data import CachedImages, DatasetPlan, StreamedImages, discover, prepare
from training.decoded_cache import CacheUnavailable, DecodedCache, Variant

VARIANT = Variant("train", side=4, image_size=4)
ENTRY_BYTES = 5 * 3 * 4 * 4  # five 4x4 images


class CountingDecoder:
    """Fills row i with the value i + 1 (skipping paths named 'bad*'), and counts its calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls, self.delay = 0, delay

    def __call__(self, samples, out, progress):
        self.calls += 1
        time.sleep(self.delay)
        labels, skipped = [], []
        for path, label in samples:
            if path.name.startswith("bad"):
                skipped.append(path)
                continue
            out[len(labels)] = len(labels) + 1
            labels.append(label)
            if progress is not None:
                progress(1)
        return labels, skipped


def _files(root: Path, names: list[str]) -> list[tuple[Path, int]]:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).write_bytes(name.encode())
    return [(root / name, index % 2) for index, name in enumerate(names)]


def test_a_second_load_maps_the_entry_without_decoding(tmp_path: Path) -> None:
    samples = _files(tmp_path / "data", ["a.png", "bad.png", "b.png", "c.png"])
    cache, decoder = DecodedCache(tmp_path / "cache"), CountingDecoder()
    built = cache.load_or_build(tmp_path / "data", "train", samples, VARIANT, decoder)
    mapped = cache.load_or_build(tmp_path / "data", "train", samples, VARIANT, decoder)
    assert decoder.calls == 1 and not built.hit and mapped.hit
    assert mapped.images.shape == (3, 3, 4, 4) and torch.equal(mapped.images, built.images)
    assert [int(image[0, 0, 0]) for image in mapped.images] == [1, 2, 3]
    assert mapped.labels.tolist() == [0, 0, 1]  # the labels of a, b, c; bad.png is left out
    assert mapped.skipped == [tmp_path / "data" / "bad.png"]  # remembered for the warning of later runs


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "a.png").write_bytes(b"another image"),  # size
        lambda root: os.utime(root / "a.png", ns=(1, 1)),  # mtime
        lambda root: (root / "a.png").rename(root / "z.png"),  # name
    ],
)
def test_a_changed_dataset_misses_and_replaces_the_old_entry(tmp_path: Path, change) -> None:
    root = tmp_path / "data"
    samples = _files(root, ["a.png", "b.png"])
    cache, decoder = DecodedCache(tmp_path / "cache"), CountingDecoder()
    cache.load_or_build(root, "train", samples, VARIANT, decoder)
    change(root)
    samples = [(path if path.exists() else root / "z.png", label) for path, label in samples]
    assert not cache.load_or_build(root, "train", samples, VARIANT, decoder).hit
    assert decoder.calls == 2 and len(cache.entries()) == 1  # the stale entry is gone


def test_other_preprocessing_is_another_entry(tmp_path: Path) -> None:
    samples = _files(tmp_path / "data", ["a.png", "b.png"])
    cache, decoder = DecodedCache(tmp_path / "cache"), CountingDecoder()
    for variant in (VARIANT, Variant("eval", 4, 4, crop_pct=0.875), Variant("eval", 4, 4, crop_pct=0.95)):
        assert not cache.load_or_build(tmp_path / "data", "val", samples, variant, decoder).hit
    assert decoder.calls == 3 and len(cache.entries()) == 3


def test_two_runs_starting_together_build_once(tmp_path: Path) -> None:
    samples = _files(tmp_path / "data", ["a.png", "b.png"])
    decoder, waits, results = CountingDecoder(delay=0.6), [], []

    def load_waiting() -> None:
        cache = DecodedCache(tmp_path / "cache")
        results.append(
            cache.load_or_build(
                tmp_path / "data", "train", samples, VARIANT, decoder, waiting=lambda: waits.append(1)
            )
        )

    first = threading.Thread(target=load_waiting)
    second = threading.Thread(target=load_waiting)
    first.start()
    wait_until(lambda: decoder.calls == 1, what="the first load decoding")  # it holds the entry's lock
    second.start()
    first.join(10)
    second.join(10)
    assert decoder.calls == 1 and waits  # the second waited for the first, then mapped its entry
    assert sorted(r.hit for r in results) == [False, True]


def test_least_recently_used_entries_are_evicted_to_stay_under_the_limit(tmp_path: Path) -> None:
    cache, decoder = DecodedCache(tmp_path / "cache", max_bytes=2 * ENTRY_BYTES + 300), CountingDecoder()
    splits = {name: _files(tmp_path / name, [f"{n}.png" for n in range(5)]) for name in ("a", "b", "c")}
    cache.load_or_build(tmp_path / "a", "train", splits["a"], VARIANT, decoder)
    cache.load_or_build(tmp_path / "b", "train", splits["b"], VARIANT, decoder)
    for _, _, name in cache.entries():  # the LRU clock is each entry's mtime: b was used after a
        os.utime(cache.folder / f"{name}.json", (1, 1 if name.startswith("a") else 2))
    assert cache.load_or_build(tmp_path / "a", "train", splits["a"], VARIANT, decoder).hit  # a is used again
    cache.load_or_build(tmp_path / "c", "train", splits["c"], VARIANT, decoder)
    assert sorted(name.split("-")[0] for _, _, name in cache.entries()) == ["a", "c"]  # b was least recent
    assert sum(size for _, size, _ in cache.entries()) <= cache.max_bytes


def test_a_split_over_the_limit_or_an_unusable_folder_is_unavailable(tmp_path: Path) -> None:
    samples = _files(tmp_path / "data", [f"{n}.png" for n in range(5)])
    with pytest.raises(CacheUnavailable, match="over the cache limit"):
        DecodedCache(tmp_path / "cache", max_bytes=ENTRY_BYTES - 1).load_or_build(
            tmp_path / "data", "train", samples, VARIANT, CountingDecoder()
        )
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(CacheUnavailable, match="not usable"):
        DecodedCache(tmp_path / "a-file" / "cache").load_or_build(
            tmp_path / "data", "train", samples, VARIANT, CountingDecoder()
        )


def test_a_build_killed_midway_leaves_nothing_that_is_used(tmp_path: Path) -> None:
    samples = _files(tmp_path / "data", ["a.png", "b.png"])
    cache = DecodedCache(tmp_path / "cache")

    def killed(samples, out, progress):
        raise KeyboardInterrupt  # as a stop in the middle of decoding

    with pytest.raises(KeyboardInterrupt):
        cache.load_or_build(tmp_path / "data", "train", samples, VARIANT, killed)
    assert cache.entries() == [] and not list((tmp_path / "cache").glob("*.tmp*"))
    assert not cache.load_or_build(tmp_path / "data", "train", samples, VARIANT, CountingDecoder()).hit


def _plan(tmp_path: Path) -> DatasetPlan:
    return discover(make_image_folder(tmp_path / "data", per_class=4, ext="jpg"), seed=0)


def test_over_the_memory_budget_the_splits_are_mapped_not_streamed(tmp_path: Path) -> None:
    plan, cpu = _plan(tmp_path), torch.device("cpu")
    mapped = prepare(plan, 32, lambda: 0.875, cpu, 1, budget_bytes=0, cache=DecodedCache(tmp_path / "cache"))
    assert mapped.images_from == "cache_built" and isinstance(mapped.train, CachedImages)
    again = prepare(plan, 32, lambda: 0.875, cpu, 1, budget_bytes=0, cache=DecodedCache(tmp_path / "cache"))
    assert again.images_from == "cache_hit" and torch.equal(again.train.images, mapped.train.images)
    in_memory = prepare(plan, 32, lambda: 0.875, cpu, 1)
    assert in_memory.images_from == "memory" and torch.equal(in_memory.val.images, again.val.images)
    streamed = prepare(plan, 32, lambda: 0.875, cpu, 0, budget_bytes=0)
    assert streamed.images_from == "streaming" and isinstance(streamed.train, StreamedImages)


def test_runs_share_the_cache_and_report_it_in_the_start_event(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", per_class=6, ext="jpg")
    _, first = run_trainer(data, tmp_path / "first", "--seed", "3")
    code, second = run_trainer(data, tmp_path / "second", "--seed", "3")
    assert code == ExitCode.DONE
    reports = [after_preparing(events)[0].data for events in (first, second)]
    assert [r.images_from for r in reports] == ["cache_built", "cache_hit"]
    assert all(r.images == 18 and r.cache_dir == str(tmp_path / "decoded-cache") for r in reports)
    timeless = [{k: v for k, v in run[-1].final.items() if k != "epoch_seconds"} for run in (first, second)]
    assert timeless[0] == timeless[1]  # the same pixels, so the same run


def test_an_unwritable_cache_folder_falls_back_to_memory_with_a_note(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", per_class=4)
    (tmp_path / "taken").write_text("a file where the cache folder should be")
    code, events = run_trainer(data, tmp_path / "out", "--cache-dir", str(tmp_path / "taken"))
    assert code == ExitCode.DONE
    report = after_preparing(events)[0].data
    assert report.images_from == "memory" and "not usable" in report.note
