"""Boxes drawn on images: a prediction's boxes with their class and score (`python -m training.predict
--draw DIR`), and val_predictions.jpg, a grid of validation images with their true and predicted boxes.
PIL only, no torch: anything that holds boxes as numbers can draw them.

The look: each class has its own colour (class_colour); a predicted box is a thick outline with a tag
above it, "class 0.87", in the class's colour; a true box is a thin outline of the same colour, untagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from PIL import Image, ImageDraw, ImageFont, ImageOps

from training.detection.data import BoxedImage

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the image, x2 and y2 exclusive
RGB = tuple[int, int, int]

# bright, distinct colours that show on dark and light images (Material Design's accents), cycled
PALETTE: tuple[RGB, ...] = (
    (255, 179, 0),
    (0, 190, 255),
    (255, 64, 129),
    (118, 255, 3),
    (213, 0, 249),
    (255, 109, 0),
    (29, 233, 182),
    (255, 234, 0),
    (41, 121, 255),
    (244, 67, 54),
    (174, 234, 0),
    (101, 31, 255),
    (0, 200, 83),
    (197, 17, 98),
)
GRID_TILE = 256  # each grid image is scaled to fit a square of this side
GRID_COLUMNS = 4
GRID_IMAGES = 16  # validation images shown
GRID_BACKGROUND: RGB = (24, 24, 24)
LEGEND = "thin: true box, thick: predicted"  # fits above a single tile


class Boxes(Protocol):
    """Boxes of one image, x1, y1, x2, y2 in its pixels, with their class indices: a BoxedImage (the
    truth), coco_eval.Detections (numpy arrays), or lists."""

    @property
    def boxes(self) -> Iterable[Iterable[float]]: ...

    @property
    def labels(self) -> Iterable[int]: ...


class ScoredBoxes(Boxes, Protocol):
    """Predicted boxes, with their scores (0-1)."""

    @property
    def scores(self) -> Iterable[float]: ...


def class_colour(label: int) -> RGB:
    return PALETTE[label % len(PALETTE)]


def _text_colour(background: RGB) -> RGB:
    red, green, blue = background
    return (0, 0, 0) if 0.299 * red + 0.587 * green + 0.114 * blue > 140 else (255, 255, 255)


def _font(image_side: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(10, round(image_side / 28)))


def line_width(image_side: int, style: Literal["prediction", "truth"]) -> int:
    """Outline width in pixels for an image whose longer side is `image_side`."""
    thick = max(4, round(image_side / 150))
    return thick if style == "prediction" else max(2, thick // 2)


def draw_boxes(
    image: Image.Image,
    found: Boxes,
    classes: Sequence[str],
    scores: Iterable[float] | None = None,
    style: Literal["prediction", "truth"] = "prediction",
    offset: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
) -> Image.Image:
    """A copy of `image` (as RGB) with the boxes drawn, each at box * scale + offset: predictions thick
    and tagged "class" or "class score", truth thin and untagged. Outlines lie inside their boxes; a tag
    sits above its box's left corner (inside the box when there is no room above, moved left when it
    would leave the image). E.g. `draw_boxes(image, prediction, classes, prediction.scores)`."""
    out = image.convert("RGB")  # a copy, also when already RGB
    draw = ImageDraw.Draw(out)
    side = max(out.size)
    width = line_width(side, style)
    font = _font(side)
    boxes, labels = [list(box) for box in found.boxes], list(found.labels)
    listed: list[float | None] = list(scores) if scores is not None else [None] * len(boxes)
    for (x1, y1, x2, y2), label, score in zip(_placed(boxes, offset, scale), labels, listed, strict=True):
        colour = class_colour(int(label))
        draw.rectangle((x1, y1, max(x1, x2 - 1), max(y1, y2 - 1)), outline=colour, width=width)
        if style == "truth":
            continue
        text = classes[int(label)] + ("" if score is None else f" {float(score):.2f}")
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tag_w, tag_h = round(right - left) + 4, round(bottom - top) + 4
        tag_x = max(0, min(x1, out.width - tag_w))
        tag_y = y1 - tag_h if y1 - tag_h >= 0 else y1
        draw.rectangle((tag_x, tag_y, tag_x + tag_w - 1, tag_y + tag_h - 1), fill=colour)
        draw.text((tag_x + 2 - left, tag_y + 2 - top), text, fill=_text_colour(colour), font=font)
    return out


def _placed(boxes: list[list[float]], offset: tuple[float, float], scale: float) -> list[tuple[int, ...]]:
    dx, dy = offset
    return [
        (round(x1 * scale + dx), round(y1 * scale + dy), round(x2 * scale + dx), round(y2 * scale + dy))
        for x1, y1, x2, y2 in (map(float, box) for box in boxes)
    ]


@dataclass(frozen=True)
class _Kept:
    """The predictions at or above the grid's score threshold."""

    boxes: list[list[float]]
    labels: list[int]
    scores: list[float]


