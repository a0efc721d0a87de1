"""Texts of the conversation: questions, confirmations, refusals, the summary."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "ask_dataset_path": "Which dataset should I train on? Give a folder under DATA_ROOT (e.g. `cats`).",
        "ask_dataset_path_available": "Available datasets: {names}.",
        "ask_epochs": "How many epochs should I train? (1–{max})",
        "set": "Got it: {changes}.",
        "invalid": "I can't use {label} = `{value}`: {reason}.",
        "out_of_range": "{label} must be between {low} and {high}; `{value}` is out of range, "
        "so I kept {kept}.",
        "too_many_epochs": "This server allows at most {max} epochs; `{value}` is too many, "
        "so I kept {kept}.",
        "kept_default": "the default ({value})",
        "auto_classes": "from the dataset",
        "path_outside": "I can't use `{value}`: datasets must be folders inside DATA_ROOT (e.g. `cats`).",
        "path_not_found": "There is no dataset `{value}` under DATA_ROOT. Available: {names}.",
        "path_empty": "`{value}` has no class folders with images (expected `{value}/<class>/<image>.jpg`).",
        "no_datasets": "none yet (upload a .zip or copy an ImageFolder into DATA_ROOT)",
        "dataset_found": "Found `{name}`: {count} classes, {images} images ({classes}).",
        "classes_disagree": "You said {stated} classes, but the dataset has {actual}; I'll use {actual}.",
        "not_checked": "(not checked: `{value}` does not exist under DATA_ROOT here)",
        "summary_title": "*Ready to train.* Every setting:",
        "summary_footer": "Press *Start* to begin, or tell me what to change (e.g. “batch 16”).",
        "default": "default",
        "cancelled": "Cancelled. Mention me again when you want to set up a new training run.",
        "nothing_understood": "I didn't catch a setting in that.",
        "yes": "yes",
        "no": "no (from scratch)",
        "claude_fallback": "_(Claude unavailable: {why}; used the built-in parser.)_",
    },
    "ko": {
        "ask_dataset_path": "데이터셋 경로를 알려주세요. DATA_ROOT 아래 폴더 이름이면 돼요 (예: `cats`).",
        "ask_dataset_path_available": "지금 있는 데이터셋: {names}.",
        "ask_epochs": "Epochs는 몇 번 할까요? (1~{max})",
        "set": "알겠어요: {changes}.",
        "invalid": "{label} 값 `{value}`은(는) 쓸 수 없어요: {reason}.",
        "out_of_range": "{label}은(는) {low}~{high} 사이여야 해요. "
        "`{value}`은(는) 범위를 벗어나서 {kept}(으)로 두었어요.",
        "too_many_epochs": "이 서버에서는 Epochs를 최대 {max}까지 할 수 있어요. "
        "`{value}`은(는) 너무 많아서 {kept}(으)로 두었어요.",
        "kept_default": "기본값 {value}",
        "auto_classes": "데이터셋에서",
        "path_outside": "`{value}`은(는) 쓸 수 없어요: 데이터셋은 DATA_ROOT 안의 폴더여야 해요 (예: `cats`).",
        "path_not_found": "DATA_ROOT에 `{value}` 데이터셋이 없어요. 있는 데이터셋: {names}.",
        "path_empty": "`{value}`에 이미지가 든 클래스 폴더가 없어요 "
        "(`{value}/<클래스>/<이미지>.jpg` 구조여야 해요).",
        "no_datasets": "아직 없어요 (.zip을 올리거나 ImageFolder를 DATA_ROOT에 복사해 주세요)",
        "dataset_found": "`{name}` 데이터셋을 찾았어요: 클래스 {count}개, 이미지 {images}장 ({classes}).",
        "classes_disagree": "클래스가 {stated}개라고 하셨는데 데이터셋에는 {actual}개가 있어요. "
        "{actual}개로 할게요.",
        "not_checked": "(확인 안 됨: 여기 DATA_ROOT에는 `{value}`이(가) 없어요)",
        "summary_title": "*학습 준비가 끝났어요.* 전체 설정:",
        "summary_footer": "*Start*를 누르면 시작해요. 바꿀 게 있으면 말씀해 주세요 (예: “배치 16”).",
        "default": "기본값",
        "cancelled": "취소했어요. 새로 학습을 준비하려면 다시 불러 주세요.",
        "nothing_understood": "설정 값을 찾지 못했어요.",
        "yes": "사용",
        "no": "사용 안 함 (처음부터 학습)",
        "claude_fallback": "_(Claude를 쓸 수 없어서({why}) 내장 파서로 처리했어요.)_",
    },
}
