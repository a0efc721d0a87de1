"""Texts about dataset uploads (.zip in a thread): why a zip was refused. `{name}` and `{member}` come cut
to one short line (bot.uploads.shown_name); escaping them is the front end's job."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "upload_not_zip": "`{name}` is not a readable .zip file.",
        "upload_no_classes": "`{name}` needs one folder per class (at least two), each with images, e.g. "
        "`cat/1.jpg`, `dog/1.jpg` (optionally inside `train/` and `val/`), or, for object detection, images "
        "with box labels: YOLO (`images/` and `labels/`), COCO (a `.json` of boxes) or VOC (`Annotations/`).",
        "upload_detection_invalid": "`{name}` holds a {format} detection dataset, but it can't be used as it "
        "is: {reason}. Nothing was kept.",
        "upload_outside": "`{name}` was refused: the member `{member}` points outside the folder it would be "
        "extracted to. Nothing was extracted.",
        "upload_symlink": "`{name}` was refused: `{member}` is a symbolic link. Nothing was extracted.",
        "upload_no_images": "`{name}` holds no image files (.jpg, .png, ...).",
        "upload_too_many_files": "`{name}` holds {count} files; the limit is {limit}. Nothing was extracted.",
        "upload_too_big": "`{name}` would unpack to {size}; the limit is {limit}. Nothing was extracted.",
        "upload_quota": "`{name}` would unpack to {size}, and your uploads already take {used} of your "
        "{quota} quota. Nothing was extracted; an admin can remove your older uploads under `uploads/`.",
        "upload_quota_full": "Your uploads already take {used} of your {quota} quota, so `{name}` was not "
        "unpacked; an admin can remove your older uploads under `uploads/`.",
        "upload_bomb": "`{name}` unpacks to more than {limit}. Nothing was kept.",
        "upload_damaged": "`{name}` is damaged: `{member}` does not match its declared size or checksum. "
        "Nothing was kept.",
        "upload_encrypted": "`{name}` is password-protected (`{member}`); upload a zip without a password. "
        "Nothing was extracted.",
        "upload_compression": "`{name}` uses a compression method the bot cannot unpack ({method}, in "
        "`{member}`); make the zip again with the standard (Deflate) compression. Nothing was extracted.",
        "upload_unwritable": "`{name}` could not be unpacked: `{member}`: {reason}. Nothing was kept.",
        "upload_no_link": "Slack gave no download link for `{name}`.",
        "upload_external": "`{name}` is not stored in Slack (it is a link to another service), so the bot "
        "does not download it; upload the file itself to the thread.",
        "upload_over_limit": "`{name}` is larger than the upload limit ({limit}).",
        "upload_download_failed": "Downloading `{name}` from Slack failed ({reason}); try again.",
        "upload_not_permitted": "Slack did not let the bot download `{name}` (is the files:read scope "
        "granted?).",
    },
    "ko": {
        "upload_not_zip": "`{name}`은(는) 읽을 수 있는 .zip 파일이 아니에요.",
        "upload_no_classes": "`{name}`에는 클래스마다 이미지가 든 폴더가 (두 개 이상) 있어야 해요. 예: "
        "`cat/1.jpg`, `dog/1.jpg` (`train/`, `val/` 안에 있어도 돼요). 객체 탐지라면 박스 라벨이 "
        "붙은 이미지가 필요해요: YOLO (`images/`와 `labels/`), COCO (박스가 적힌 `.json`), "
        "VOC (`Annotations/`).",
        "upload_detection_invalid": "`{name}`에는 {format} 형식의 탐지 데이터셋이 있지만 지금 상태로는 쓸 수 "
        "없어요: {reason}. 아무것도 남기지 않았어요.",
        "upload_outside": "`{name}`을(를) 거부했어요: `{member}` 항목이 풀 폴더 바깥을 가리켜요. "
        "아무것도 풀지 않았어요.",
        "upload_symlink": "`{name}`을(를) 거부했어요: `{member}`은(는) 심볼릭 링크예요. "
        "아무것도 풀지 않았어요.",
        "upload_no_images": "`{name}`에 이미지 파일(.jpg, .png 등)이 없어요.",
        "upload_too_many_files": "`{name}`에 파일이 {count}개 있어요. 한도는 {limit}개예요. "
        "아무것도 풀지 않았어요.",
        "upload_too_big": "`{name}`을(를) 풀면 {size}가 돼요. 한도는 {limit}예요. 아무것도 풀지 않았어요.",
        "upload_quota": "`{name}`을(를) 풀면 {size}가 되는데, 올린 파일이 이미 할당량 {quota} 중 {used}를 "
        "쓰고 있어요. 아무것도 풀지 않았어요. 관리자가 `uploads/` 아래의 예전 업로드를 지울 수 있어요.",
        "upload_quota_full": "올린 파일이 이미 할당량 {quota} 중 {used}를 쓰고 있어서 `{name}`을(를) 풀지 "
        "않았어요. 관리자가 `uploads/` 아래의 예전 업로드를 지울 수 있어요.",
        "upload_bomb": "`{name}`을(를) 풀면 {limit}를 넘어요. 아무것도 남기지 않았어요.",
        "upload_damaged": "`{name}`이(가) 손상됐어요: `{member}`의 크기나 체크섬이 맞지 않아요. "
        "아무것도 남기지 않았어요.",
        "upload_encrypted": "`{name}`에 비밀번호가 걸려 있어요 (`{member}`). "
        "비밀번호 없는 zip으로 올려 주세요. 아무것도 풀지 않았어요.",
        "upload_compression": "`{name}`은(는) 풀 수 없는 압축 방식을 써요 "
        "(`{member}`의 {method}). 표준(Deflate) 압축으로 zip을 다시 만들어 주세요. 아무것도 풀지 않았어요.",
        "upload_unwritable": "`{name}`을(를) 풀 수 없었어요: `{member}`: {reason}. 아무것도 남기지 않았어요.",
        "upload_no_link": "Slack이 `{name}`의 내려받기 링크를 주지 않았어요.",
        "upload_external": "`{name}`은(는) Slack에 저장된 파일이 아니라 다른 서비스의 링크라서 봇이 "
        "내려받지 않아요. 파일 자체를 스레드에 올려 주세요.",
        "upload_over_limit": "`{name}`이(가) 올리기 한도({limit})보다 커요.",
        "upload_download_failed": "Slack에서 `{name}`을(를) 내려받지 못했어요 ({reason}). "
        "다시 시도해 주세요.",
        "upload_not_permitted": "Slack이 봇에게 `{name}` 내려받기를 허락하지 않았어요 (`files:read` 권한이 "
        "있나요?).",
    },
}
