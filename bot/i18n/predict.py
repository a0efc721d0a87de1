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
        "predict_problem_zip_too_many": "• `{name}`: holds more than {detail} files; nothing in it was read.",
        "predict_more": "• … and {count} more",
        "predict_nothing": "There was no image I could classify. Send JPEG, PNG "
        "or WebP images, or a .zip of them.",
        "predict_no_model": "Run #{run_id} has no trained model to predict with.",
        "predict_not_finished": "Run #{run_id} is {status}; predictions need a run that finished training.",
        "predict_failed": "The prediction failed ({detail}). Please try again.",
        "predict_usage": "Usage: `/train predict <run id>`: I open a thread where the images you post are "
        "classified with that run's model (or post images in a finished run's thread).",
        "predict_console_usage": "Usage: `predict PATH...` (images or a .zip) after a run finished, or "
        "`predict <run id> PATH...`.",
        "predict_no_run": "There is no finished run to predict with yet.",
        "predict_missing_file": "• `{name}`: no such file; left out.",
        "predict_prompt": "Post images (JPEG, PNG or WebP, or a .zip of them) in this thread and I will "
        "classify them with run #{run_id} ({model}).",
        "predict_attach": "Attach images (JPEG, PNG or WebP, or a .zip of them) to a message in this thread "
        "and I will classify them with run #{run_id}.",
        "predict_no_thread_run": "There is no finished run in this thread to predict with yet.",
        "continue_intro": "Continuing run #{run_id}: a new run starts from its last checkpoint and trains "
        "{epochs} more epochs with a learning-rate schedule of its own, on the same data and classes, with "
        "the same model and image size.",
        "continue_no_run": "There is no finished or stopped run in this thread to continue. Say `10 more "
        "epochs` in the thread of a finished run.",
        "continue_not_continuable": "Run #{run_id} is {status}; only a finished or stopped run can be "
        "continued.",
        "continue_no_checkpoint": "Run #{run_id} left no checkpoint to continue from.",
        "continues_line": "↪️ continues run #{run_id}",
        "button_export_onnx": "Export ONNX",
        "onnx_console_file": "The verified ONNX file: {path}",
        "onnx_working": "Exporting run #{run_id}'s model to ONNX and checking it against PyTorch on the "
        "validation images…",
        "onnx_ok": "✅ ONNX export of run #{run_id} verified on {images} validation images: top-1 agreement "
        "with PyTorch *{agreement}*, largest logit difference *{diff}*.",
        "onnx_refused": "⚠️ The ONNX export of run #{run_id} agrees with PyTorch on only *{agreement}* of "
        "{images} validation images (largest logit difference {diff}), below the {minimum} required, so no "
        "file is offered.",
        "onnx_unavailable": "ONNX export needs the `onnx` and `onnxruntime` "
        "packages, which are not installed "
        "on the bot's host. Install them in the bot's folder "
        "with `{install}`, then ask again.",
        "onnx_failed": "The ONNX export of run #{run_id} failed. Tell an admin if it keeps happening.",
        "onnx_no_run": "There is no finished run in this thread to export to ONNX.",
        "onnx_file": "Run #{run_id} · {model} · ONNX",
        "done_onnx": "• ONNX export verified: top-1 agreement with PyTorch *{agreement}* on {images} "
        "validation images, largest logit difference {diff} (*Export ONNX* uploads it)",
        "done_onnx_refused": "• ONNX export refused: top-1 agreement {agreement} is below {minimum}",
        "done_early_stop": "• Stopped early at epoch {epoch}: no improvement in validation accuracy for "
        "{patience} epochs; best epoch {best_epoch}, whose model is kept.",
    },
    "ko": {
        "predict_header": "학습 #{run_id} ({model})의 예측 결과:",
        "predict_line": "• `{name}`: {top}",
        "predict_class": "*{label}* {probability}",
        "predict_problem_not_image": "• `{name}`: JPEG, PNG, WebP 이미지가 아니라서 제외했어요.",
        "predict_problem_corrupt": "• `{name}`: 이미지가 손상되었거나 잘려 있어서 읽을 수 없어 제외했어요.",
        "predict_problem_too_large": "• `{name}`: {detail}보다 커서 제외했어요.",
        "predict_problem_too_many_pixels": "• `{name}`: 픽셀이 너무 "
        "많아({detail}) 안전하게 열 수 없어 제외했어요.",
        "predict_problem_too_many": "• `{name}`: 한 번에 {detail}장까지만 분류해서 제외했어요.",
        "predict_problem_bad_zip": "• `{name}`: 읽을 수 있는 .zip 파일이 아니에요.",
        "predict_problem_zip_too_many": "• `{name}`: 파일이 {detail}개를 넘어서 아무것도 읽지 않았어요.",
        "predict_more": "• … 외 {count}개 더",
        "predict_nothing": "분류할 수 있는 이미지가 없었어요. "
        "JPEG, PNG, WebP 이미지나 그 .zip 파일을 보내 주세요.",
        "predict_no_model": "학습 #{run_id}에는 예측에 쓸 학습된 모델이 없어요.",
        "predict_not_finished": "학습 #{run_id}은(는) {status} 상태예요. "
        "예측은 학습이 끝난 학습에서만 할 수 있어요.",
        "predict_failed": "예측에 실패했어요 ({detail}). 다시 시도해 주세요.",
        "predict_usage": "사용법: `/train predict <학습 번호>`: 스레드를 열어 드리면 거기에 올린 이미지를 그 "
        "학습의 모델로 분류해요 (끝난 학습의 스레드에 이미지를 올려도 돼요).",
        "predict_console_usage": "사용법: 학습이 끝난 뒤 `predict 경로...` (이미지나 .zip), 또는 "
        "`predict <학습 번호> 경로...`.",
        "predict_no_run": "아직 예측에 쓸 수 있는 끝난 학습이 없어요.",
        "predict_missing_file": "• `{name}`: 파일이 없어서 제외했어요.",
        "predict_prompt": "이 스레드에 이미지(JPEG, PNG, WebP 또는 그 .zip)를 올려 주시면 학습 #{run_id} "
        "({model}) 모델로 분류해 드릴게요.",
        "predict_attach": "이 스레드에 이미지(JPEG, PNG, WebP 또는 그 .zip)를 첨부해서 보내 주시면 학습 "
        "#{run_id} 모델로 분류해 드릴게요.",
        "predict_no_thread_run": "이 스레드에는 아직 예측에 쓸 수 있는 끝난 학습이 없어요.",
        "continue_intro": "학습 #{run_id}을(를) 이어서 학습해요: 새 학습이 그 마지막 체크포인트에서 시작해 "
        "{epochs} 에폭을 더 학습해요. 학습률 스케줄은 새로 "
        "잡고, 데이터와 클래스, 모델과 이미지 크기는 같아요.",
        "continue_no_run": "이 스레드에는 이어서 학습할 끝난(또는 멈춘) "
        "학습이 없어요. 끝난 학습의 스레드에서 "
        "`10 에폭 더`라고 말해 주세요.",
        "continue_not_continuable": "학습 #{run_id}은(는) {status} 상태예요. 끝났거나 멈춘 학습만 이어서 "
        "학습할 수 있어요.",
        "continue_no_checkpoint": "학습 #{run_id}에는 이어서 학습할 체크포인트가 없어요.",
        "continues_line": "↪️ 학습 #{run_id}에서 이어서 학습",
        "button_export_onnx": "ONNX 내보내기",
        "onnx_console_file": "검증된 ONNX 파일: {path}",
        "onnx_working": "학습 #{run_id}의 모델을 ONNX로 내보내고 검증 이미지로 PyTorch와 비교하고 있어요…",
        "onnx_ok": "✅ 학습 #{run_id}의 ONNX 내보내기를 검증 이미지 "
        "{images}장으로 확인했어요: PyTorch와 top-1 "
        "일치율 *{agreement}*, 최대 로짓 차이 *{diff}*.",
        "onnx_refused": "⚠️ 학습 #{run_id}의 ONNX 모델은 검증 이미지 {images}장 중 *{agreement}*만 PyTorch와 "
        "일치해서(최대 로짓 차이 {diff}) 기준 {minimum}에 못 미쳐요. 파일은 드리지 않아요.",
        "onnx_unavailable": "ONNX 내보내기에는 `onnx`와 `onnxruntime` 패키지가 필요한데 봇 서버에 설치되어 "
        "있지 않아요. 봇 폴더에서 `{install}`로 설치한 뒤 다시 요청해 주세요.",
        "onnx_failed": "학습 #{run_id}의 ONNX 내보내기에 실패했어요. 관리자에게 알려 주세요.",
        "onnx_no_run": "이 스레드에는 ONNX로 내보낼 끝난 학습이 없어요.",
        "onnx_file": "학습 #{run_id} · {model} · ONNX",
        "done_onnx": "• ONNX 내보내기 검증 완료: 검증 이미지 {images}장에서 PyTorch와 top-1 일치율 "
        "*{agreement}*, 최대 로짓 차이 {diff} (*ONNX 내보내기*를 누르면 올려 드려요)",
        "done_onnx_refused": "• ONNX 내보내기 거부: top-1 일치율 {agreement}이(가) 기준 {minimum}보다 낮아요",
        "done_early_stop": "• {epoch} 에폭에서 조기 종료했어요: {patience} 에폭 동안 검증 정확도가 좋아지지 "
        "않았어요. 최고 에폭은 {best_epoch}이고 그 모델을 남겼어요.",
    },
}
