"""Texts only Slack shows: buttons and their confirm dialogs, /train, refusals, uploads, the App Home."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "button_start": "Start",
        "button_cancel_setup": "Cancel",
        "button_stop": "Stop",
        "button_cancel_run": "Cancel",
        "button_download": "Download",
        "button_resume": "Resume",
        "confirm_stop_title": "Stop run #{id}?",
        "confirm_stop_text": "The trainer saves a checkpoint first, so you can resume the run later.",
        "confirm_stop_yes": "Stop it",
        "confirm_cancel_run_title": "Cancel scheduled run #{id}?",
        "confirm_cancel_run_text": "The run will not start at its scheduled time.",
        "confirm_cancel_run_yes": "Cancel the run",
        "confirm_cancel_setup_title": "Cancel this setup?",
        "confirm_cancel_setup_text": "Nothing is trained; reply in the thread later to set it up again.",
        "confirm_cancel_setup_yes": "Cancel it",
        "confirm_back": "Go back",
        "summary_fallback": "Ready to train {model} for {epochs} epochs",
        "progress_fallback": "Run #{id}: {status}, epoch {done}/{total}",
        "resume_hint": "Press *Resume* to continue from the last checkpoint.",
        "slack_summary_footer": "Press *Start* to begin (or type `start`, `start at 02:00`), or tell me "
        "what to "
        "change (e.g. “batch 16”).",
        "files_comment": "Files of run #{id}",
        "file_model": "Run #{id} model ({model})",
        "file_curves": "Run #{id} learning curves",
        "setup_started": "Training setup started by {user} (the conversation continues in this thread)",
        "slack_help": "*Train Bot* — train an image classifier by chatting in a thread.\n"
        "• `/train [request]` starts a setup thread, e.g. `/train resnet18 on cats for 5 epochs` "
        "or `/train 고양이 분류 모델 만들어줘`\n"
        "• @mention the bot or DM it to start a thread there; reply in the thread to answer its questions\n"
        "• attach a .zip of class folders (`cat/1.jpg`, `dog/1.jpg`) in the thread to upload a dataset\n"
        "• `/train status`: running and queued runs · `/train list`: recent runs with results\n"
        "• `/train stop <id>`: stop a run (its owner or an admin) · `/train help`: this text\n"
        "• in a finished run's thread: post images (or a .zip of them) to classify them, say `export onnx` "
        "for a verified ONNX file, `10 more epochs` to continue it; `/train predict <id>` opens a thread "
        "for a run's model\n"
        "• the bot's *Home* tab lists your runs and the queue",
        "stop_usage": "Usage: `/train stop <run id>` (see `/train status`).",
        "setup_gone": "This setup is no longer available.",
        "setup_replaced": "The setup changed since this summary; use Start on the newest summary.",
        "setup_was_cancelled": "This setup was cancelled; reply in the thread to set it up again.",
        "setup_cancelled": "Setup cancelled by {user}. Reply in this thread to start over.",
        "no_model_file": "Run #{id} has no model file to download.",
        "upload_done": "Unpacked `{name}` into `{path}`: {classes} classes, {images} images. "
        "Classes: {counts}.",
        "upload_done_detection": "Unpacked `{name}` into `{path}`: a {format} detection dataset, {classes} "
        "classes, {images} images, {boxes} boxes. Boxes per class: {counts}.",
        "upload_dropped": "{count} other files were left out.",
        "home_title": "Train Bot",
        "home_yours": "*Your runs*",
        "home_yours_empty": "You have no runs yet. Type `/train` in a channel to set one up.",
        "home_queue": "*Running and waiting, for everyone*",
        "home_queue_empty": "Nothing is running or waiting.",
        "home_updated": "Updated {at}",
    },
    "ko": {
        "button_start": "시작",
        "button_cancel_setup": "취소",
        "button_stop": "중지",
        "button_cancel_run": "예약 취소",
        "button_download": "다운로드",
        "button_resume": "이어서 학습",
        "confirm_stop_title": "학습 #{id}을(를) 멈출까요?",
        "confirm_stop_text": "학습 프로그램이 먼저 체크포인트를 저장하니까 나중에 이어서 할 수 있어요.",
        "confirm_stop_yes": "멈추기",
        "confirm_cancel_run_title": "예약된 학습 #{id}을(를) 취소할까요?",
        "confirm_cancel_run_text": "예약한 시각에 시작하지 않아요.",
        "confirm_cancel_run_yes": "예약 취소하기",
        "confirm_cancel_setup_title": "이 설정을 취소할까요?",
        "confirm_cancel_setup_text": "아무것도 학습하지 않아요. 나중에 스레드에 답하면 다시 설정할 수 "
        "있어요.",
        "confirm_cancel_setup_yes": "취소하기",
        "confirm_back": "돌아가기",
        "summary_fallback": "{model} 모델을 {epochs} 에폭 학습할 준비가 됐어요",
        "progress_fallback": "학습 #{id}: {status}, 에폭 {done}/{total}",
        "resume_hint": "*이어서 학습*을 누르면 마지막 체크포인트부터 이어서 해요.",
        "slack_summary_footer": "*시작*을 누르면 시작해요 (`시작`, `새벽 2시에 시작`처럼 입력해도 돼요). "
        "바꿀 게 있으면 "
        "말씀해 주세요 (예: “배치 16”).",
        "files_comment": "학습 #{id}의 파일",
        "file_model": "학습 #{id} 모델 ({model})",
        "file_curves": "학습 #{id} 학습 곡선",
        "setup_started": "{user}님이 학습 설정을 시작했어요 (대화는 이 스레드에서 이어져요)",
        "slack_help": "*Train Bot* — 스레드에서 대화하며 이미지 분류 모델을 학습해요.\n"
        "• `/train [요청]`으로 설정 스레드를 시작해요. 예: `/train 고양이 분류 모델 만들어줘`, "
        "`/train resnet18 on cats for 5 epochs`\n"
        "• 봇을 @멘션하거나 DM을 보내면 거기서 스레드를 시작해요. 스레드에 답하면 질문에 답하는 거예요\n"
        "• 스레드에 클래스 폴더를 담은 .zip(`cat/1.jpg`, `dog/1.jpg`)을 올리면 데이터셋이 돼요\n"
        "• `/train 상태`: 실행 중이거나 대기 중인 학습 · `/train 목록`: 최근 학습과 결과\n"
        "• `/train 중지 <번호>`: 학습 중지 (시작한 사람이나 관리자) · `/train 도움말`: 이 안내\n"
        "• 끝난 학습의 스레드에서: 이미지(또는 그 .zip)를 올리면 분류해 드리고, `onnx로 내보내줘`는 검증된 "
        "ONNX 파일, `10 에폭 더`는 이어서 학습해요. `/train 예측 <번호>`는 그 학습의 모델용 스레드를 열어요\n"
        "• 봇의 *홈* 탭에서 내 학습과 대기열을 볼 수 있어요",
        "stop_usage": "사용법: `/train 중지 <학습 번호>` (`/train 상태`에서 확인하세요).",
        "setup_gone": "이 설정은 더 이상 쓸 수 없어요.",
        "setup_replaced": "이 요약 뒤로 설정이 바뀌었어요. 가장 최근 요약의 시작 버튼을 눌러 주세요.",
        "setup_was_cancelled": "취소된 설정이에요. 다시 설정하려면 스레드에 답해 주세요.",
        "setup_cancelled": "{user}님이 설정을 취소했어요. 다시 시작하려면 이 스레드에 답해 주세요.",
        "no_model_file": "학습 #{id}에는 내려받을 모델 파일이 없어요.",
        "upload_done_detection": "`{name}`을(를) `{path}`에 풀었어요: {format} 형식의 객체 탐지 데이터셋, "
        "클래스 {classes}개, 이미지 {images}장, 박스 {boxes}개. 클래스별 박스: {counts}.",
        "upload_done": "`{name}`을(를) `{path}`에 풀었어요: 클래스 {classes}개, 이미지 {images}장. "
        "클래스: {counts}.",
        "upload_dropped": "다른 파일 {count}개는 뺐어요.",
        "home_title": "Train Bot",
        "home_yours": "*내 학습*",
        "home_yours_empty": "아직 학습이 없어요. 채널에서 `/train`을 입력해 설정해 보세요.",
        "home_queue": "*모두의 실행 중·대기 중인 학습*",
        "home_queue_empty": "실행 중이거나 대기 중인 학습이 없어요.",
        "home_updated": "{at}에 갱신",
    },
}
