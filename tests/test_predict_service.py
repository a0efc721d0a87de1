"""Predictions from the bot: torch-free checks of the files, then a warm `python -m training.serve`
worker whose answers equal the trainer's own predict."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PIL import Image

from bot.predict import Accepted, ImageResult, Limits, PredictError, PredictService, Problem, gather_images
from bot.predict.present import prediction_text
from tests.imagegen import make_image_folder
from tests.trainer_helpers import after_preparing, run_trainer
from tests.waiting import wait_until
from training.contract import ExitCode
from training.data import discover
from training.predict import Predictor


@pytest.fixture(scope="module")
def run(module_tmp: Path) -> tuple[Path, Path, list]:
    root = module_tmp
    data = make_image_folder(root / "data", per_class=10)
    code, events = run_trainer(data, root / "out", "--lr", "0.003", epochs=3)
    assert code == ExitCode.DONE
    return data, root / "out", events


@pytest.fixture(scope="module")
def service():
    service = PredictService(idle_seconds=600)
    yield service
    service.close()


def test_answers_equal_the_trainers_own_predict_on_the_val_images(run, service, tmp_path) -> None:
    data, out, events = run
    val = discover(data, seed=0).val
    accepted, problems = gather_images([(p.name, p) for p, _ in val], tmp_path, Limits())
    assert problems == [] and len(accepted) == len(val)
    answers = service.predict(str(out), accepted)
    own = Predictor(out).predict([p for p, _ in val], top_k=3)
    assert [a.name for a in answers] == [p.name for p, _ in val]
    for answer, expected in zip(answers, own, strict=True):
        assert isinstance(answer, ImageResult) and len(answer.top) == 3
        assert [c for c, _ in answer.top] == [c for c, _ in expected.top]
        assert [p for _, p in answer.top] == pytest.approx([p for _, p in expected.top], abs=1e-6)
    classes = after_preparing(events)[0].classes
    correct = sum(a.top[0][0] == classes[label] for a, (_, label) in zip(answers, val, strict=True))
    assert correct / len(val) == pytest.approx(events[-1].best_val_acc)  # the model's own val accuracy


def test_the_worker_stays_warm_between_requests(run, service, tmp_path) -> None:
    data, out, _ = run
    image = Accepted("a.png", data / "circle" / "circle_000.png")
    first = service.predict(str(out), [image])
    (pid,) = [w.process.pid for w in service._workers.values()]
    second = service.predict(str(out), [image])
    assert [w.process.pid for w in service._workers.values()] == [pid] and service.devices() == ["cpu"]
    assert second == first


def test_an_idle_worker_is_stopped(run, tmp_path) -> None:
    data, out, _ = run
    service = PredictService(idle_seconds=0.4)
    try:
        service.predict(str(out), [Accepted("a.png", data / "circle" / "circle_000.png")])
        (worker,) = service._workers.values()
        wait_until(lambda: worker.process.poll() is not None, timeout=10, what="the idle worker's exit")
        assert service.devices() == []
    finally:
        service.close()


def test_a_run_without_a_model_is_a_clear_error(service, tmp_path) -> None:
    with pytest.raises(PredictError) as error:
        service.predict(str(tmp_path), [Accepted("a.png", tmp_path / "a.png")])
    assert error.value.code == "no_model"


def _bad_files(folder: Path, data: Path) -> list[tuple[str, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.jpg").write_text("not an image at all")
    good = data / "square" / "square_000.png"
    (folder / "cut.png").write_bytes(good.read_bytes()[:-30])  # truncated: checksum fails
    Image.new("1", (8000, 6000)).save(folder / "bomb.png")  # tiny file, 48 megapixels
    Image.new("RGB", (8, 8)).save(folder / "pic.bmp")  # an image, not an accepted format
    with zipfile.ZipFile(folder / "batch.zip", "w") as archive:
        archive.write(good, "imgs/square.png")
        archive.write(data / "circle" / "circle_000.png", "imgs/circle.png")
        archive.writestr("readme.txt", "hello")
        archive.writestr("__MACOSX/imgs/._square.png", "junk")
        archive.write(folder / "bomb.png", "imgs/bomb.png")
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    return [(p.name, p) for p in sorted(folder.iterdir())]


def test_bad_files_get_a_clear_reason_and_good_ones_are_answered(run, service, tmp_path) -> None:
    data, out, _ = run
    accepted, problems = gather_images(_bad_files(tmp_path / "in", data), tmp_path / "scratch", Limits())
    assert [a.name for a in accepted] == ["batch.zip/imgs/square.png", "batch.zip/imgs/circle.png"]
    assert all(a.path.is_relative_to(tmp_path / "scratch") for a in accepted)  # member paths never used
    assert {(p.name, p.code) for p in problems} == {
        ("batch.zip/imgs/bomb.png", "too_many_pixels"),
        ("batch.zip/readme.txt", "not_image"),
        ("bomb.png", "too_many_pixels"),
        ("broken.zip", "bad_zip"),
        ("cut.png", "corrupt"),
        ("notes.jpg", "not_image"),
        ("pic.bmp", "not_image"),
    }
    results = service.predict(str(out), accepted)
    assert [r.name for r in results if isinstance(r, ImageResult)] == [a.name for a in accepted]
    text = prediction_text("en", 7, "resnet18", results, problems)
    assert text.startswith("Predictions of run #7 (resnet18):")
    top = results[0].top
    assert f"• `batch.zip/imgs/square.png`: *{top[0][0]}* {top[0][1]:.1%}, *{top[1][0]}*" in text
    assert "• `notes.jpg`: not a JPEG, PNG or WebP image; left out." in text
    assert "`bomb.png`: too many pixels (8000x6000)" in text
    korean = prediction_text("ko", 7, "resnet18", [], problems)
    assert "분류할 수 있는 이미지가 없었어요" in korean and "손상" in korean


def test_too_many_and_too_large_are_refused_before_any_decoding(run, tmp_path) -> None:
    data, _, _ = run
    files = [(p.name, p) for p in sorted((data / "circle").iterdir())[:5]]
    accepted, problems = gather_images(files, tmp_path, Limits(max_images=3))
    assert len(accepted) == 3 and [p.code for p in problems] == ["too_many", "too_many"]
    accepted, problems = gather_images(files[:1], tmp_path, Limits(max_bytes=10))
    assert accepted == [] and problems == [Problem(files[0][0], "too_large", "10 B")]
