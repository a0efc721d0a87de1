"""Texts of using a trained model: predictions on images, the ONNX export, continuing and early stopping."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "predict_header": "Predictions of run #{run_id} ({model}):",
        "predict_line": "• `{name}`: {top}",
        "predict_class": "*{label}* {probability}",
        "predict_problem_not_image": "• `{name}`: not a JPEG, PNG or WebP image; left out.",
        "predict_problem_corrupt": "• `{name}`: the image is damaged or cut off and "
        "could not be read; left out.",
        "predict_problem_too_large": "• `{name}`: larger than {detail}; left out.",
        "predict_problem_too_many_pixels": "• `{name}`: too many pixels ({detail}) to "
        "decode safely; left out.",
        "predict_problem_too_many": "• `{name}`: only {detail} images are classified per message; left out.",
        "predict_problem_bad_zip": "• `{name}`: not a readable .zip file.",
        "predict_nothing": "There was no image I could classify. Send JPEG, PNG "
        "or WebP images, or a .zip of them.",
        "predict_no_model": "Run #{run_id} has no trained model to predict with.",
        "predict_not_finished": "Run #{run_id} is {status}; predictions need a run that finished training.",
        "predict_failed": "The prediction failed ({detail}). Please try again.",
        "predict_usage": "Usage: `/train predict <run id>` with an image attached, or post images in a "
        "finished run's thread.",
        "predict_console_usage": "Usage: `predict PATH...` (images or a .zip) after a run finished, or "
        "`predict <run id> PATH...`.",
        "predict_no_run": "There is no finished run to predict with yet.",
        "predict_missing_file": "• `{name}`: no such file; left out.",
    },
    "ko": {
        "predict_header": "실행 #{run_id} ({model})의 예측 결과:",
        "predict_line": "• `{name}`: {top}",
        "predict_class": "*{label}* {probability}",
        "predict_problem_not_image": "• `{name}`: JPEG, PNG, WebP 이미지가 아니라서 제외했어요.",
        "predict_problem_corrupt": "• `{name}`: 이미지가 손상되었거나 잘려 있어서 읽을 수 없어 제외했어요.",
        "predict_problem_too_large": "• `{name}`: {detail}보다 커서 제외했어요.",
        "predict_problem_too_many_pixels": "• `{name}`: 픽셀이 너무 "
        "많아({detail}) 안전하게 열 수 없어 제외했어요.",
        "predict_problem_too_many": "• `{name}`: 한 번에 {detail}장까지만 분류해서 제외했어요.",
        "predict_problem_bad_zip": "• `{name}`: 읽을 수 있는 .zip 파일이 아니에요.",
        "predict_nothing": "분류할 수 있는 이미지가 없었어요. "
        "JPEG, PNG, WebP 이미지나 그 .zip 파일을 보내 주세요.",
        "predict_no_model": "실행 #{run_id}에는 예측에 쓸 학습된 모델이 없어요.",
        "predict_not_finished": "실행 #{run_id}은(는) {status} 상태예요. "
        "예측은 학습이 끝난 실행에서만 할 수 있어요.",
        "predict_failed": "예측에 실패했어요 ({detail}). 다시 시도해 주세요.",
        "predict_usage": "사용법: 이미지를 첨부해서 `/train predict <실행 번호>`, 또는 끝난 실행의 스레드에 "
        "이미지를 올려 주세요.",
        "predict_console_usage": "사용법: 실행이 끝난 뒤 `predict 경로...` (이미지나 .zip), 또는 "
        "`predict <실행 번호> 경로...`.",
        "predict_no_run": "아직 예측에 쓸 수 있는 끝난 실행이 없어요.",
        "predict_missing_file": "• `{name}`: 파일이 없어서 제외했어요.",
    },
}
