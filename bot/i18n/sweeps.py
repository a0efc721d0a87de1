"""Texts about sweeps (several trials of one setup that differ in some settings), for every front end."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "sweep_grid_head": "🔬 *Sweep*: {count} trials of {model} on `{dataset}`, varying {fields}.",
        "sweep_search_head": (
            "🔬 *Search*: {count} trials of {model} on `{dataset}`, {fields} chosen by Optuna "
            "(clearly worse trials are stopped early)."
        ),
        "sweep_range": "{field} from {low} to {high}",
        "sweep_trial_line": "• Trial {number}: {values}",
        "sweep_objective": "Best trial by *{objective}*; {parallel} at a time.",
        "sweep_estimate": "Estimated total time on this host: about *{time}*.",
        "sweep_no_estimate": ("No estimate of the total time yet: this host has no timings for this model."),
        "sweep_start_hint": "Press *Start* (or type `start sweep`) to queue the trials.",
        "sweep_start_hint_typed": "Type `start sweep` to queue the trials.",
        "sweep_objective_val_acc": "validation accuracy",
        "sweep_objective_val_map50": "validation mAP@.50",
        "sweep_objective_val_loss": "validation loss",
        "sweep_objective_val_map": "validation mAP@[.50:.95]",
        "sweep_objective_min": "Best trial by the lowest *{objective}*; {parallel} at a time.",
        "sweep_refused_objective_not_reported": (
            "I can't pick the best trial by {objective}: {task} runs do not report it. "
            "They report {available}. Nothing was changed."
        ),
        "sweep_after_setup": (
            "🔬 I'll propose the sweep ({count} trials, varying {fields}) as soon as the setup is complete."
        ),
        "sweep_refused_model_for_task": (
            "{value} does not fit this setup's task ({task}). Nothing was changed."
        ),
        "sweep_button_start": "Start sweep",
        "sweep_button_stop": "Stop sweep",
        "sweep_started": "🔬 Sweep #{id} started: {count} trials, {parallel} at a time.",
        "sweep_stopped": (
            "⏹️ Sweep #{id} stopped: running trials stop at their next epoch, queued ones are cancelled."
        ),
        "sweep_table_head": "🔬 *Sweep #{id}* · {status} · {done}/{count} trials · by {objective}",
        "sweep_row": "{best}#{number} {values} · {status} · epoch {epoch}/{epochs} · {metric}",
        "sweep_row_pruned": "✂️ pruned",
        "sweep_row_failed": "❌ failed: {reason}",
        "sweep_status_running": "running",
        "sweep_status_completed": "finished",
        "sweep_status_stopped": "stopped",
        "sweep_status_draft": "not started",
        "sweep_status_discarded": "replaced",
        "sweep_done": (
            "🏆 Sweep #{id} finished. Best: trial {number} ({values}), run #{run_id}, "
            "{objective} *{value}*. Predict, export or train it more as with any run."
        ),
        "sweep_done_none": "Sweep #{id} finished with no trial that completed.",
        "sweep_list_line": "🔬 Sweep #{id} · {status} · {count} trials · best {best}",
        "sweep_list_title": "Sweeps",
        "sweep_none": "There is no sweep to start or stop in this thread.",
        "sweep_file_chart": "Sweep #{id}: {objective} per trial and per epoch",
        "sweep_chart_at": "Chart: {path}",
        "sweep_refused_cannot_vary": (
            "I can't vary *{field}* in a sweep: every trial uses "
            "the same one. "
            "I can vary the learning rate, batch size, image size, epochs, model or early stopping."
        ),
        "sweep_refused_bad_value": (
            "{value} is not a possible {field}: it must be between {low} and {high}. Nothing was changed."
        ),
        "sweep_refused_bad_name": "{value} is not a model name I can use. Nothing was changed.",
        "sweep_refused_one_value": "A sweep needs at least two different values of {field}.",
        "sweep_refused_not_a_range": ("{field} has no range to search; list the values to try instead."),
        "sweep_refused_empty_range": (
            "The range {low} to {high} for {field} is empty: the "
            "first value must be "
            "lower than the second. Nothing was changed."
        ),
        "sweep_refused_no_budget": "How many trials should the search run? e.g. “in 8 trials”.",
        "sweep_refused_too_many_trials": "That is {count} trials; a sweep may have at most {limit} "
        "(SWEEP_MAX_TRIALS). Try fewer values. Nothing was changed.",
        "sweep_refused_too_few_trials": "A search needs at least 2 trials.",
        "sweep_refused_gone": "That sweep proposal was replaced by a newer one; start the newest proposal.",
        # resuming a stopped sweep, and each trial's own progress message (asked for)
        "sweep_button_resume": "Resume sweep",
        "sweep_button_show_trials": "Show each trial's progress",
        "sweep_button_hide_trials": "Table only",
        "sweep_resumed": (
            "▶️ Sweep #{id} resumed: stopped trials go on from their last checkpoint, "
            "cancelled ones are queued again."
        ),
        "sweep_resume_hint": "Type `resume sweep` (or press *Resume sweep* on the table) to go on.",
        "sweep_resume_hint@console": "Type `resume sweep` to go on.",
        "sweep_none_stopped": "There is no stopped sweep to resume in this thread.",
        "sweep_none_running": "There is no running sweep in this thread.",
        "sweep_still_stopping": "Sweep #{id}'s trials are still stopping; resume it again in a moment.",
        "sweep_trials_shown": "Each trial of sweep #{id} now has its own progress message in the thread.",
        "sweep_trials_hidden": (
            "Sweep #{id} shows the table only from now on: new trials post no message of their own."
        ),
        "refusal_not_requester_stop": "Only {owner}, who started this sweep, or an admin can stop it.",
        "refusal_not_requester_resume": "Only {owner}, who started this sweep, or an admin can resume it.",
        "sweep_trials_shown@console": "Each trial of sweep #{id} now prints its progress at each epoch.",
        "sweep_stopped_best": (
            "⏹️ Sweep #{id} stopped. Best so far: trial {number} ({values}), run #{run_id}, "
            "{objective} *{value}*."
        ),
        "sweep_stopped_none": "⏹️ Sweep #{id} stopped before any trial had a result.",
        # changing what "best" means before Start ("pick by val loss instead")
        "sweep_pick_by": "🔬 The sweep will pick its best trial by *{objective}*.",
        "sweep_pick_by_min": "🔬 The sweep will pick its best trial by the lowest *{objective}*.",
        "sweep_none_proposed": (
            "There is no proposed sweep in this thread whose best trial I could pick another way. "
            "Ask for one first (e.g. “lr 1e-3 or 1e-2”)."
        ),
        "sweep_objective_too_late": "Sweep #{id} has started already; its objective can't change now.",
        "sweep_already_started": "Sweep #{id} has started already; a sweep is never started twice.",
    },
    "ko": {
        "sweep_grid_head": "🔬 *스윕*: `{dataset}`에서 {model} 시도 {count}개. 바꾸는 설정: {fields}.",
        "sweep_search_head": (
            "🔬 *탐색*: `{dataset}`에서 {model} 시도 {count}개. Optuna가 고르는 설정: {fields} "
            "(확실히 나쁜 시도는 일찍 멈춰요)."
        ),
        "sweep_range": "{field} {low}~{high}",
        "sweep_trial_line": "• 시도 {number}: {values}",
        "sweep_objective": "*{objective}* 기준으로 가장 좋은 시도를 골라요. 한 번에 {parallel}개씩.",
        "sweep_estimate": "이 호스트 기준 예상 총 소요 시간: 약 *{time}*.",
        "sweep_no_estimate": (
            "아직 총 소요 시간을 추정할 수 없어요: 이 호스트에 이 모델의 측정 기록이 없어요."
        ),
        "sweep_start_hint": "*시작*을 누르거나 `스윕 시작`이라고 입력하면 시도들이 대기열에 들어가요.",
        "sweep_start_hint_typed": "`스윕 시작`이라고 입력하면 시도들이 대기열에 들어가요.",
        "sweep_objective_val_acc": "검증 정확도",
        "sweep_objective_val_map50": "검증 mAP@.50",
        "sweep_objective_val_loss": "검증 손실",
        "sweep_objective_val_map": "검증 mAP@[.50:.95]",
        "sweep_objective_min": "*{objective}* 기준으로 값이 가장 낮은 시도를 골라요. 한 번에 {parallel}개씩.",
        "sweep_refused_objective_not_reported": (
            "{task} 실행은 {objective}을(를) 보고하지 않아서 그 기준으로 고를 수 없어요. "
            "고를 수 있는 기준: {available}. 아무것도 바뀌지 않았어요."
        ),
        "sweep_after_setup": (
            "🔬 설정이 끝나면 바로 스윕(시도 {count}개, 바꾸는 설정: {fields})을 제안할게요."
        ),
        "sweep_refused_model_for_task": (
            "{value}은(는) 이 설정의 작업({task})에 맞지 않는 모델이에요. 아무것도 바뀌지 않았어요."
        ),
        "sweep_button_start": "스윕 시작",
        "sweep_button_stop": "스윕 중지",
        "sweep_started": "🔬 스윕 #{id} 시작: 시도 {count}개, 한 번에 {parallel}개씩.",
        "sweep_stopped": (
            "⏹️ 스윕 #{id} 중지: 실행 중인 시도는 다음 에폭에서 멈추고 대기 중인 시도는 취소돼요."
        ),
        "sweep_table_head": "🔬 *스윕 #{id}* · {status} · 시도 {done}/{count} · 기준 {objective}",
        "sweep_row": "{best}#{number} {values} · {status} · 에폭 {epoch}/{epochs} · {metric}",
        "sweep_row_pruned": "✂️ 조기 중단",
        "sweep_row_failed": "❌ 실패: {reason}",
        "sweep_status_running": "진행 중",
        "sweep_status_completed": "완료",
        "sweep_status_stopped": "중지됨",
        "sweep_status_draft": "시작 전",
        "sweep_status_discarded": "대체됨",
        "sweep_done": (
            "🏆 스윕 #{id} 완료. 최고: 시도 {number} ({values}), 실행 #{run_id}, "
            "{objective} *{value}*. 다른 실행처럼 예측, 내보내기, 추가 학습을 할 수 있어요."
        ),
        "sweep_done_none": "스윕 #{id}이(가) 끝났지만 완료된 시도가 없어요.",
        "sweep_list_line": "🔬 스윕 #{id} · {status} · 시도 {count}개 · 최고 {best}",
        "sweep_list_title": "스윕",
        "sweep_none": "이 스레드에는 시작하거나 중지할 스윕이 없어요.",
        "sweep_file_chart": "스윕 #{id}: 시도별, 에폭별 {objective}",
        "sweep_chart_at": "차트: {path}",
        "sweep_refused_cannot_vary": "스윕에서 "
        "*{field}*은(는) 바꿀 수 없어요: 모든 시도가 같은 값을 써요. "
        "학습률, 배치 크기, 이미지 크기, 에폭, 모델, 조기 종료를 바꿀 수 있어요.",
        "sweep_refused_bad_value": (
            "{value}은(는) {field}로 쓸 수 없어요: {low}~{high} 사이여야 해요. 아무것도 바뀌지 않았어요."
        ),
        "sweep_refused_bad_name": (
            "{value}은(는) 쓸 수 있는 모델 이름이 아니에요. 아무것도 바뀌지 않았어요."
        ),
        "sweep_refused_one_value": "스윕에는 {field} 값이 두 개 이상 필요해요.",
        "sweep_refused_not_a_range": "{field}은(는) 범위로 탐색할 수 없어요. 시도할 값을 나열해 주세요.",
        "sweep_refused_empty_range": "{field}의 범위 {low}~{high}이(가) 비어 있어요: 앞의 값이 뒤의 값보다 "
        "작아야 해요. 아무것도 바뀌지 않았어요.",
        "sweep_refused_no_budget": "탐색을 몇 번 시도할까요? 예: “8번”.",
        "sweep_refused_too_many_trials": "시도가 {count}개예요. 스윕은 최대 {limit}개까지예요 "
        "(SWEEP_MAX_TRIALS). 값을 줄여 주세요. 아무것도 바뀌지 않았어요.",
        "sweep_refused_too_few_trials": "탐색에는 시도가 2개 이상 필요해요.",
        "sweep_refused_gone": "그 스윕 제안은 새 제안으로 바뀌었어요. 가장 최근 제안을 시작해 주세요.",
        # 중지한 스윕 재개, 시도마다 따로 올리는 진행 메시지 (요청할 때만)
        "sweep_button_resume": "스윕 재개",
        "sweep_button_show_trials": "시도별 진행 보기",
        "sweep_button_hide_trials": "표만 보기",
        "sweep_resumed": (
            "▶️ 스윕 #{id} 재개: 멈춘 시도는 마지막 체크포인트부터 이어서 하고, "
            "취소된 시도는 다시 대기열에 들어가요."
        ),
        "sweep_resume_hint": "이어서 하려면 `스윕 재개`라고 입력하거나 표의 *스윕 재개*를 눌러 주세요.",
        "sweep_resume_hint@console": "이어서 하려면 `스윕 재개`라고 입력해 주세요.",
        "sweep_none_stopped": "이 스레드에는 재개할 중지된 스윕이 없어요.",
        "sweep_none_running": "이 스레드에는 진행 중인 스윕이 없어요.",
        "sweep_still_stopping": "스윕 #{id}의 시도들이 아직 멈추는 중이에요. 잠시 후 다시 재개해 주세요.",
        "sweep_trials_shown": "이제 스윕 #{id}의 시도마다 스레드에 진행 메시지가 따로 올라와요.",
        "sweep_trials_hidden": (
            "스윕 #{id}은(는) 이제부터 표만 보여요. 새 시도는 따로 메시지를 올리지 않아요."
        ),
        "refusal_not_requester_stop": "이 스윕을 시작한 {owner}님이나 관리자만 중지할 수 있어요.",
        "refusal_not_requester_resume": "이 스윕을 시작한 {owner}님이나 관리자만 재개할 수 있어요.",
        "sweep_trials_shown@console": "이제 스윕 #{id}의 시도마다 에폭마다 진행 줄이 따로 나와요.",
        "sweep_stopped_best": (
            "⏹️ 스윕 #{id} 중지됨. 지금까지 최고: 시도 {number} ({values}), 실행 #{run_id}, "
            "{objective} *{value}*."
        ),
        "sweep_stopped_none": "⏹️ 스윕 #{id}은(는) 결과가 나온 시도 없이 중지됐어요.",
        # 시작 전에 "가장 좋은" 기준 바꾸기 ("검증 손실 기준으로 골라줘")
        "sweep_pick_by": "🔬 *{objective}* 기준으로 가장 좋은 시도를 고를게요.",
        "sweep_pick_by_min": "🔬 *{objective}* 기준으로 값이 가장 낮은 시도를 고를게요.",
        "sweep_none_proposed": (
            "이 스레드에는 기준을 바꿀 제안된 스윕이 없어요. "
            "먼저 스윕을 요청해 주세요 (예: “학습률 0.001이랑 0.01”)."
        ),
        "sweep_objective_too_late": "스윕 #{id}은(는) 이미 시작해서 이제 기준을 바꿀 수 없어요.",
        "sweep_already_started": "스윕 #{id}은(는) 이미 시작했어요. 스윕은 두 번 시작하지 않아요.",
    },
}
