"""Dataset discovery, validation, the train/val split, image decoding and the in-memory uint8 cache."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from training.contract import IMAGE_EXTENSIONS, class_folders, image_files, split_groups, split_layout
from training.decoded_cache import CacheUnavailable, DecodedCache, Decoder, Variant
from training.emit import PreparingReporter
from training.errors import DatasetError
from training.events import ImagesFrom
from training.gpu_decode import decode_into_on_device, device_decoding_pays

log = logging.getLogger(__name__)

RESIZE_INTERPOLATION = "bicubic"  # every resize here; recorded with the model
TRAIN_CACHE_SCALE = 1.14  # train images are cached a little larger than image_size so crops keep detail
IMBALANCE_RATIO = 5.0  # warn when the largest class has this many times the images of the smallest
TINY_CLASS = 5  # warn when a class has fewer training images than this

Sample = tuple[Path, int]


@dataclass
class DatasetPlan:
    """Which files train, validate and test, with the class names; nothing decoded yet."""

    root: Path
    classes: list[str]
    train: list[Sample]
    val: list[Sample]
    test: list[Sample] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (warning code, message)

    def total(self) -> int:
        return len(self.train) + len(self.val) + len(self.test)

    def counts(self) -> dict[str, int]:
        counts = {"train": len(self.train), "val": len(self.val)}
        if self.test:
            counts["test"] = len(self.test)
        return counts


def _class_images(split_dir: Path) -> dict[str, list[Path]]:
    """ImageFolder listing: class folder name -> sorted image files found anywhere below it."""
    return {class_dir.name: image_files(class_dir) for class_dir in class_folders(split_dir)}


def _check_classes(listing: dict[str, list[Path]], where: Path) -> None:
    if len(listing) < 2:
        found = ", ".join(listing) or "none"
        raise DatasetError(
            f"{where} needs at least 2 class folders with images inside; found {len(listing)} ({found})"
        )
    empty = [name for name, files in listing.items() if not files]
    if len(empty) == len(listing):
        raise DatasetError(f"no images found in {where} (looked for {', '.join(sorted(IMAGE_EXTENSIONS))})")
    if empty:
        raise DatasetError(f"class folder(s) with no images in {where}: {', '.join(empty)}")


def _check_same_classes(train: dict[str, list[Path]], other: dict[str, list[Path]], split: str) -> None:
    missing, extra = sorted(set(train) - set(other)), sorted(set(other) - set(train))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing in {split}: {', '.join(missing)}")
        if extra:
            parts.append(f"not in train: {', '.join(extra)}")
        raise DatasetError(f"{split} classes don't match train classes ({'; '.join(parts)})")


def _labelled(listing: dict[str, list[Path]], classes: list[str]) -> list[Sample]:
    index = {name: i for i, name in enumerate(classes)}
    return [(path, index[name]) for name, files in listing.items() for path in files]


def _stratified_split(
    listing: dict[str, list[Path]], classes: list[str], seed: int
) -> tuple[list[Sample], list[Sample], list[str]]:
    """Per class, contract.split_groups puts ~VAL_FRACTION in val; a class of one image stays in train."""
    train, val, unsplit = [], [], []
    halves = split_groups([listing[name] for name in classes], seed)
    for label, (name, (kept, held)) in enumerate(zip(classes, halves, strict=True)):
        if not held:
            unsplit.append(name)
        val += [(p, label) for p in held]
        train += [(p, label) for p in kept]
    return train, val, unsplit


def discover(root: Path, seed: int) -> DatasetPlan:
    """Check the dataset layout and decide the splits; raises DatasetError naming the problem."""
    if not root.exists():
        raise DatasetError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"dataset path {root} is not a folder")
    layout = split_layout(root)
    warnings: list[tuple[str, str]] = []
    test: list[Sample] = []
    if layout.train is not None:
        train_listing = _class_images(layout.train)
        _check_classes(train_listing, layout.train)
        classes = sorted(train_listing)
        val_dir = layout.val
        if val_dir is None:
            train, val, unsplit = _stratified_split(train_listing, classes, seed)
        else:
            val_listing = _class_images(val_dir)
            _check_same_classes(train_listing, val_listing, val_dir.name)
            _check_classes(val_listing, val_dir)
            train, val, unsplit = _labelled(train_listing, classes), _labelled(val_listing, classes), []
        if layout.test is not None:
            test_listing = _class_images(layout.test)
            if unknown := sorted(set(test_listing) - set(classes)):
                raise DatasetError(f"test classes not in train: {', '.join(unknown)}")
            test = _labelled(test_listing, classes)
    else:
        train_listing = _class_images(root)
        _check_classes(train_listing, root)
        classes = sorted(train_listing)
        train, val, unsplit = _stratified_split(train_listing, classes, seed)
    if unsplit:
        warnings.append(
            (
                "tiny_class",
                f"class(es) with a single image stay in train only, not validated: {', '.join(unsplit)}",
            )
        )
    if not val:
        raise DatasetError("not enough images to validate: every class needs at least 2 images")
    warnings += _balance_warnings([label for _, label in train], classes)
    return DatasetPlan(root=root, classes=classes, train=train, val=val, test=test, warnings=warnings)


def _balance_warnings(labels: list[int], classes: list[str]) -> list[tuple[str, str]]:
    counts = np.bincount(labels, minlength=len(classes))
    warnings = []
    tiny = [f"{classes[i]} ({counts[i]})" for i in range(len(classes)) if counts[i] < TINY_CLASS]
    if tiny:
        warnings.append(
            ("tiny_class", f"very few training images in: {', '.join(tiny)}; accuracy will be noisy")
        )
    if counts.min() > 0 and counts.max() / counts.min() >= IMBALANCE_RATIO:
        big, small = classes[int(counts.argmax())], classes[int(counts.argmin())]
        warnings.append(
            (
                "class_imbalance",
                f"classes are imbalanced: {big} has {counts.max()} training images, "
                f"{small} has {counts.min()}",
            )
        )
    return warnings


# --- decoding -----------------------------------------------------------------------------------------


def open_rgb(path: Path, min_short_side: int | None) -> Image.Image:
    """Decode to RGB with EXIF orientation applied; with `min_short_side`, JPEGs decode at a reduced scale
    when much larger (faster, but not the pixels a full decode gives)."""
    with Image.open(path) as opened:
        if min_short_side is not None:
            opened.draft("RGB", (min_short_side, min_short_side))
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return image.convert("RGB")


def _resize_short_side(image: Image.Image, short_side: int) -> Image.Image:
    """torchvision's Resize(short_side): the long side scaled and truncated, as timm's eval transform does."""
    width, height = image.size
    if width <= height:
        size = (short_side, int(short_side * height / width))
    else:
        size = (int(short_side * width / height), short_side)
    return image.resize(size, Image.Resampling[RESIZE_INTERPOLATION.upper()])


def _center_crop(image: Image.Image, side: int) -> Image.Image:
    """torchvision's CenterCrop: the offsets rounded, not floored."""
    width, height = image.size
    left, top = round((width - side) / 2.0), round((height - side) / 2.0)
    return image.crop((left, top, left + side, top + side))


