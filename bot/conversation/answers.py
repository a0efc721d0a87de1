"""The rule answers to questions, in the thread's language, from facts the bot has (never invented).

Each topic of parsing.TOPICS has an answer here; what cannot be known is said plainly ("no basis yet").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversation import messages as msg
from bot.conversation.datasets import DatasetSummary
from bot.conversation.facts import FactsProvider, Throughput, Weights, device_kind, gpu_limit
from bot.conversation.parsing import Question
from bot.conversation.tasks import DETECTION, task_defaults, task_of
from training.contract import DEFAULT_DETECTOR

SMALL_DATA_IMAGES = 5_000
LARGE_DATA_IMAGES = 50_000
SMALL_MODELS = {"cpu": "resnet18", "cuda": "resnet18"}
MEDIUM_MODELS = {"cpu": "resnet34", "cuda": "resnet50"}
LARGE_MODELS = {"cpu": "resnet50", "cuda": "convnext_tiny"}
EPOCHS_MANY = {True: 40, False: 150}  # above this for pretrained / from scratch: "more than needed"
EPOCHS_FEW = {True: 3, False: 20}


@dataclass(frozen=True)
class AnswerContext:
    language: str
    draft: dict[str, Any]
    summary: DatasetSummary | None
    facts: FactsProvider
    missing: list[str]


def duration_text(language: str, seconds: float) -> str:
    minutes = round(seconds / 60)
    if seconds < 90:
        return msg.text(language, "seconds", n=max(1, round(seconds)))
    if minutes < 90:
        return msg.text(language, "minutes", n=minutes)
    return msg.text(language, "hours", h=minutes // 60, m=minutes % 60)


def _value(ctx: AnswerContext, name: str) -> Any:
    return ctx.draft.get(name, task_defaults(task_of(ctx.draft)).get(name))


def _model(ctx: AnswerContext) -> str:
    return str(_value(ctx, "model"))


def _weights_line(language: str, weights: Weights) -> str:
    return msg.text(language, f"weights_{weights.status}", model=weights.model)


def estimate(ctx: AnswerContext, epochs: int) -> tuple[float, Throughput] | None:
    """(seconds, basis) for `epochs` of the draft's model on the dataset, or None without a basis."""
    if ctx.summary is None:
        return None
    throughput = ctx.facts.throughput(_model(ctx), int(_value(ctx, "image_size")))
    if throughput is None:
        return None
    return throughput.run_seconds(ctx.summary.total_images, epochs), throughput


def _measured_estimate(ctx: AnswerContext, epochs: int) -> tuple[float, Throughput] | None:
    """With no past run to go by: a quick measurement on this host, when the facts can take one."""
    measure = getattr(ctx.facts, "measure_throughput", None)
    if ctx.summary is None or not callable(measure):
        return None
    size, batch = int(_value(ctx, "image_size")), int(_value(ctx, "batch_size"))
    found: Throughput | None = measure(_model(ctx), size, batch)
    return (found.run_seconds(ctx.summary.total_images, epochs), found) if found is not None else None


# What an epoch of a detector costs per image (train + val) when this host has no detection history: a
# stated guess, never shown as a measurement. Faster R-CNN R50-FPN at 640 px: ~0.06 s on a GPU (the
# torchvision reference's COCO schedule, ~2 images per 0.1 s step), ~4 s on a CPU (~130 GFLOPs forward,
# about 3x that to train); the MobileNet/SSDlite detectors about a fifth of it. Scaled by image area.
DETECTION_GUESS_SECONDS = {"cuda": 0.06, "cpu": 4.0}
DETECTION_GUESS_SIZE = 640
LIGHT_DETECTOR_SHARE = 0.2


def detection_guess(ctx: AnswerContext, epochs: int) -> tuple[float, float] | None:
    """(seconds, seconds per image) of a rough guess for a detection run with no history here; None for
    a classification run or without a dataset."""
    if ctx.summary is None or task_of(ctx.draft) != DETECTION:
        return None
    per_image = DETECTION_GUESS_SECONDS[device_kind(ctx.facts.gpus())]
    if "mobilenet" in _model(ctx):
        per_image *= LIGHT_DETECTOR_SHARE
    per_image *= (int(_value(ctx, "image_size")) / DETECTION_GUESS_SIZE) ** 2
    return epochs * per_image * ctx.summary.total_images, per_image


def _help(ctx: AnswerContext, question: Question) -> list[str]:
    return [msg.text(ctx.language, "help")]


def _settings(ctx: AnswerContext, question: Question) -> list[str]:
    lang = ctx.language
    lines = [msg.text(lang, "settings_now")]
    for name, value in {**task_defaults(task_of(ctx.draft)), **ctx.draft}.items():
        if name == "task":
            continue
        suffix = "" if name in ctx.draft else f" ({msg.text(lang, 'default')})"
        lines.append(f"• {msg.label(lang, name)}: {msg.format_value(lang, name, value)}{suffix}")
    if ctx.missing:
        missing = ", ".join(msg.label(lang, name) for name in ctx.missing)
        lines.append(msg.text(lang, "still_needed", missing=missing))
    return lines


