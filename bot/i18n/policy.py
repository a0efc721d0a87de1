"""Refusals of bot/policy.py, one per reason (and per action where the sentence differs): why the person
may not do it, and whom to ask. `{owner}` is the draft's requester or the run's owner."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "refusal_user_not_listed": "You are not on this bot's list of people who can use it; ask an admin.",
        "refusal_user_not_listed_start": "You are not on this bot's list of people who can start training "
        "runs; ask an admin.",
        "refusal_user_not_listed_upload": "You are not on this bot's list of people who can upload "
        "datasets; ask an admin.",
        "refusal_user_not_listed_predict": "You are not on this bot's list of people who can have images "
        "classified; ask an admin.",
        "refusal_channel_not_listed": "This bot is not set up for this channel; ask an admin, or use a "
        "channel it is set up for.",
        "refusal_channel_not_listed_start": "Training runs can't be started in this channel (it is not on "
        "the bot's list of channels); ask an admin.",
        "refusal_channel_not_listed_upload": "Datasets can't be uploaded in this channel (it is not on the "
        "bot's list of channels); ask an admin.",
        "refusal_not_requester": "Only {owner}, who set this up, or an admin can change this setup.",
        "refusal_not_requester_start": "Only {owner}, who set this up, or an admin can start it.",
        "refusal_not_requester_cancel": "Only {owner}, who set this up, or an admin can cancel it.",
        "refusal_not_owner": "Only the person who started run #{run_id} ({owner}), or an admin, can do that.",
        "refusal_not_owner_stop": "Only the person who started run #{run_id} ({owner}), or an admin, can "
        "stop it.",
        "refusal_not_owner_resume": "Only the person who started run #{run_id} ({owner}), or an admin, can "
        "resume it.",
        "refusal_not_owner_export": "Only the person who started run #{run_id} ({owner}), or an admin, can "
        "export it.",
        "refusal_not_owner_continue": "Only the person who started run #{run_id} ({owner}), or an admin, "
        "can continue it.",
        "refusal_not_owner_or_member": "Only the person who started run #{run_id} ({owner}), an admin, or "
        "members of the channel it was started in can use its model.",
        "refusal_not_owner_or_member_download": "Only the person who started run #{run_id} ({owner}), an "
        "admin, or members of the channel it was started in can download its model.",
        "refusal_rate_limited": "You are sending requests faster than this bot allows for one person; try "
        "again in {seconds} s.",
    },
    "ko": {
        "refusal_user_not_listed": "이 봇을 쓸 수 있는 사람 목록에 없어요. 관리자에게 요청해 주세요.",
        "refusal_user_not_listed_start": "이 봇으로 학습을 시작할 수 있는 사람 목록에 없어요. 관리자에게 "
        "요청해 주세요.",
        "refusal_user_not_listed_upload": "이 봇에 데이터셋을 올릴 수 있는 사람 목록에 없어요. 관리자에게 "
        "요청해 주세요.",
        "refusal_user_not_listed_predict": "이 봇으로 이미지를 분류할 수 있는 사람 목록에 없어요. 관리자에게 "
        "요청해 주세요.",
        "refusal_channel_not_listed": "이 채널에서는 이 봇을 쓸 수 없어요. 관리자에게 요청하거나 봇이 설정된 "
        "채널을 이용해 주세요.",
        "refusal_channel_not_listed_start": "이 채널은 봇의 채널 목록에 없어서 학습을 시작할 수 없어요. "
        "관리자에게 요청해 주세요.",
        "refusal_channel_not_listed_upload": "이 채널은 봇의 채널 목록에 없어서 데이터셋을 올릴 수 없어요. "
        "관리자에게 요청해 주세요.",
        "refusal_not_requester": "이 설정을 시작한 {owner}님이나 관리자만 바꿀 수 있어요.",
        "refusal_not_requester_start": "이 설정을 시작한 {owner}님이나 관리자만 학습을 시작할 수 있어요.",
        "refusal_not_requester_cancel": "이 설정을 시작한 {owner}님이나 관리자만 취소할 수 있어요.",
        "refusal_not_owner": "학습 #{run_id}을(를) 시작한 사람({owner})이나 관리자만 할 수 있어요.",
        "refusal_not_owner_stop": "학습 #{run_id}을(를) 시작한 사람({owner})이나 관리자만 중지할 수 있어요.",
        "refusal_not_owner_resume": "학습 #{run_id}을(를) 시작한 사람({owner})이나 관리자만 재개할 수 "
        "있어요.",
        "refusal_not_owner_export": "학습 #{run_id}을(를) 시작한 사람({owner})이나 관리자만 내보낼 수 "
        "있어요.",
        "refusal_not_owner_continue": "학습 #{run_id}을(를) 시작한 사람({owner})이나 관리자만 이어서 학습할 "
        "수 있어요.",
        "refusal_not_owner_or_member": "학습 #{run_id}을(를) 시작한 사람({owner}), 관리자, 또는 그 학습이 "
        "시작된 채널의 멤버만 모델을 쓸 수 있어요.",
        "refusal_not_owner_or_member_download": "학습 #{run_id}을(를) 시작한 사람({owner}), 관리자, 또는 그 "
        "학습이 시작된 채널의 멤버만 모델을 내려받을 수 있어요.",
        "refusal_rate_limited": "한 사람이 보낼 수 있는 요청 속도를 넘었어요. {seconds}초 뒤에 다시 "
        "해 주세요.",
    },
}