def _to_chw(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def train_cache_side(image_size: int) -> int:
    return round(image_size * TRAIN_CACHE_SCALE)


def load_train_image(path: Path, image_size: int) -> torch.Tensor:
    """uint8 CHW square of train_cache_side(image_size): short side resized, centre cropped."""
    side = train_cache_side(image_size)
    return _to_chw(_center_crop(_resize_short_side(open_rgb(path, side), side), side))


def load_eval_image(path: Path, image_size: int, crop_pct: float) -> torch.Tensor:
    """Validation/prediction preprocessing, pixel for pixel timm's eval transform
    (`create_transform(**resolve_data_config(model=...))`): a full decode, short side resized to
    floor(image_size / crop_pct), centre crop image_size. uint8 CHW."""
    short_side = math.floor(image_size / crop_pct)
    return _to_chw(_center_crop(_resize_short_side(open_rgb(path, None), short_side), image_size))


# --- image sources ------------------------------------------------------------------------------------


class CachedImages:
    """All images decoded once into one uint8 NCHW tensor (on the CPU or the training device)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device) -> CachedImages:
        return CachedImages(self.images.to(device), self.labels.to(device))

    def batches(
        self, batch_size: int, order: torch.Tensor | None = None
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        order = torch.arange(len(self)) if order is None else order
        order = order.to(self.images.device)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            yield self.images[index], self.labels[index]


class StreamedImages(torch.utils.data.Dataset):
    """Fallback for datasets over the memory budget: decode from disk every epoch in DataLoader workers."""

    def __init__(
        self,
        samples: Sequence[Sample],
        decode: Callable[[Path], torch.Tensor],
        workers: int,
        pin: bool,
    ) -> None:
        self.samples, self.decode, self.workers, self.pin = list(samples), decode, workers, pin
        self.labels = torch.tensor([label for _, label in self.samples])

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        # check_decodable let only files that decode through; one that fails now changed on disk since:
        # train the next sample in its place rather than a blank image under this one's label
        for offset in range(len(self.samples)):
            path, label = self.samples[(index + offset) % len(self.samples)]
            try:
                return self.decode(path), label
            except Exception as exc:
                log.warning("skipping unreadable image %s: %s", path, exc)
        raise DatasetError("no image of the dataset can be decoded any more")

    def batches(
        self, batch_size: int, order: torch.Tensor | None = None
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        loader = torch.utils.data.DataLoader(
            self,
            batch_size=batch_size,
            sampler=None if order is None else order.tolist(),
            num_workers=self.workers,
            pin_memory=self.pin,
            persistent_workers=False,
            prefetch_factor=4 if self.workers > 0 else None,
        )
        yield from loader


ImageSource = CachedImages | StreamedImages


def decode_into(
    samples: Sequence[Sample],
    decode: Callable[[Path], torch.Tensor],
    out: torch.Tensor,
    threads: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[int], list[Path]]:
    """Decode every image once with PIL (threads: it releases the GIL while decoding) straight into the
    rows of `out` (memory or a mapped file). Unreadable files are skipped: the rows hold the readable
    images in order; their labels and the skipped files are returned.
    `progress(n)` hears of every n files done."""

    def safe_decode(path: Path) -> torch.Tensor | None:
        try:
            return decode(path)
        except Exception as exc:
            log.warning("skipping unreadable image %s: %s", path, exc)
            return None

    labels: list[int] = []
    skipped: list[Path] = []
    if progress is not None:
        progress(0)  # the phase has begun, before the first image is done
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        decoded = pool.map(safe_decode, [path for path, _ in samples])
        for image, (path, label) in zip(decoded, samples, strict=True):
            if image is None:
                skipped.append(path)
            else:
                out[len(labels)] = image
                labels.append(label)
            if progress is not None:
                progress(1)
    return labels, skipped


def check_decodable(samples: Sequence[Sample], threads: int) -> tuple[list[Sample], list[Path]]:
    """The streaming path's readability check: decode each file once at the smallest scale PIL offers
    (a JPEG at 1/8 size), which reads every byte, so a truncated or corrupt file is skipped with the same
    warning as on the cached path instead of failing mid-epoch. A header check alone passes them."""

    def decodes(path: Path) -> bool:
        try:
            with Image.open(path) as image:
                image.draft("RGB", (1, 1))
                image.load()
            return True
        except Exception as exc:
            log.warning("skipping unreadable image %s: %s", path, exc)
            return False

    readable, skipped = [], []
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for ok, sample in zip(pool.map(decodes, [path for path, _ in samples]), samples, strict=True):
            if ok:
                readable.append(sample)
            else:
                skipped.append(sample[0])
    return readable, skipped


def available_memory_bytes(meminfo: Path = Path("/proc/meminfo")) -> int:
    """Memory a new allocation can get: Linux's MemAvailable, which counts reclaimable page cache.
    Free pages alone are few on a long-running host, which would push every run off the cache."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 4 << 30


@dataclass
class PreparedData:
    train: ImageSource
    val: ImageSource
    test: ImageSource | None
    skipped: list[Path]
    images_from: ImagesFrom  # every split mapped from the disk cache; one written now; in RAM; from disk
    seconds: float  # spent getting the splits ready
    cache_note: str | None = None  # why the disk cache was not used, when it was asked for

    @property
    def cached(self) -> bool:
        return self.images_from != "streaming"


@dataclass(frozen=True)
class _Split:
    name: str
    samples: list[Sample]
    variant: Variant
    decode: Callable[[Path], torch.Tensor]  # one file with PIL (also what the streaming path uses)
    fill: Decoder  # every file into the rows of a tensor: PIL in threads, or decode_jpeg on the device


def _splits(
    plan: DatasetPlan, image_size: int, crop_pct: Callable[[], float], device: torch.device, threads: int
) -> Iterator[_Split]:
    """Train first: its preprocessing does not depend on the model, which may still be being built."""
    side = train_cache_side(image_size)
    decode_train = partial(load_train_image, image_size=image_size)
    on_device = device_decoding_pays(plan.train, decode_train, device, side, side, threads)
    decoder = "decode_jpeg" if on_device else "pil"

    def fill(decode: Callable[[Path], torch.Tensor], short_side: int) -> Decoder:
        if on_device:
            return lambda samples, out, progress: decode_into_on_device(
                samples, decode, out, device, short_side, threads, progress
            )
        return lambda samples, out, progress: decode_into(samples, decode, out, threads, progress)

    yield _Split(
        "train",
        plan.train,
        Variant("train", side, image_size, decoder=decoder),
        decode_train,
        fill(decode_train, side),
    )
    for name, samples in (("val", plan.val), ("test", plan.test)):
        if samples:
            pct = crop_pct()
            decode_eval = partial(load_eval_image, image_size=image_size, crop_pct=pct)
            variant = Variant("eval", image_size, image_size, pct, decoder)
            yield _Split(name, samples, variant, decode_eval, fill(decode_eval, int(image_size / pct)))


def prepare(
    plan: DatasetPlan,
    image_size: int,
    crop_pct: Callable[[], float],
    device: torch.device,
    threads: int,
    budget_bytes: int | None = None,
    reporter: PreparingReporter | None = None,
    cache: DecodedCache | None = None,
) -> PreparedData:
    """Every split from the persistent decoded cache when there is one (mapped; decoded into it on a miss),
    else decoded once into memory when it fits the budget (half the available RAM by default), else
    streamed from disk each epoch. `crop_pct()` (the model's eval crop) is asked for after the train split.
    `reporter` hears of every image made ready (decode phase) and of cache waits."""
    side = train_cache_side(image_size)
    needed = (
        len(plan.train) * 3 * side * side + (len(plan.val) + len(plan.test)) * 3 * image_size * image_size
    )
    budget = available_memory_bytes() // 2 if budget_bytes is None else budget_bytes
    in_memory = needed <= budget
    advance = reporter.counter("decode", plan.total()) if reporter is not None else None
    waiting = None
    if reporter is not None:
        waiting = partial(reporter.report, "cache", message="another run is decoding these images")
    sources: dict[str, ImageSource] = {}
    origins: set[str] = set()
    skipped: list[Path] = []
    note = None
    seconds = 0.0  # spent on images, not on waiting for the model's crop_pct between splits
    for split in _splits(plan, image_size, crop_pct, device, threads):
        split_started = time.perf_counter()
        source: ImageSource | None = None
        if cache is not None and note is None:
            try:
                found = cache.load_or_build(
                    plan.root, split.name, split.samples, split.variant, split.fill, advance, waiting
                )
            except CacheUnavailable as exc:
                note = str(exc)
                log.warning("not using the decoded cache: %s", note)
            else:
                if found.hit and advance is not None:
                    advance(len(split.samples))
                source, bad = CachedImages(found.images, found.labels), found.skipped
                origins.add("cache_hit" if found.hit else "cache_built")
        if source is None and in_memory:
            log.info("decoding %d %s images once into memory", len(split.samples), split.name)
            source, bad = _into_memory(split.samples, split.variant.side, split.fill, advance)
            origins.add("memory")
        elif source is None:
            log.info(
                "dataset needs %.0f MB, over the %.0f MB memory budget: streaming %s from disk",
                needed / 1e6,
                budget / 1e6,
                split.name,
            )
            readable, bad = check_decodable(split.samples, threads)
            source = StreamedImages(readable, split.decode, threads, device.type == "cuda")
            origins.add("streaming")
        sources[split.name], skipped = source, skipped + bad
        seconds += time.perf_counter() - split_started
    decoded = {name: source for name, source in sources.items() if isinstance(source, CachedImages)}
    all_decoded = len(decoded) == len(sources)
    if all_decoded and device.type == "cuda" and needed < 0.25 * torch.cuda.mem_get_info(device)[0]:
        sources = {name: source.to(device) for name, source in decoded.items()}
    _check_learnable(plan, sources, skipped)
    images_from = next(o for o in ("streaming", "memory", "cache_built", "cache_hit") if o in origins)
    return PreparedData(
        sources["train"], sources["val"], sources.get("test"), skipped, images_from, seconds, note
    )


def decode_all(
    samples: Sequence[Sample],
    decode: Callable[[Path], torch.Tensor],
    side: int,
    threads: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[CachedImages, list[Path]]:
    """Every image decoded once with PIL into memory (for use outside a run, e.g. an export's check)."""
    return _into_memory(
        samples, side, lambda rows, out, advance: decode_into(rows, decode, out, threads, advance), progress
    )


def _into_memory(
    samples: Sequence[Sample], side: int, fill: Decoder, progress: Callable[[int], None] | None
) -> tuple[CachedImages, list[Path]]:
    """Decoded straight into one preallocated tensor, so the cache never takes twice its size."""
    images = torch.empty(len(samples), 3, side, side, dtype=torch.uint8)
    labels, skipped = fill(samples, images, progress)
    return CachedImages(images[: len(labels)], torch.tensor(labels, dtype=torch.long)), skipped


def _check_learnable(plan: DatasetPlan, sources: dict[str, ImageSource], skipped: list[Path]) -> None:
    for split in ("train", "val"):
        if len(sources[split]) == 0:
            raise DatasetError(
                f"no readable image in the {split} split ({len(skipped)} file(s) could not be decoded)"
            )
    trained_classes = set(sources["train"].labels.tolist())
    unlearnable = [name for index, name in enumerate(plan.classes) if index not in trained_classes]
    if unlearnable:
        raise DatasetError(
            f"no readable training image left in class(es) {', '.join(unlearnable)} "
            f"({len(skipped)} file(s) could not be decoded)"
        )
