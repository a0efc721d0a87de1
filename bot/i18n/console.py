"""Texts only the terminal console shows (it has no buttons: everything is typed)."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "console_intro": "Describe the model to train (e.g. “resnet18 on cats, 5 epochs”). "
        "Type `help` for the commands, `quit` to leave.",
        "console_summary_footer": "Type `start` to begin, `start at 02:00` to schedule it, or change a "
        "value.",
        "console_scheduled_note": "It starts then if this console is still running.",
        "console_next": "Describe the next model to train, or type `quit`.",
        "console_stopping": "Stopping (saving a checkpoint)…",
        "next_ready@console": "Everything is set: type `start`.",
        "command_stop@console": "To stop a run, type `stop <run>` (`status` lists them).",
        "command_resume@console": "To resume a stopped run, type `resume <run>` (`list` shows them).",
        "command_export_onnx@console": "To export a finished run's model to ONNX, type `export onnx`.",
        "done_onnx@console": "• ONNX export verified: top-1 agreement with PyTorch *{agreement}* on {images} "
        "validation images, largest logit difference {diff} (type `export onnx` for the file)",
        "console_finishing": "Finishing: test score, files, ONNX export and check…",
        "console_running_help": "While it trains you can type `stop` (saves a checkpoint), `status` or "
        "`help`; anything else waits until the run ends.",
        "console_files": "Files: {path}",
        "console_resume_hint": "Type `resume {id}` to continue from the last checkpoint.",
        "console_stop_usage": "Usage: `stop <run id>` (see `status`).",
        "console_resume_usage": "Usage: `resume <run id>` (see `list`).",
        "console_help": "*Commands*\n"
        "• describe what to train, e.g. “resnet18 on cats, 5 epochs” or “고양이 분류 모델 만들어줘”\n"
        "• `start`, `start at 02:00`: start (or schedule) the setup once it is complete\n"
        "• `status`: running and queued runs · `list`: recent runs with results\n"
        "• `stop <id>`: stop a run (Ctrl+C stops the run being shown) · `resume <id>`: continue a run\n"
        "• `predict PATH...`: classify images (or a .zip of them) with the latest finished run, or "
        "`predict <id> PATH...`\n"
        "• `export onnx`: a verified ONNX file of the latest finished run · `10 more epochs`: a new run "
        "continuing it\n"
        "• `help`: this text · `quit`: leave (running trainers keep going)",
    },
    "ko": {
        "console_intro": "학습할 모델을 설명해 주세요 (예: “고양이 3종류 분류하는 resnet18 모델, 5 에폭”). "
        "`도움말`을 입력하면 명령을, `종료`를 입력하면 끝내요.",
        "console_summary_footer": "`시작`을 입력하면 시작하고, `새벽 2시에 시작`처럼 예약할 수도 있어요. "
        "바꿀 값이 있으면 말씀해 주세요.",
        "console_scheduled_note": "그때 이 콘솔이 실행 중이면 시작해요.",
        "console_next": "다음에 학습할 모델을 설명하거나 `종료`를 입력해 주세요.",
        "console_stopping": "멈추는 중이에요 (체크포인트 저장 중)…",
        "next_ready@console": "설정이 다 됐어요. `시작`이라고 입력해 주세요.",
        "command_stop@console": "학습을 멈추려면 `중지 <번호>`를 입력해 주세요 "
        "(`상태`에서 번호를 볼 수 있어요).",
        "command_resume@console": "멈춘 학습을 이어서 하려면 `이어서 <번호>`를 입력해 주세요 "
        "(`목록`에서 볼 수 있어요).",
        "command_export_onnx@console": "끝난 학습의 모델을 ONNX로 내보내려면 "
        "`onnx로 내보내줘`라고 입력해 주세요.",
        "done_onnx@console": "• ONNX 내보내기 검증 완료: 검증 이미지 {images}장에서 PyTorch와 top-1 일치율 "
        "*{agreement}*, 최대 로짓 차이 {diff} (파일은 `onnx로 내보내줘`라고 입력하면 드려요)",
        "console_finishing": "마무리 중이에요: 테스트 점수, 파일 저장, ONNX 내보내기와 검증…",
        "console_running_help": "학습 중에는 `중지`(체크포인트 저장), `상태`, `도움말`을 입력할 수 있어요. "
        "다른 요청은 학습이 끝난 뒤에 해 주세요.",
        "console_files": "파일: {path}",
        "console_resume_hint": "`이어서 {id}`을(를) 입력하면 마지막 체크포인트부터 이어서 해요.",
        "console_stop_usage": "사용법: `중지 <학습 번호>` (`상태`에서 확인하세요).",
        "console_resume_usage": "사용법: `이어서 <학습 번호>` (`목록`에서 확인하세요).",
        "console_help": "*명령*\n"
        "• 학습할 내용을 말해 주세요. 예: “고양이 분류 모델 만들어줘”, “resnet18, `cats`, 5 에폭”\n"
        "• `시작`, `새벽 2시에 시작`: 설정이 끝나면 시작(또는 예약)해요\n"
        "• `상태`: 실행 중이거나 대기 중인 학습 · `목록`: 최근 학습과 결과\n"
        "• `중지 <번호>`: 학습 중지 (보고 있는 학습은 `Ctrl+C`로도 멈춰요) · "
        "`이어서 <번호>`: 학습 이어서 하기\n"
        "• `예측 경로...`: 마지막으로 끝난 학습의 모델로 이미지(또는 그 .zip)를 분류해요. "
        "`예측 <번호> 경로...`도 돼요\n"
        "• `onnx로 내보내줘`: 마지막으로 끝난 학습의 검증된 ONNX 파일 · `10 에폭 더`: 그 학습을 이어서 "
        "새로 학습\n"
        "• `도움말`: 이 안내 · `종료`: 끝내기 (실행 중인 학습은 계속돼요)",
    },
}
