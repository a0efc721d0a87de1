"""Texts about detection runs on every surface: their figures while training and at the end, their
predictions (boxes per image), re-thresholding, and their ONNX check."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "run_task_classification": "classification",
        "run_task_detection": "detection",
        "fig_val_map50": "val mAP@.50 *{map}*",
        "fig_val_map": "mAP@[.50:.95] *{map}*",
        "det_done_val_map50": "• Final validation mAP@.50: *{map}*",
        "det_done_val_map": "• Final validation mAP@[.50:.95]: *{map}*",
        "det_done_best": "(best {best})",
        "det_done_per_class": "• AP@.50 per class, lowest first: {classes}",
        "det_done_per_class_lowest": "• Lowest AP@.50 per class ({shown} of {count} classes; all in the "
        "metrics file): {classes}",
        "det_done_early_stop": "• Stopped early at epoch {epoch}: no improvement in validation mAP for "
        "{patience} epochs (best at epoch {best_epoch}).",
        "run_line_best_map": "best mAP@.50 {map}",
        "file_val_predictions": "Run #{id} validation images: predicted boxes (thick, with scores) and the "
        "true boxes (thin)",
        "det_predict_header": "Boxes found by run #{run_id} ({model}) at a score of at least {conf}:",
        "det_predict_line": "• `{name}`: {found}",
        "det_predict_class": "*{label}* {count} ({scores})",
        "det_predict_none": "• `{name}`: no box scoring {conf} or more",
        "det_predict_drawn": "Run #{run_id}: images with the boxes drawn",
        "det_predict_folder": "Images with the boxes drawn: {path}",
        "det_rethreshold_no_images": "There are no earlier images of a detection run in this thread to "
        "answer again. Post images first.",
        "command_rethreshold": "To see a detection run's last images again at another score threshold, say "
        "`again with confidence 0.6` in its thread after posting images there.",
        "det_rethreshold_bad": "The score threshold must be between 0.01 and 0.99, like 0.6.",
        "det_onnx_ok": "✅ ONNX export of run #{run_id} verified on {images} validation images: all "
        "{compared} boxes matched PyTorch's (mean IoU *{mean_iou}*, lowest {min_iou}, largest score "
        "difference *{diff}*).",
        "det_onnx_refused": "⚠️ The ONNX export of run #{run_id} matched only {matched} of {compared} "
        "PyTorch boxes on {images} validation images (mean IoU {mean_iou}, lowest {min_iou}; required IoU "
        "{min_required} and score difference at most {max_diff}), so no file is offered.",
        "det_done_onnx": "• ONNX export verified: {compared} boxes on {images} validation images match "
        "PyTorch's (mean IoU {mean_iou}, largest score difference {diff}; *Export ONNX* uploads it)",
        "det_done_onnx_refused": "• ONNX export refused: only {matched} of {compared} boxes match PyTorch's",
    },
    "ko": {
        "run_task_classification": "분류",
        "run_task_detection": "객체 탐지",
        "fig_val_map50": "검증 mAP@.50 *{map}*",
        "fig_val_map": "mAP@[.50:.95] *{map}*",
        "det_done_val_map50": "• 최종 검증 mAP@.50: *{map}*",
        "det_done_val_map": "• 최종 검증 mAP@[.50:.95]: *{map}*",
        "det_done_best": "(최고 {best})",
        "det_done_per_class": "• 클래스별 AP@.50, 낮은 순: {classes}",
        "det_done_per_class_lowest": "• AP@.50이 가장 낮은 클래스 ({count}개 중 {shown}개, 전체는 "
        "`metrics.json`에 있어요): {classes}",
        "det_done_early_stop": "• 검증 mAP가 {patience} 에폭 동안 나아지지 않아 에폭 {epoch}에서 일찍 "
        "멈췄어요 (가장 좋았던 에폭: {best_epoch}).",
        "run_line_best_map": "최고 mAP@.50 {map}",
        "file_val_predictions": "학습 #{id} 검증 이미지: 예측한 박스(굵은 선, 점수 표시)와 "
        "실제 박스(가는 선)",
        "det_predict_header": "학습 #{run_id}({model})이(가) 점수 {conf} 이상으로 찾은 박스예요:",
        "det_predict_line": "• `{name}`: {found}",
        "det_predict_class": "*{label}* {count}개 ({scores})",
        "det_predict_none": "• `{name}`: 점수 {conf} 이상인 박스가 없어요",
        "det_predict_drawn": "학습 #{run_id}: 박스를 그린 이미지",
        "det_predict_folder": "박스를 그린 이미지: {path}",
        "det_rethreshold_no_images": "이 스레드에는 다시 답할 탐지 학습의 이전 이미지가 없어요. 먼저 "
        "이미지를 올려 주세요.",
        "command_rethreshold": "탐지 학습의 스레드에 이미지를 올린 뒤 그 스레드에서 "
        "`신뢰도 0.6으로 다시`라고 말하면 마지막 이미지를 다른 점수 기준으로 다시 보여 드려요.",
        "det_rethreshold_bad": "점수 기준은 0.6처럼 0.01에서 0.99 사이여야 해요.",
        "det_onnx_ok": "✅ 학습 #{run_id}의 ONNX 내보내기를 검증 이미지 {images}장으로 확인했어요: 박스 "
        "{compared}개가 모두 PyTorch와 일치해요 (평균 IoU *{mean_iou}*, 최저 {min_iou}, 최대 점수 차이 "
        "*{diff}*).",
        "det_onnx_refused": "⚠️ 학습 #{run_id}의 ONNX 모델은 검증 이미지 {images}장에서 PyTorch 박스 "
        "{compared}개 중 {matched}개만 일치해서 (평균 IoU {mean_iou}, 최저 {min_iou}, 기준은 IoU "
        "{min_required} 이상, 점수 차이 {max_diff} 이하) 파일을 드리지 않아요.",
        "det_done_onnx": "• ONNX 내보내기 검증 완료: 검증 이미지 {images}장의 박스 {compared}개가 PyTorch와 "
        "일치해요 (평균 IoU {mean_iou}, 최대 점수 차이 {diff}, *ONNX 내보내기*를 누르면 올려 드려요)",
        "det_done_onnx_refused": "• ONNX 내보내기 거부: 박스 {compared}개 중 {matched}개만 "
        "PyTorch와 일치해요",
    },
}