def _confident(predicted: ScoredBoxes, threshold: float) -> _Kept:
    kept = [
        (list(map(float, box)), int(label), float(score))
        for box, label, score in zip(predicted.boxes, predicted.labels, predicted.scores, strict=True)
        if float(score) >= threshold
    ]
    return _Kept([k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept])


def _open(item: BoxedImage, side: int) -> Image.Image:
    """The item's image as the trainer sees it (EXIF orientation applied), decoded at a reduced scale
    when much larger than `side` (JPEG draft mode)."""
    with Image.open(item.path) as opened:
        opened.draft("RGB", (side, side))
        return ImageOps.exif_transpose(opened).convert("RGB")


def grid_tile(
    item: BoxedImage, predicted: ScoredBoxes, classes: Sequence[str], threshold: float
) -> Image.Image:
    """One grid cell: the item's image scaled to fit GRID_TILE (centred on the background), its true boxes
    thin, the predictions scoring at least `threshold` thick with their scores, at the tile's scale."""
    scale = GRID_TILE / max(item.width, item.height)
    size = (max(1, round(item.width * scale)), max(1, round(item.height * scale)))
    offset = ((GRID_TILE - size[0]) // 2, (GRID_TILE - size[1]) // 2)
    tile = Image.new("RGB", (GRID_TILE, GRID_TILE), GRID_BACKGROUND)
    tile.paste(_open(item, GRID_TILE).resize(size, Image.Resampling.BILINEAR), offset)
    tile = draw_boxes(tile, item, classes, style="truth", offset=offset, scale=scale)
    kept = _confident(predicted, threshold)
    return draw_boxes(tile, kept, classes, kept.scores, offset=offset, scale=scale)


def save_prediction_grid(
    path: Path,
    items: Sequence[tuple[BoxedImage, ScoredBoxes]],
    classes: Sequence[str],
    score_threshold: float = 0.0,
    limit: int = GRID_IMAGES,
) -> Path:
    """val_predictions.jpg: the first `limit` (validation image, its predictions) pairs, GRID_COLUMNS to a
    row under a line saying which outline is which: each image's true boxes (the BoxedImage's) thin, its
    predictions scoring at least `score_threshold` thick with their scores. Predicted boxes are in the
    original image's pixels, as the BoxedImage's. Returns `path`."""
    items = items[:limit]
    if not items:
        raise ValueError("a prediction grid needs at least one image")
    columns = min(GRID_COLUMNS, len(items))
    rows = -(-len(items) // columns)
    font = _font(GRID_TILE * 3 // 2)
    legend_h = round(ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), LEGEND, font=font)[3]) + 8
    gap = 4
    sheet = Image.new(
        "RGB",
        (columns * GRID_TILE + (columns + 1) * gap, legend_h + rows * GRID_TILE + (rows + 1) * gap),
        GRID_BACKGROUND,
    )
    ImageDraw.Draw(sheet).text((gap, 4), LEGEND, fill=(230, 230, 230), font=font)
    for index, (item, predicted) in enumerate(items):
        row, column = divmod(index, columns)
        position = (gap + column * (GRID_TILE + gap), legend_h + gap + row * (GRID_TILE + gap))
        sheet.paste(grid_tile(item, predicted, classes, score_threshold), position)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=90, subsampling=0)  # full-resolution colour: thin outlines keep theirs
    return path
