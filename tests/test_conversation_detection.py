"""Object detection in the conversation: the task from how people ask and from the dataset, switching it,
model names checked against it, the score threshold, detection dataset reports and mismatch explanations,
questions that change nothing, uploaded detection zips; rule path and Claude path (fake Messages API)."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.conversation import ConversationService, Turn
from bot.conversation.datasets import summarize_dataset
from bot.conversation.parsing import ParseContext
from bot.conversation.rules import parse_message
from bot.settings import Settings
from bot.storage import Database
from bot.uploads import UploadError, extract_dataset_zip
from tests import fake_anthropic as fake
from tests.detection_datasets import GroundTruth, write_coco, write_voc, write_yolo
from tests.imagegen import make_image_folder
from training.contract import DEFAULT_DETECTOR

NOTHING_ASKED = ParseContext(asked_field=None, last_field=None)


@pytest.fixture(scope="module")
def data_root(module_tmp: Path) -> Path:
    root = module_tmp / "data"
    write_yolo(root / "parts", n_images=12, size=48, negatives=2)
    write_coco(root / "parts_coco", n_images=12, size=48, negatives=2)
    write_voc(root / "parts_voc", n_images=12, size=48, negatives=2)
    make_image_folder(root / "cats", classes=("black", "orange"), per_class=3, size=16)
    return root


@pytest.fixture
def service(data_root: Path) -> ConversationService:
    db = Database("sqlite://")
    db.create_all()
    return ConversationService(db, Settings(data_root=data_root, _env_file=None), "rules")


def chat(service: ConversationService, *texts: str, thread: str = "1") -> Turn:
    turn = None
    for text in texts:
        turn = service.handle_message(team_id="T", channel_id="C", thread_ts=thread, user_id="U", text=text)
    assert turn is not None
    return turn


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("detect scratches on these parts", "detection"),
        ("find where the cracks are in each photo", "detection"),
        ("locate the defects", "detection"),
        ("I need bounding boxes around every bolt", "detection"),
        ("count the cars in each image", "detection"),
        ("object detection model please", "detection"),
        ("객체 탐지 모델 만들어줘", "detection"),
        ("제품 사진에서 불량 위치를 찾는 모델 만들어줘", "detection"),
        ("사람 얼굴에 박스 쳐주는 모델", "detection"),
        ("용접 결함 위치 검출", "detection"),
        ("detect whether a weld is good or bad", "classification"),
        ("녹슨 부분이 있는지 없는지 검출해줘", "classification"),
        ("사진에 사과가 몇 개 있는지 세는 모델 만들어줘", "detection"),
        ("make it a detector", "detection"),
        ("분류 말고 탐지로 해줘", "detection"),
        ("classify the leaves", "classification"),
        ("분류로 바꿔줘", "classification"),
        ("make a model that says what kind of bird is in the photo", "classification"),
        ("not detection, a classifier", "classification"),
        ("resnet18 on cats for 5 epochs", None),
    ],
)
def test_the_task_is_read_from_how_people_ask(text: str, task: str | None) -> None:
    assert parse_message(text, NOTHING_ASKED).updates.get("task") == task


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("confidence 0.4", 0.4),
        ("신뢰도 0.5 이상만", 0.5),
        ("threshold 0.3", 0.3),
        ("score threshold 30%", 0.3),
    ],
)
def test_score_threshold_phrasings(text: str, value: float) -> None:
    assert parse_message(text, NOTHING_ASKED).updates == {"score_threshold": value}


def _boxes_per_class(truth: GroundTruth) -> Counter[str]:
    return Counter(truth.classes[label] for image in truth.images for label in image.labels)


def test_korean_detector_request_reaches_a_detection_summary(service: ConversationService) -> None:
    first = chat(service, "제품 사진에서 불량 위치를 찾는 모델 만들어줘")
    assert first.draft == {"task": "detection"} and "작업 객체 탐지" in first.reply
    found = chat(service, "parts")
    assert "YOLO 형식의 객체 탐지 데이터셋" in found.reply and "박스가 없는 이미지는 2장" in found.reply
    done = chat(service, "20 에폭, 신뢰도 0.4 이상만")
    assert done.complete and done.config is not None
    config = done.config
    assert (config.task, config.model, config.image_size, config.score_threshold) == (
        "detection", DEFAULT_DETECTOR, 640, 0.4,
    )  # fmt: skip
    assert "• 작업: 객체 탐지" in done.reply
    assert (
        f"• 모델: {DEFAULT_DETECTOR} (기본값)" in done.reply and "• 이미지 크기: 640px (기본값)" in done.reply
    )


@pytest.mark.parametrize(
    ("folder", "shown", "writer"),
    [("parts", "YOLO", write_yolo), ("parts_coco", "COCO", write_coco), ("parts_voc", "VOC", write_voc)],
)
def test_a_detection_folder_is_reported_and_settles_the_task(
    service: ConversationService, tmp_path: Path, folder: str, shown: str, writer: object
) -> None:
    truth = writer(tmp_path / "same", n_images=12, size=48, negatives=2)  # type: ignore[operator]
    boxes = _boxes_per_class(truth)
    turn = chat(service, f"train on {folder} for 3 epochs")
    assert turn.draft["task"] == "detection" and turn.draft["num_classes"] == 3
    assert (
        f"a {shown} detection dataset with 3 classes, 12 images and {sum(boxes.values())} boxes" in turn.reply
    )
    for name, count in boxes.items():
        assert f"{name} {count}" in turn.reply
    assert "2 images have no boxes" in turn.reply and "so this run trains an object detector" in turn.reply
    assert turn.complete and turn.config is not None and turn.config.model == DEFAULT_DETECTOR


def test_an_unclear_request_is_asked_about_and_a_dataset_settles_it(service: ConversationService) -> None:
    asked = chat(service, "불량품 검출 모델 만들어줘")
    assert "task" not in asked.draft and "이미지가 *무엇인지* 말해야 하나요 (분류)" in asked.reply
    answered = chat(service, "어디에 있는지 찾아야 해")
    assert answered.draft == {"task": "detection"} and "무엇인지" not in answered.reply
    settled = chat(
        service, "find defects for me, dataset parts", thread="2"
    )  # no detection word, a YOLO folder
    assert settled.draft["task"] == "detection" and "*what* the image is" not in settled.reply
    unclear = chat(service, "불량 검출용으로 cats 데이터셋", thread="3")  # class folders settle it
    assert (
        "task" not in unclear.draft
        and unclear.draft["dataset_path"] == "cats"
        and "무엇인지" not in unclear.reply
    )


def test_switching_task_resets_an_incompatible_model_and_dataset(service: ConversationService) -> None:
    turn = chat(service, "train resnet18 on cats for 5 epochs", "make it a detector")
    assert turn.draft["task"] == "detection" and "model" not in turn.draft
    assert (
        "`resnet18` is not a model for object detection, so the model is now that task's default, "
        f"`{DEFAULT_DETECTOR}`" in turn.reply
    )
    assert "`cats` is an image-classification dataset" in turn.reply and "dataset_path" not in turn.draft
    back = chat(service, "use ssdlite", "분류로 바꿔줘")
    assert back.draft["task"] == "classification" and "model" not in back.draft
    assert (
        "`ssdlite320_mobilenet_v3_large`는 분류용 모델이 아니라서" in back.reply
        and "`resnet50`으로" in back.reply
    )


def test_model_names_are_checked_against_the_task(service: ConversationService) -> None:
    classifying = chat(service, "train resnet18 on cats for 5 epochs", "model fasterrcnn_resnet50_fpn_v2")
    assert classifying.draft["model"] == "resnet18" and "task" not in classifying.draft
    assert "is an object detector, but this run classifies images" in classifying.reply
    assert "`resnet50`" in classifying.reply  # the classifier its backbone names
    detecting = chat(service, "detect bolts, dataset parts, 5 epochs", "use efficientnet b0", thread="2")
    assert "model" not in detecting.draft
    assert (
        "`efficientnet_b0` is an image classifier" in detecting.reply
        and "`fcos_resnet50_fpn`" in detecting.reply
    )
    typo = chat(service, "model retinanet_resnet50_fpn_v3", thread="2")
    assert (
        "There is no detector `retinanet_resnet50_fpn_v3`; did you mean `retinanet_resnet50_fpn_v2`"
        in typo.reply
    )
    named = chat(service, "faster rcnn mobilenet please", thread="2")
    assert named.draft["model"] == "fasterrcnn_mobilenet_v3_large_fpn"


def test_a_threshold_for_a_classifier_changes_nothing(service: ConversationService) -> None:
    turn = chat(service, "train resnet18 on cats for 5 epochs", "confidence 0.4")
    assert "score_threshold" not in turn.draft and "is for object detection" in turn.reply
    assert "score threshold" not in turn.reply.split("Every setting:")[-1]  # a detector's line only


def test_a_dataset_of_the_other_kind_is_explained_not_accepted(service: ConversationService) -> None:
    detecting = chat(service, "객체 탐지 모델, 데이터는 cats, 5 에폭")
    assert "dataset_path" not in detecting.draft and detecting.draft["task"] == "detection"
    assert "`cats`은(는)" not in detecting.reply and "이미지 분류 데이터셋이에요" in detecting.reply
    assert "YOLO" in detecting.reply and "“분류로 바꿔줘”" in detecting.reply
    classifying = chat(service, "classify them, dataset parts, 5 epochs", thread="2")
    assert "dataset_path" not in classifying.draft and "task" not in classifying.draft
    assert "`parts` is an object-detection dataset (YOLO" in classifying.reply


def test_a_broken_detection_dataset_is_refused_with_the_reason(
    data_root: Path, service: ConversationService
) -> None:
    broken = data_root / "broken"
    write_yolo(broken, n_images=6, size=48, negatives=0)
    (broken / "labels" / "img_0005.txt").write_text("7 0.5 0.5 0.2 0.2\n")
    turn = chat(service, "detect things, dataset broken")
    assert "dataset_path" not in turn.draft
    assert "`broken` looks like a YOLO detection dataset, but it can't be used as it is" in turn.reply
    assert str(data_root) not in turn.reply  # the server's paths stay there


def test_a_changed_detection_folder_is_read_again(tmp_path: Path) -> None:
    write_yolo(tmp_path / "grow", n_images=8, size=48)
    assert summarize_dataset(tmp_path / "grow").total_images == 8
    write_yolo(tmp_path / "more", n_images=9, size=48)
    (tmp_path / "more" / "images" / "img_0008.jpg").rename(tmp_path / "grow" / "images" / "extra.jpg")
    (tmp_path / "more" / "labels" / "img_0008.txt").rename(tmp_path / "grow" / "labels" / "extra.txt")
    assert summarize_dataset(tmp_path / "grow").total_images == 9


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what is mAP?", "mean average precision"),
        ("탐지 모델은 뭐가 좋아?", "객체 탐지는"),
        ("which detector for 300 images?", "For 300 images"),
    ],
)
def test_detection_questions_are_answered_and_change_nothing(
    service: ConversationService, question: str, expected: str
) -> None:
    before = chat(service, "detect bolts, dataset parts, 5 epochs").draft
    turn = chat(service, question)
    assert turn.draft == before and expected in turn.reply


def test_a_detection_estimate_without_history_is_labelled_a_guess(service: ConversationService) -> None:
    summary = chat(service, "detect bolts, dataset parts, 5 epochs, image size 320")
    assert "roughly" in summary.reply and "a guess: no detection run of this model" in summary.reply
    answer = chat(service, "how long will it take?")
    # 5 epochs x 12 images x 4 s (CPU, 640 px) x (320/640)^2 = 60 s
    assert "A rough guess, not a measurement: about 60 s for 5 epochs" in answer.reply
    assert "about 1 s each per epoch" in answer.reply and answer.draft == summary.draft


def test_detector_advice_uses_the_dataset_boxes(service: ConversationService) -> None:
    turn = chat(service, "detect bolts, dataset parts, 5 epochs", "which detector should I use?")
    assert (
        "Your dataset has 12 images and" in turn.reply
        and "fasterrcnn_mobilenet_v3_large_320_fpn" in turn.reply
    )


# --- Claude path -------------------------------------------------------------------------------------------
@pytest.fixture
def claude(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ConversationService, fake.FakeAnthropic]]:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    server = fake.FakeAnthropic()
    db = Database("sqlite://")
    db.create_all()
    settings = Settings(
        data_root=data_root, anthropic_api_key="sk-test", anthropic_base_url=server.base_url, _env_file=None
    )
    yield ConversationService(db, settings, "claude"), server
    server.close()


def test_claude_path_sets_and_checks_the_task(claude: tuple[ConversationService, fake.FakeAnthropic]) -> None:
    service, server = claude
    schema = None
    server.script = [
        fake.updates(task="detection", dataset_path="parts", score_threshold=0.6),
        fake.updates(model="resnet50"),
        fake.updates(task="classification"),
    ]
    first = chat(service, "부품 사진에서 긁힌 곳을 찾아줘, parts, 신뢰도 0.6")
    body = server.requests[-1].body
    schema = body["output_config"]["format"]["schema"]["properties"]["updates"]["properties"]
    assert schema["task"] == {"type": "string", "enum": ["classification", "detection"]}
    assert schema["score_threshold"]["type"] == "number"
    assert first.draft == {
        "task": "detection",
        "dataset_path": "parts",
        "num_classes": 3,
        "score_threshold": 0.6,
    }
    refused = chat(service, "resnet50으로")
    assert "model" not in refused.draft and "이미지 분류 모델이에요" in refused.reply
    switched = chat(service, "분류로 바꿔줘")
    assert switched.draft["task"] == "classification" and "dataset_path" not in switched.draft
    assert "객체 탐지 데이터셋이에요" in switched.reply


# --- uploads -----------------------------------------------------------------------------------------------
def _zip_folder(folder: Path, top: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
        archive.writestr(f"__MACOSX/{top}/._labels.json", b"meta")
    return buffer.getvalue()


def test_an_uploaded_coco_zip_is_accepted_and_reported(tmp_path: Path) -> None:
    truth = write_coco(tmp_path / "src", n_images=10, size=48, negatives=1)
    zip_path = tmp_path / "upload.zip"
    zip_path.write_bytes(_zip_folder(tmp_path / "src", "scratches"))
    settings = Settings(
        data_root=tmp_path / "data", upload_max_bytes=5_000_000, upload_max_files=100, _env_file=None
    )
    dataset = extract_dataset_zip(zip_path, settings, "scratches.zip")
    assert dataset.summary.detection is not None and dataset.summary.detection.format == "coco"
    assert dataset.images == 10 and dataset.dropped == 1  # the macOS metadata
    assert dict(dataset.summary.counts) == dict(_boxes_per_class(truth))
    db = Database("sqlite://")
    db.create_all()
    service = ConversationService(db, Settings(data_root=settings.data_root, _env_file=None), "rules")
    turn = chat(service, f"dataset: {dataset.relative_path}")
    assert (
        turn.draft["task"] == "detection"
        and "a COCO detection dataset with 3 classes, 10 images" in turn.reply
    )


def test_an_uploaded_detection_zip_keeps_the_safety_rules(tmp_path: Path) -> None:
    write_yolo(tmp_path / "src", n_images=6, size=48)
    settings = Settings(
        data_root=tmp_path / "data", upload_max_bytes=5_000_000, upload_max_files=100, _env_file=None
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("parts/labels/../../../evil.txt", b"0 0.5 0.5 0.1 0.1\n")
        out.writestr("parts/images/a.jpg", (tmp_path / "src" / "images" / "img_0000.jpg").read_bytes())
    zip_path = tmp_path / "evil.zip"
    zip_path.write_bytes(archive.getvalue())
    with pytest.raises(UploadError) as refused:
        extract_dataset_zip(zip_path, settings, "evil.zip")
    assert refused.value.code == "outside" and not (tmp_path / "evil.txt").exists()
    (tmp_path / "src" / "labels" / "img_0004.txt").write_text("0 0.5 0.5\n")  # a malformed line
    zip_path.write_bytes(_zip_folder(tmp_path / "src", "parts"))
    with pytest.raises(UploadError) as bad:
        extract_dataset_zip(zip_path, settings, "parts.zip")
    assert bad.value.code == "detection_invalid" and "YOLO" in bad.value.words("en")
    assert [p.name for p in (settings.data_root / "uploads").iterdir()] == []  # nothing kept