def _model_advice(ctx: AnswerContext, question: Question) -> list[str]:
    lang = ctx.language
    gpus = ctx.facts.gpus()
    device = device_kind(gpus)
    images = question.value if isinstance(question.value, int) and question.value > 0 else None
    classes = len(ctx.summary.classes) if ctx.summary else None
    if images is None and ctx.summary is not None:
        images = ctx.summary.total_images
    if images is None:
        return [msg.text(lang, "model_need_data", small=SMALL_MODELS[device], large=LARGE_MODELS[device])]
    per_class = msg.text(lang, "per_class", count=images // classes) if classes else ""
    where = msg.text(lang, "on_gpu", gpu=gpus[0].name) if gpus else msg.text(lang, "on_cpu")
    if images < SMALL_DATA_IMAGES:
        key, model = "model_small", SMALL_MODELS[device]
    elif images < LARGE_DATA_IMAGES:
        key, model = "model_medium", MEDIUM_MODELS[device]
    else:
        key, model = "model_large", LARGE_MODELS[device]
    lines = [msg.text(lang, key, images=images, per_class=per_class, model=model, device=where)]
    weights = ctx.facts.weights(model)
    if weights.status == "unavailable":
        lines.append(msg.text(lang, "model_no_weights", model=model, why=msg.text(lang, "why_offline")))
    elif weights.status == "none":
        lines.append(_weights_line(lang, weights))
    lines.append(msg.text(lang, "how_to_set", example=model))
    return lines


def _pretrained_usable(ctx: AnswerContext) -> bool:
    if not _value(ctx, "pretrained"):
        return False
    return ctx.facts.weights(_model(ctx)).status in ("cached", "hub")


def _epochs_advice(ctx: AnswerContext, question: Question) -> list[str]:
    lang = ctx.language
    pretrained = _pretrained_usable(ctx)
    images = ctx.summary.total_images if ctx.summary else None
    if pretrained:
        size_note = "epochs_plenty_data" if images and images >= LARGE_DATA_IMAGES else "epochs_small_data"
        lines = [msg.text(lang, "epochs_pretrained", small=msg.text(lang, size_note))]
    else:
        lines = [msg.text(lang, "epochs_scratch")]
    value = question.value
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        if value > EPOCHS_MANY[pretrained]:
            lines.append(msg.text(lang, "epochs_value_many", value=value))
        elif value < EPOCHS_FEW[pretrained]:
            lines.append(msg.text(lang, "epochs_value_few", value=value))
        else:
            lines.append(msg.text(lang, "epochs_value_fine", value=value))
        if found := estimate(ctx, value):
            lines.append(msg.text(lang, "epochs_value_time", time=duration_text(lang, found[0])))
        lines.append(
            msg.text(lang, "how_to_set", example=f"{value} epochs" if lang == "en" else f"{value} 에폭")
        )
    return lines


def _duration(ctx: AnswerContext, question: Question) -> list[str]:
    lang = ctx.language
    if ctx.summary is None:
        return [msg.text(lang, "duration_need_data")]
    epochs = int(_value(ctx, "epochs"))
    found = estimate(ctx, epochs) or _measured_estimate(ctx, epochs)
    device = device_kind(ctx.facts.gpus())
    if found is None and (guess := detection_guess(ctx, epochs)) is not None:
        return [
            msg.text(
                lang, "duration_detection_guess", total=duration_text(lang, guess[0]), epochs=epochs,
                images=ctx.summary.total_images, per_image=f"{guess[1]:.2g}", size=_value(ctx, "image_size"),
                device=device.upper(), model=_model(ctx),
            )
        ]  # fmt: skip
    if found is None:
        return [msg.text(lang, "duration_no_history", model=_model(ctx), device=device.upper())]
    seconds, basis = found
    scaled = (
        msg.text(lang, "duration_scaled", size=basis.measured_size, target=basis.image_size)
        if basis.measured_size != basis.image_size
        else ""
    )
    return [
        msg.text(
            lang,
            "duration_estimate" if basis.runs else "duration_measured",
            total=duration_text(lang, seconds),
            epochs=epochs,
            per_epoch=duration_text(lang, basis.epoch_seconds(ctx.summary.total_images)),
            overhead=_overhead_text(lang, basis),
            images=ctx.summary.total_images,
            runs=basis.runs,
            model=basis.model,
            device=device.upper(),
            scaled=scaled,
        )
    ]


def _overhead_text(language: str, basis: Throughput) -> str:
    """What a run takes besides its epochs, when known (past runs: start-up, test and export; a quick
    measurement: its start-up)."""
    if basis.overhead_seconds <= 0:
        return ""
    key = "duration_overhead" if basis.runs else "duration_start_up"
    return msg.text(language, key, time=duration_text(language, basis.overhead_seconds))


def _field(ctx: AnswerContext, question: Question) -> list[str]:
    lang = ctx.language
    name = question.field or "batch_size"
    if name == "pretrained":
        return _pretrained(ctx, question)
    lines = [msg.text(lang, f"field_{name}")]
    if name in ctx.draft:
        lines.append(msg.text(lang, "field_now", value=msg.format_value(lang, name, ctx.draft[name])))
    if question.value is not None and name != "num_classes":
        example = f"{msg.label(lang, name)} {msg.format_value(lang, name, question.value)}"
        lines.append(msg.text(lang, "how_to_set", example=example))
    return lines


def _pretrained(ctx: AnswerContext, question: Question) -> list[str]:
    lang = ctx.language
    return [msg.text(lang, "pretrained_explain"), _weights_line(lang, ctx.facts.weights(_model(ctx)))]


def _gpus(ctx: AnswerContext, question: Question) -> list[str]:
    lang = ctx.language
    gpus = ctx.facts.gpus()
    queue = ctx.facts.queue()
    if gpus:
        names = ", ".join(
            f"{gpu.index}: {gpu.name}" + (f" ({gpu.memory_mib // 1024} GiB)" if gpu.memory_mib else "")
            for gpu in gpus
        )
        lines = [msg.text(lang, "gpus_some", count=len(gpus), names=names, slots=queue.slots)]
    else:
        lines = [msg.text(lang, "gpus_none", slots=queue.slots)]
    if (most := gpu_limit(ctx.facts).most) > 1:
        lines.append(msg.text(lang, "gpus_per_run", most=most))
    lines.append(msg.text(lang, "queue_now", running=queue.running, queued=queue.queued))
    return lines


def _datasets(ctx: AnswerContext, question: Question) -> list[str]:
    names = ctx.facts.datasets()
    if not names:
        return [msg.text(ctx.language, "datasets_none")]
    return [msg.text(ctx.language, "datasets_some", names=", ".join(f"`{name}`" for name in names[:30]))]


# a detector for this host: COCO-pretrained Faster R-CNN R50-FPN v2 where a GPU trains it, the MobileNet
# Faster R-CNN at 320 px on a CPU (several times fewer operations per image)
DETECTORS = {"cuda": DEFAULT_DETECTOR, "cpu": "fasterrcnn_mobilenet_v3_large_320_fpn"}
FEW_BOXES_PER_CLASS = 100  # under this a detector leans on its COCO weights


def _detection_model(ctx: AnswerContext, question: Question) -> list[str]:
    lang = ctx.language
    device = device_kind(ctx.facts.gpus())
    model = DETECTORS[device]
    images = question.value if isinstance(question.value, int) and question.value > 0 else None
    report = ctx.summary.detection if ctx.summary else None
    where = (
        msg.text(lang, "on_gpu", gpu=ctx.facts.gpus()[0].name)
        if device == "cuda"
        else msg.text(lang, "on_cpu")
    )
    lines = [msg.text(lang, f"detector_advice_{device}", model=model, device=where)]
    if images is not None:  # the question's own figure, over the dataset's
        lines.append(msg.text(lang, "detector_advice_images", images=images))
    elif report is not None:
        fewest = min(report.boxes_per_class.values(), default=0)
        lines.append(
            msg.text(lang, "detector_advice_data", images=report.images, boxes=report.boxes, fewest=fewest)
        )
        if fewest < FEW_BOXES_PER_CLASS:
            lines.append(msg.text(lang, "detector_advice_few_boxes", fewest=fewest))
    lines.append(msg.text(lang, "how_to_set", example=model))
    return lines


def _detection_metric(ctx: AnswerContext, question: Question) -> list[str]:
    return [msg.text(ctx.language, "detection_metric")]


def _unknown(ctx: AnswerContext, question: Question) -> list[str]:
    return [msg.text(ctx.language, "cant_answer"), msg.text(ctx.language, "help")]


_ANSWERS = {
    "help": _help,
    "settings": _settings,
    "model": _model_advice,
    "epochs": _epochs_advice,
    "duration": _duration,
    "field": _field,
    "gpus": _gpus,
    "datasets": _datasets,
    "pretrained": _pretrained,
    "detection_metric": _detection_metric,
    "detection_model": _detection_model,
    "unknown": _unknown,
}


def answer(question: Question, ctx: AnswerContext) -> list[str]:
    """The answer's lines. Claude's own answer text, when it wrote one, is used as is."""
    if question.answer:
        return [msg.slack_safe_long(question.answer)]
    return _ANSWERS.get(question.topic, _unknown)(ctx, question)
