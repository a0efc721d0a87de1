"""Detection datasets (training/detection/data.py): the YOLO, COCO and VOC layouts of the same generated
data read alike; splits, negatives, the report; every bad dataset gets one clear message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.detection_datasets import (
    CLASSES,
    GroundTruth,
    write_coco,
    write_voc,
    write_yolo,
)
from training.contract import VAL_FRACTION
from training.detection.data import DetectionPlan, detection_format, discover_detection
from training.errors import DatasetError

SIZE = (72, 48)  # not square, so that a width/height mix-up shows
WRITERS = {"yolo": write_yolo, "coco": write_coco, "voc": write_voc}


def boxes_by_image(plan: DetectionPlan) -> dict[str, list[tuple[str, tuple[float, ...]]]]:
    """Image file name → sorted (class name, box rounded to 1/100 px), over every split."""
    images = plan.train + plan.val + (plan.test or [])
    return {
        image.path.name: sorted(
            (plan.classes[label], tuple(round(value, 2) for value in box))
            for box, label in zip(image.boxes, image.labels, strict=True)
        )
        for image in images
    }


def truth_by_image(truth: GroundTruth) -> dict[str, list[tuple[str, tuple[float, ...]]]]:
    return {
        image.name: sorted(
            (truth.classes[label], tuple(float(value) for value in box))
            for box, label in zip(image.boxes, image.labels, strict=True)
        )
        for image in truth.images
    }


def refusal(root: Path) -> str:
    with pytest.raises(DatasetError) as raised:
        discover_detection(root, seed=0)
    return raised.value.message


def codes(plan: DetectionPlan) -> dict[str, str]:
    return dict(plan.warnings)


@pytest.mark.parametrize("split", [False, True])
def test_three_formats_of_the_same_data_give_the_same_boxes_counts_and_splits(
    tmp_path: Path, split: bool
) -> None:
    plans = {}
    for name, write in WRITERS.items():
        truth = write(tmp_path / name, n_images=16, size=SIZE, seed=3, negatives=2, split=split)
        assert detection_format(tmp_path / name) == name
        plans[name] = plan = discover_detection(tmp_path / name, seed=0)
        assert plan.format == name
        assert sorted(plan.classes) == sorted(CLASSES)
        assert boxes_by_image(plan) == truth_by_image(truth)
        assert all((image.width, image.height) == SIZE for image in plan.train + plan.val)
        assert plan.report.images == 16 and plan.report.boxes == truth.boxes()
        assert plan.report.boxes_per_class == truth.boxes_per_class()
        assert plan.report.images_without_boxes == truth.negatives() == 2
        assert plan.report.auto_split is not split
        assert plan.test is None and plan.warnings == []
    reports = [plan.report.model_dump(exclude={"format"}) for plan in plans.values()]
    assert reports[0] == reports[1] == reports[2]
    vals = [sorted(image.path.name for image in plan.val) for plan in plans.values()]
    assert vals[0] == vals[1] == vals[2]
    if split:
        assert vals[0] == sorted(image.name for image in truth.split("val"))


@pytest.mark.parametrize(
    ("write", "options"),
    [
        (write_yolo, {"layout": "ultralytics", "names": "yaml_map"}),
        (write_yolo, {"names": "classes_txt"}),
        (write_coco, {"layout": "coco"}),
        (write_voc, {"layout": "flat"}),
    ],
)
def test_other_layouts_of_each_format(tmp_path: Path, write: Any, options: dict[str, str]) -> None:
    truth = write(tmp_path, n_images=12, size=SIZE, seed=1, split=True, **options)
    plan = discover_detection(tmp_path, seed=0)
    assert boxes_by_image(plan) == truth_by_image(truth)
    assert sorted(image.path.name for image in plan.val) == sorted(image.name for image in truth.split("val"))
    assert plan.classes == list(CLASSES) or plan.format == "voc"


def test_an_unsplit_dataset_is_split_by_itself_seeded_with_every_class_validated(tmp_path: Path) -> None:
    truth = write_yolo(tmp_path, n_images=40, size=SIZE, seed=5, negatives=5)
    plan = discover_detection(tmp_path, seed=0)
    again = discover_detection(tmp_path, seed=0)
    other = discover_detection(tmp_path, seed=1)
    assert [image.path for image in plan.val] == [image.path for image in again.val]
    assert {image.path for image in plan.val} != {image.path for image in other.val}
    assert abs(len(plan.val) - 40 * VAL_FRACTION) <= 3  # ~VAL_FRACTION of each group
    assert {image.path for image in plan.train}.isdisjoint(image.path for image in plan.val)
    assert len(plan.train) + len(plan.val) == 40
    assert {label for image in plan.val for label in image.labels} == {0, 1, 2}
    negatives = [image for image in plan.train + plan.val if not image.boxes]
    assert len(negatives) == truth.negatives() == 5
    assert any(not image.boxes for image in plan.val)  # negatives are validated on too
    assert plan.report.split_images == {"train": len(plan.train), "val": len(plan.val)}


def test_a_test_split_and_a_train_split_without_val(tmp_path: Path) -> None:
    write_yolo(tmp_path / "src", n_images=12, size=SIZE, seed=2)
    for split in ("train", "test"):
        for kind in ("images", "labels"):
            (tmp_path / "data" / kind / split).mkdir(parents=True)
    for n, image in enumerate(sorted((tmp_path / "src" / "images").iterdir())):
        split = "test" if n < 3 else "train"
        image.rename(tmp_path / "data" / "images" / split / image.name)
        label = tmp_path / "src" / "labels" / f"{image.stem}.txt"
        label.rename(tmp_path / "data" / "labels" / split / label.name)
    (tmp_path / "src" / "data.yaml").rename(tmp_path / "data" / "data.yaml")
    plan = discover_detection(tmp_path / "data", seed=0)
    assert plan.test is not None and len(plan.test) == 3
    assert plan.report.auto_split and len(plan.train) + len(plan.val) == 9
    assert plan.report.split_images == {"train": len(plan.train), "val": len(plan.val), "test": 3}


def test_yolo_without_class_names_names_classes_by_id(tmp_path: Path) -> None:
    write_yolo(tmp_path, n_images=12, size=SIZE)
    (tmp_path / "data.yaml").unlink()
    plan = discover_detection(tmp_path, seed=0)
    assert plan.classes == ["0", "1", "2"]
    assert "no_class_names" in codes(plan)


def test_boxes_slightly_outside_are_clipped_and_counted_absurd_ones_refused(tmp_path: Path) -> None:
    write_yolo(tmp_path, n_images=8, size=SIZE, negatives=0)
    label = tmp_path / "labels" / "img_0001.txt"
    # 72x48 image: a box from x=-4.5 to 13.5 (4.5 px out on the left), and one hanging off the bottom
    label.write_text(label.read_text() + "0 0.0625 0.5 0.25 0.5\n1 0.5 0.98 0.2 0.2\n")
    plan = discover_detection(tmp_path, seed=0)
    clipped = next(image for image in plan.train + plan.val if image.path.name == "img_0001.jpg")
    assert (0.0, 12.0, 13.5, 36.0) in [tuple(round(v, 3) for v in box) for box in clipped.boxes]
    assert all(0 <= x1 < x2 <= 72 and 0 <= y1 < y2 <= 48 for x1, y1, x2, y2 in clipped.boxes)
    assert plan.report.clipped_boxes == 2
    assert "2 box(es)" in codes(plan)["clipped_boxes"]

    label.write_text(label.read_text() + "2 1.1 0.5 0.4 0.5\n")  # a quarter inside
    message = refusal(tmp_path)
    assert message.startswith("boxes mostly outside their image")
    assert "labels/img_0001.txt line" in message and "72x48" in message and "fractions 0-1" in message

    label.write_text("0 0.5 0.5 0 0.2\n")
    assert refusal(tmp_path).startswith("boxes with no width or height: labels/img_0001.txt line 1: (36, ")


def test_malformed_yolo_lines_are_named_by_file_and_line_and_counted(tmp_path: Path) -> None:
    write_yolo(tmp_path, n_images=8, size=SIZE, negatives=0)
    for n in range(6):
        (tmp_path / "labels" / f"img_000{n}.txt").write_text("0 0.5 0.5 0.2 0.2\n\n0.5 0.5 oops\n")
    message = refusal(tmp_path)
    assert message.startswith("malformed label lines (expected `class cx cy w h`")
    assert "labels/img_0000.txt line 3: '0.5 0.5 oops'" in message
    assert message.endswith("and 3 more")


def test_unknown_yolo_class_ids(tmp_path: Path) -> None:
    write_yolo(tmp_path, n_images=8, size=SIZE, negatives=0)
    (tmp_path / "labels" / "img_0002.txt").write_text("7 0.5 0.5 0.2 0.2\n")
    message = refusal(tmp_path)
    assert message == "unknown class ids (the class names know ids 0-2): labels/img_0002.txt line 1: class 7"


def test_a_class_without_boxes_is_refused(tmp_path: Path) -> None:
    write_yolo(tmp_path, n_images=8, size=SIZE)
    (tmp_path / "data.yaml").write_text("names: [square, circle, triangle, hexagon]\n")
    message = refusal(tmp_path)
    assert message.startswith("class(es) with no boxes at all: hexagon")


def test_labels_without_images_and_images_without_labels_are_counted_not_fatal(tmp_path: Path) -> None:
    write_yolo(tmp_path, n_images=10, size=SIZE)
    (tmp_path / "labels" / "img_0004.txt").unlink()
    (tmp_path / "labels" / "img_0005.txt").unlink()
    (tmp_path / "images" / "img_0006.jpg").unlink()
    plan = discover_detection(tmp_path, seed=0)
    assert plan.report.images_without_labels == 2 and plan.report.labels_without_images == 1
    assert plan.report.images == 9  # YOLO: an image without a label file has no objects
    warned = codes(plan)
    assert warned["images_without_labels"].startswith("2 image(s) have no annotation")
    assert "images/img_0004.jpg" in warned["images_without_labels"]
    assert "labels/img_0006.txt" in warned["labels_without_images"]


def test_an_unreadable_image_is_skipped_with_a_warning(tmp_path: Path) -> None:
    write_coco(tmp_path, n_images=10, size=SIZE)
    (tmp_path / "img_0007.jpg").write_bytes(b"not a jpeg at all")
    plan = discover_detection(tmp_path, seed=0)
    assert plan.report.images == 9 and plan.report.unreadable_images == 1
    assert codes(plan)["corrupt_images"] == "skipped 1 unreadable image(s): img_0007.jpg"


def test_duplicate_boxes_are_counted_and_one_kept(tmp_path: Path) -> None:
    write_yolo(tmp_path, n_images=8, size=SIZE, negatives=0)
    label = tmp_path / "labels" / "img_0003.txt"
    first = label.read_text().splitlines()[0]
    label.write_text(label.read_text() + first + "\n")
    plan = discover_detection(tmp_path, seed=0)
    assert plan.report.duplicate_boxes == 1 and "duplicate_boxes" in codes(plan)


def coco_file(root: Path) -> tuple[Path, dict[str, Any]]:
    path = root / "_annotations.coco.json"
    return path, json.loads(path.read_text())


def test_coco_unknown_category_and_image_ids_name_the_annotation(tmp_path: Path) -> None:
    write_coco(tmp_path, n_images=8, size=SIZE)
    path, document = coco_file(tmp_path)
    document["annotations"][1]["category_id"] = 99
    path.write_text(json.dumps(document))
    assert refusal(tmp_path) == (
        "annotations with unknown category ids: _annotations.coco.json annotation id 2: category_id 99"
    )
    document["annotations"][1]["category_id"] = 3
    document["annotations"][2]["image_id"] = 500
    path.write_text(json.dumps(document))
    assert "unknown image ids: _annotations.coco.json annotation id 3: image_id 500" in refusal(tmp_path)


def test_malformed_coco_json_names_line_and_column(tmp_path: Path) -> None:
    write_coco(tmp_path, n_images=8, size=SIZE)
    path, document = coco_file(tmp_path)
    path.write_text(json.dumps(document, indent=1)[:-40])
    message = refusal(tmp_path)
    assert message.startswith("malformed JSON in _annotations.coco.json line ") and "column" in message
    del document["categories"]
    path.write_text(json.dumps(document))
    assert refusal(tmp_path) == (
        "_annotations.coco.json is not a COCO instances file: it has no categories list"
    )
    document["categories"] = []
    document["annotations"][0]["bbox"] = [1, 2, 3]
    path.write_text(json.dumps(document))
    assert "`bbox` must be [x, y, width, height]" in refusal(tmp_path)


def test_coco_details_crowd_parent_category_stated_size_missing_files(tmp_path: Path) -> None:
    write_coco(tmp_path, n_images=8, size=SIZE)
    path, document = coco_file(tmp_path)
    document["categories"].insert(0, {"id": 0, "name": "shape", "supercategory": "none"})  # Roboflow's
    document["annotations"][0]["iscrowd"] = 1
    resized, gone = document["images"][4], document["images"][5]  # the first 3 images are negatives
    resized["width"], resized["height"] = SIZE[0] * 2, SIZE[1] * 2
    gone["file_name"] = "gone.jpg"
    path.write_text(json.dumps(document))
    (tmp_path / "img_0005.jpg").rename(tmp_path / "stray.jpg")
    plan = discover_detection(tmp_path, seed=0)
    assert plan.classes == list(CLASSES)
    assert plan.report.crowd_boxes == 1 and plan.report.resized_annotations == 1
    assert plan.report.labels_without_images == 1 and plan.report.images_without_labels == 1
    assert "gone.jpg" in codes(plan)["labels_without_images"]
    assert "stray.jpg" in codes(plan)["images_without_labels"]
    halved = next(image for image in plan.train + plan.val if image.path.name == resized["file_name"])
    stated = [
        a["bbox"] for a in document["annotations"] if a["image_id"] == resized["id"] and not a["iscrowd"]
    ]
    assert sorted(box[:2] for box in halved.boxes) == sorted((x / 2, y / 2) for x, y, _, _ in stated)


def test_coco_files_of_untold_splits_are_refused(tmp_path: Path) -> None:
    write_coco(tmp_path, n_images=8, size=SIZE)
    path, _ = coco_file(tmp_path)
    (tmp_path / "copy.json").write_text(path.read_text())
    message = refusal(tmp_path)
    assert message.startswith(
        "2 COCO annotation files and no split told for _annotations.coco.json; copy.json: name each"
    )


def test_voc_malformed_and_unsafe_xml(tmp_path: Path) -> None:
    write_voc(tmp_path, n_images=8, size=SIZE)
    xml = tmp_path / "Annotations" / "img_0003.xml"
    good = xml.read_text()
    xml.write_text(good.replace("</annotation>", ""))
    message = refusal(tmp_path)
    assert message.startswith("malformed XML annotations: Annotations/img_0003.xml line 1 column")
    bomb = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bbbb">]>' + good.replace("JPEGImages", "&b;")
    xml.write_text(bomb)
    assert refusal(tmp_path) == (
        "XML annotations with a DOCTYPE or entities (refused): Annotations/img_0003.xml"
    )
    xml.write_text(good.replace("<xmin>", "<xmin>x"))
    assert "Annotations/img_0003.xml object 1" in refusal(tmp_path)


def test_voc_image_sets_leave_unlisted_annotations_out(tmp_path: Path) -> None:
    write_voc(tmp_path, n_images=12, size=SIZE, split=True)
    train_list = tmp_path / "ImageSets" / "Main" / "train.txt"
    train_list.write_text("".join(train_list.read_text().splitlines(keepends=True)[2:]))
    plan = discover_detection(tmp_path, seed=0)
    assert plan.report.images == 10 and "unlisted_annotations" in codes(plan)


def test_exif_rotated_images_have_their_turned_size(tmp_path: Path) -> None:
    write_yolo(tmp_path, n_images=8, size=SIZE)
    path = tmp_path / "images" / "img_0004.jpg"
    image = Image.open(path)
    exif = image.getexif()
    exif[0x0112] = 6  # shown turned 90°: 48 wide, 72 high
    image.save(path, exif=exif)
    plan = discover_detection(tmp_path, seed=0)
    turned = next(image for image in plan.train + plan.val if image.path == path)
    assert (turned.width, turned.height) == (SIZE[1], SIZE[0])


def test_not_a_detection_dataset(tmp_path: Path) -> None:
    (tmp_path / "cats").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "cats" / "a.jpg")
    assert detection_format(tmp_path) is None
    assert refusal(tmp_path).startswith(f"no detection dataset in {tmp_path}: expected YOLO")
    assert refusal(tmp_path / "missing") == f"dataset folder {tmp_path / 'missing'} does not exist"


def test_class_names_from_a_classes_txt_with_a_bom_and_windows_line_ends(tmp_path: Path) -> None:
    write_yolo(tmp_path, n_images=8, size=SIZE, names="classes_txt")
    (tmp_path / "classes.txt").write_bytes("\ufeffsquare\r\ncircle\r\ntriangle\r\n".encode())
    assert discover_detection(tmp_path, seed=0).classes == list(CLASSES)


def test_the_dataset_and_drawing_modules_import_no_torch() -> None:
    """The bot imports them to recognise, describe and draw detection datasets."""
    code = "import sys, training.detection.data, training.detection.draw; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- through the trainer: exit 3, one `error` event, no traceback -----------------------------------------


def _yolo_line(line: str) -> Any:
    def make(root: Path) -> None:
        write_yolo(root, n_images=8, size=SIZE, negatives=0)
        (root / "labels" / "img_0002.txt").write_text(line)

    return make


def _empty_class(root: Path) -> None:
    write_yolo(root, n_images=8, size=SIZE)
    (root / "data.yaml").write_text("names: [square, circle, triangle, hexagon]\n")


def _coco_edit(edit: Any) -> Any:
    def make(root: Path) -> None:
        write_coco(root, n_images=8, size=SIZE)
        path, document = coco_file(root)
        path.write_text(edit(document))

    return make


def _voc_broken(root: Path) -> None:
    write_voc(root, n_images=8, size=SIZE)
    (root / "Annotations" / "img_0005.xml").write_text("<annotation><object>")


def _set_category(document: dict[str, Any]) -> str:
    document["annotations"][0]["category_id"] = 42
    return json.dumps(document)


BAD_DATASETS = {
    "malformed line": (_yolo_line("0 0.5 0.5 0.2\n"), "malformed label lines"),
    "unknown class id": (_yolo_line("5 0.5 0.5 0.2 0.2\n"), "unknown class ids"),
    "box outside": (_yolo_line("0 1.4 0.5 0.4 0.4\n"), "boxes mostly outside their image"),
    "box without size": (_yolo_line("0 0.5 0.5 0.2 0\n"), "boxes with no width or height"),
    "empty class": (_empty_class, "class(es) with no boxes at all: hexagon"),
    "malformed JSON": (_coco_edit(lambda document: json.dumps(document)[:-1]), "malformed JSON in"),
    "unknown category": (_coco_edit(_set_category), "annotations with unknown category ids"),
    "malformed XML": (_voc_broken, "malformed XML annotations: Annotations/img_0005.xml line 1"),
    "no dataset": (lambda root: root.mkdir(), "no detection dataset in"),
}


@pytest.mark.parametrize("kind", BAD_DATASETS)
def test_the_trainer_refuses_each_bad_dataset_with_exit_3_and_one_message(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main

    make, expected = BAD_DATASETS[kind]
    make(tmp_path / "data")
    argv = ["--task", "detection", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
            "--device", "cpu", "--no-pretrained", "--epochs", "1"]  # fmt: skip
    assert main(argv) == 3
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert [event["type"] for event in events] == ["error"]
    assert events[0]["kind"] == "dataset" and events[0]["message"].startswith(expected)
    assert "Traceback" not in captured.err


def test_python_m_training_exits_3_without_a_traceback(tmp_path: Path) -> None:
    _yolo_line("0 0.5 oops\n")(tmp_path / "data")
    command = [sys.executable, "-m", "training", "--task", "detection", "--data", str(tmp_path / "data"),
               "--out", str(tmp_path / "out"), "--device", "cpu", "--no-pretrained"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 3
    (event,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert event["type"] == "error" and event["kind"] == "dataset"
    assert event["message"] == (
        "malformed label lines (expected `class cx cy w h`, normalised 0-1): labels/img_0002.txt line 1: "
        "'0 0.5 oops'"
    )
    assert "Traceback" not in result.stderr
