"""Boxes drawn on images (training/detection/draw.py): where they should be, in their class's colour,
tagged with class and score; the validation grid of true and predicted boxes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.detection.data import BoxedImage
from training.detection.draw import (
    GRID_BACKGROUND,
    GRID_IMAGES,
    GRID_TILE,
    class_colour,
    draw_boxes,
    line_width,
    save_prediction_grid,
)

CLASSES = ["square", "circle", "triangle"]
BLACK = (0, 0, 0)


@dataclass
class Predicted:  # as the trainer's coco_eval.Detections holds them
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


def predicted(boxes: list[tuple[float, ...]], labels: list[int], scores: list[float]) -> Predicted:
    return Predicted(np.array(boxes, dtype=np.float32), np.array(scores), np.array(labels))


def truth(boxes: list[tuple[float, float, float, float]], labels: list[int]) -> BoxedImage:
    return BoxedImage(Path("x.jpg"), 200, 160, tuple(boxes), tuple(labels))


def close(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def test_a_predicted_box_is_a_thick_outline_inside_its_box_with_a_tag_above() -> None:
    image = Image.new("RGB", (200, 160), BLACK)
    found = predicted([(40, 60, 120, 140)], [1], [0.87])
    drawn = draw_boxes(image, found, CLASSES, found.scores)
    colour, width = class_colour(1), line_width(200, "prediction")
    assert width >= 4 and image.getpixel((40, 100)) == BLACK  # the input is left as it was
    for x in (40, 40 + width - 1, 119 - width + 1, 119):
        assert drawn.getpixel((x, 100)) == colour
    for x, y in ((40 + width, 100), (80, 100), (120, 100), (39, 100), (80, 141)):
        assert drawn.getpixel((x, y)) == BLACK, (x, y)
    tag = [drawn.getpixel((x, y)) for x in range(40, 100) for y in range(40, 60)]
    assert tag.count(colour) > 200 and any(pixel != colour for pixel in tag)  # filled, with text


def test_true_boxes_are_thin_untagged_and_each_class_has_its_colour() -> None:
    image = Image.new("RGB", (200, 160), BLACK)
    drawn = draw_boxes(image, truth([(10, 10, 60, 60), (100, 80, 180, 150)], [0, 2]), CLASSES, style="truth")
    assert line_width(200, "truth") == 2 < line_width(200, "prediction")
    assert drawn.getpixel((11, 30)) == class_colour(0) and drawn.getpixel((12, 30)) == BLACK
    assert drawn.getpixel((178, 100)) == class_colour(2) and drawn.getpixel((177, 100)) == BLACK
    assert drawn.getpixel((120, 75)) == BLACK  # no tag above
    assert len({class_colour(label) for label in range(10)}) == 10


def test_a_tag_with_no_room_above_goes_inside_and_stays_in_the_image() -> None:
    image = Image.new("RGB", (100, 80), BLACK)
    drawn = draw_boxes(image, truth([(70, 0, 100, 40)], [0]), CLASSES, [0.5])
    colour = class_colour(0)
    assert drawn.getpixel((72, 1)) == colour  # the tag's fill, inside the box
    assert drawn.getpixel((60, 3)) == colour  # moved left: "square 0.50" is wider than the box


def test_the_grid_shows_validation_images_with_true_and_confident_predicted_boxes(tmp_path: Path) -> None:
    items = []
    for n in range(20):  # the first GRID_IMAGES are shown
        path = tmp_path / f"{n}.png"
        Image.new("RGB", (64, 32), (40, 40, 40)).save(path)  # 4x into a 256 tile, 64 px from its top
        item = BoxedImage(path, 64, 32, ((8.0, 8.0, 24.0, 24.0),), (n % 3,))
        found = predicted([(32, 4, 60, 28), (40, 10, 50, 20)], [(n + 1) % 3, 2], [0.9, 0.2])
        items.append((item, found))
    path = save_prediction_grid(tmp_path / "val_predictions.jpg", items, CLASSES, score_threshold=0.5)
    grid = Image.open(path)
    gap = 4
    legend = grid.height - GRID_IMAGES // 4 * (GRID_TILE + gap) - gap
    assert grid.width == 4 * GRID_TILE + 5 * gap and 8 <= legend <= 40
    for n in (0, 5, GRID_IMAGES - 1):
        row, column = divmod(n, 4)
        left, top = gap + column * (GRID_TILE + gap), legend + gap + row * (GRID_TILE + gap)
        assert close(grid.getpixel((left + 8 * 4, top + 64 + 16 * 4)), class_colour(n % 3))  # truth edge
        assert close(grid.getpixel((left + 28 * 4, top + 64 + 16 * 4)), (40, 40, 40))  # between the boxes
        assert close(grid.getpixel((left + 32 * 4 + 1, top + 64 + 16 * 4)), class_colour((n + 1) % 3))
        assert close(
            grid.getpixel((left + 40 * 4 + 1, top + 64 + 15 * 4)), (40, 40, 40)
        )  # under 0.5: not drawn
        assert close(grid.getpixel((left + 10, top + 10)), GRID_BACKGROUND)  # letterbox
