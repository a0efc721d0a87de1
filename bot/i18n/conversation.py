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
        "gpus_over_host": "This host has {found} GPU(s); a run can use at most {most}, so `{value}` GPUs "
        "is too many and I kept {kept}.",
        "gpus_over_host_none": "This host has no GPU: a run trains on the CPU in one process, so I can't use "
        "`{value}` GPUs; I kept {kept}.",
        "gpus_over_partition": "The nodes of {partition} have at most {found} GPU(s); a run uses one node, "
        "so it can use at most {most}: `{value}` GPUs is too many and I kept {kept}.",
        "slurm_partition": "Slurm partition `{name}`",
        "slurm_default_partition": "the default Slurm partition",
        "auto_classes": "from the dataset",
        "path_outside": "I can't use `{value}`: datasets must be folders inside DATA_ROOT (e.g. `cats`).",
        "path_not_found": "There is no dataset `{value}` under DATA_ROOT. Available: {names}.",
        "path_empty": "`{value}` has no class folders with images (expected `{value}/<class>/<image>.jpg`).",
        "no_datasets": "none yet (upload a .zip or copy an ImageFolder into DATA_ROOT)",
        "dataset_found": "Found `{name}`: {count} classes, {images} images ({classes}).",
        "classes_disagree": "You said {stated} classes, but the dataset has {actual}; I'll use {actual}.",
        "not_checked": "(not checked: `{value}` does not exist under DATA_ROOT here)",
        "summary_title": "*Ready to train.* Every setting:",
        "default": "default",
        "summary_gpus_none": "none on this host (it trains on the CPU)",
        "task_classification": "classification",
        "task_detection": "object detection",
        "duration_detection_guess": "A rough guess, not a measurement: about {total} for {epochs} epochs "
        "({images} images at about {per_image} s each per epoch, a detector's typical cost at {size}px on "
        "this host's {device}). No detection run of {model} has finished an epoch here yet; after one, "
        "estimates come from its measured times.",
        "summary_estimate_guess": "Estimated time: roughly {total} (a guess: no detection run of this model "
        "has finished an epoch on this host yet)",
        "ask_task": "Should the model say *what* the image is (classification), or *where* things are in it "
        "(object detection, with boxes)? Until you say, or a dataset shows it, I'll set up a classifier.",
        "summary_weights_detector": "yes (COCO-trained detector weights from torchvision; random "
        "initialisation when this host can't download them)",
        "detector_advice_cuda": "For object detection{device} I'd use `{model}` (the default): Faster R-CNN "
        "with a ResNet-50 FPN backbone, started from its COCO weights, is the most accurate of the detectors "
        "here on small datasets, and 640 px images in batches of 8 fit one GPU.",
        "detector_advice_cpu": "For object detection{device} I'd use `{model}`: Faster R-CNN with a "
        "MobileNetV3 backbone at 320 px is several times cheaper per image than the ResNet-50 default, "
        "which a CPU trains very slowly.",
        "detector_advice_data": "Your dataset has {images} images and {boxes} boxes; the rarest class has "
        "{fewest}.",
        "detector_advice_few_boxes": "With {fewest} boxes for a class, keep the pretrained (COCO) weights on "
        "and expect that class to be found less reliably; more labelled boxes help it most.",
        "detector_advice_images": "For {images} images: what matters most is the number of boxes per class "
        "(a few hundred each is a good start) and keeping the pretrained weights on.",
        "detection_metric": "*mAP* (mean average precision) is how a detector is scored: for each class, "
        "the predicted boxes are ranked by score and matched to the true boxes; a match needs an IoU "
        "(overlap: intersection over union) of at least 0.5 for *mAP@.50*, and *mAP@[.50:.95]* averages "
        "over IoU thresholds from 0.5 to 0.95 (stricter about position). Precision averaged over recall "
        "gives each class's AP; their mean is the mAP (0 to 1, higher is better).",
        "task_from_dataset": "`{name}` is a detection dataset, so this run trains an object detector "
        "(say “make it a classifier” to change that).",
        "model_reset_for_task": "`{old}` is not a model for {task}, so the model is now that task's default, "
        "`{new}`.",
        "classifier_for_detection": "`{value}` is an image classifier; an object detector is one of "
        "torchvision's detectors ({matches}). I kept {kept}.",
        "detector_for_classification": "`{value}` is an object detector, but this run classifies images: "
        "say “make it a detector” to train one, or name a timm classifier ({matches}). I kept {kept}.",
        "unknown_detector": "There is no detector `{value}`; did you mean {matches}? I kept {kept}.",
        "score_threshold_classification": "The {label} is for object detection (the lowest score a box "
        "needs to be shown); this run classifies images, so I changed nothing.",
        "dataset_found_detection": "Found `{name}`: a {format} detection dataset with {count} classes, "
        "{images} images and {boxes} boxes (boxes per class: {classes}); {empty} images have no boxes.",
        "detection_warning_clipped_boxes": "{n} boxes reach outside their image; they are cut to its edge.",
        "detection_warning_tiny_boxes": "{n} boxes are tiny (under 1% of the image's side); they are hard "
        "to learn.",
        "detection_warning_duplicate_boxes": "{n} boxes are listed twice in the same image; one of each "
        "is kept.",
        "detection_warning_images_without_labels": "{n} images have no label entry; they are left out.",
        "detection_warning_labels_without_images": "{n} label entries name an image that is missing; "
        "they are left out.",
        "detection_warning_unreadable_images": "{n} images can't be read; they are left out.",
        "detection_warning_resized_annotations": "{n} images are a different size than their labels say; "
        "their boxes are scaled to the file.",
        "detection_warning_crowd_boxes": "{n} crowd boxes (COCO iscrowd) are left out.",
        "detection_dataset_refused": "`{name}` looks like a {format} detection dataset, but it can't be "
        "used as it is: {reason}",
        "dataset_is_detection": "`{name}` is an object-detection dataset ({format}: images with box labels), "
        "but this run is an image classifier, which needs one folder per class "
        "(`{name}/<class>/<image>.jpg`). Say “make it a detector” to train a detector on it, or give a "
        "dataset of class folders.",
        "dataset_is_classification": "`{name}` is an image-classification dataset (one folder per class), "
        "but this run is an object detector, which needs images with box labels: YOLO (`images/` and "
        "`labels/*.txt`), COCO (a JSON file of boxes) or VOC (`Annotations/*.xml`). Say “make it a "
        "classifier” to classify with it, or give a detection dataset.",
        "cancelled": "Cancelled. Mention me again when you want to set up a new training run.",
        "nothing_understood": "I didn't catch a setting in that.",
        "yes": "yes",
        "no": "no (from scratch)",
        "claude_fallback": "_(Claude unavailable: {why}; used the built-in parser.)_",
        "not_whole": "{label} must be a whole number between {low} and {high}; `{value}` isn't, so I kept "
        "{kept}.",
        "unknown_model": "timm has no model `{value}`; did you mean {matches}? I kept {kept}.",
        "unknown_model_no_match": "timm has no model `{value}` (names are as in `timm.list_models()`); "
        "I kept {kept}.",
        "unattached": "I'm not sure which setting `{value}` is for, so I changed nothing. Say it with the "
        "setting, e.g. “{value} epochs” or “batch size {value}”.",
        "too_long": "That message is too long for me ({length} characters; at most {max}). Please send "
        "the settings in a shorter message.",
        "start_not_ready": "Not ready to start yet: I still need {missing}.",
        "next_ready": "Everything is set: press *Start* on the summary, or type `start`.",
        "command_status": "Running and queued runs: `/train status`.",
        "command_list": "Recent runs and their results: `/train list`.",
        "command_stop": "To stop a run, press *Stop* on its progress message, or use `/train stop <run>`.",
        "command_resume": "To resume a run, press *Resume* on its final message.",
        "command_predict": "To try a finished run's model, post images (or a .zip of them) in its thread.",
        "command_export_onnx": "To export a finished run's model to ONNX, press *Export ONNX* on its "
        "final message, or say `export onnx` in its thread.",
        "command_continue": "To train a finished or stopped run more, say `10 more epochs` in its thread.",
        "hello": "Hello! I set up and run image-classifier training from this thread.",
        "thanks": "You're welcome!",
        "help": "*What I can do:* set up and run training of an image classifier from this conversation.\n"
        "• Describe it: “resnet18 on cats, 20 epochs, batch 32” or “ResNet50으로 고양이 3종류 분류해줘”.\n"
        "• Change anything before Start: “batch 16”, “actually 30 epochs”, “from scratch”.\n"
        "• Ask me: “which model suits my data?”, “how many epochs?”, “how long will it take?”, "
        "“what does batch size do?”, “which GPUs are there?”, “current settings?”.\n"
        "• Commands: `help`, `status` (running and queued runs), `list` (recent runs), `start` "
        "(or `start at 02:00`), `stop <run>`, `resume <run>`, `cancel`.",
        "cant_answer": "I can't answer that yet. I can answer questions about models, epochs, training "
        "time, the settings, datasets and GPUs:",
        "settings_now": "*Settings so far:*",
        "still_needed": "Still needed: {missing}.",
        "how_to_set": "To use it, say “{example}”.",
        # which model
        "model_need_data": "Tell me the dataset first and I'll base the advice on its size. In general: "
        "for a few thousand images or fewer, a small pretrained model ({small}) fine-tunes well; "
        "with tens of thousands, a larger one ({large}) pays off.",
        "model_small": "With {images} images{per_class} that is a small dataset: I'd use *{model}* with "
        "pretrained weights. A small pretrained model learns few images well without overfitting, and "
        "trains fast{device}.",
        "model_medium": "With {images} images{per_class} I'd use *{model}*: big enough to use that much "
        "data, still quick to train{device}.",
        "model_large": "With {images} images{per_class} a larger model pays off: *{model}*{device}.",
        "per_class": " (about {count} per class)",
        "on_cpu": " on this host's CPU (there is no GPU)",
        "on_gpu": " on {gpu}",
        "model_no_weights": "But pretrained weights for {model} can't be had on this host ({why}), so it "
        "would start from random initialisation: with few images expect clearly lower accuracy, and plan "
        "more epochs (30–50).",
        # epochs
        "epochs_pretrained": "For fine-tuning pretrained weights, 10–20 epochs usually suffice ({small}); "
        "the run keeps the best epoch by validation accuracy, so extra epochs mostly cost time.",
        "epochs_scratch": "From random initialisation the model needs many more passes: 50–100 epochs "
        "or more; with few images it may overfit, so watch the validation accuracy.",
        "epochs_small_data": "with few images, up to 30",
        "epochs_plenty_data": "with many images, even 5–10 can be enough",
        "epochs_value_many": "{value} epochs is more than this usually needs: it will work, but most of the "
        "later epochs add time, not accuracy.",
        "epochs_value_few": "{value} epochs is on the short side: the model may not have converged yet.",
        "epochs_value_fine": "{value} epochs is a reasonable choice.",
        "epochs_value_time": "On this host that is about {time}.",
        # duration
        "duration_estimate": "About {total} for {epochs} epochs (about {per_epoch} per epoch over {images} "
        "images{overhead}), from {runs} past run(s) of {model} on this host's {device}{scaled}.",
        "duration_overhead": ", and about {time} to start, test and export",
        "duration_measured": "About {total} for {epochs} epochs (about {per_epoch} per epoch over {images} "
        "images{overhead}), from a quick measurement of {model} on this host's {device} just now: no run of "
        "it has finished here yet. The first run will tell more exactly.",
        "duration_start_up": ", and about {time} to start",
        "duration_scaled": ", scaled from {size}px to {target}px",
        "duration_no_history": "I have no basis for an estimate yet: no past run of {model} has finished an "
        "epoch on this host's {device}. After the first run I can tell.",
        "duration_need_data": "I can estimate once I know the dataset (its image count sets the time).",
        "minutes": "{n} min",
        "seconds": "{n} s",
        "hours": "{h} h {m} min",
        # fields
        "field_batch_size": "*Batch size* is how many images the model sees per step. Larger: more GPU "
        "memory (roughly in proportion) and faster epochs until the device is full; a much larger batch "
        "may want a higher learning rate. Smaller: less memory (the fix for out-of-memory errors), noisier "
        "but often fine updates.",
        "field_learning_rate": "*Learning rate* is the size of each weight update. Too high: the loss jumps "
        "or diverges; too low: training crawls. For fine-tuning pretrained weights 1e-4 to 1e-3 is "
        "typical (the default is 0.001, with AdamW and a cosine schedule). It costs no memory or speed.",
        "field_image_size": "*Image size* is the side, in pixels, images are resized to. Larger: more "
        "detail (helps with small objects), but memory and time grow with the area: twice the side is "
        "about four times the cost. Most pretrained models were trained at 224px.",
        "field_epochs": "*Epochs* is how many passes over the training images. Time grows in proportion; "
        "the best epoch by validation accuracy is kept, so more epochs mostly cost time (and can overfit).",
        "field_num_classes": "*Classes* are the categories to tell apart. They come from the dataset's "
        "class folders (`DATA_ROOT/<dataset>/<class>/*.jpg`), so you don't need to set them.",
        "field_model": "*Model* is the timm architecture to train, e.g. `resnet18`, `efficientnet_b0`, "
        "`convnext_tiny`.",
        "field_pretrained": "*Pretrained weights* start the model from what it learned on ImageNet.",
        "field_now": "Now: {value}.",
        # pretrained
        "pretrained_explain": "*Pretrained weights* start the model from what it learned on ImageNet, so it "
        "learns your classes faster and better, especially with few images. From scratch (random "
        "initialisation) needs far more images and epochs; it is for data unlike photos, or for testing.",
        "weights_cached": "For {model}, the weights are in this host's cache.",
        "weights_hub": "For {model}, the weights will be downloaded from the Hugging Face hub at the start.",
        "weights_unavailable": "For {model}, the weights can't be had on this host (offline and not in the "
        "cache), so a run would start from random initialisation. To use them, put them into this host's "
        "Hugging Face cache (`HF_HOME`).",
        "weights_none": "timm has no pretrained weights for {model}: it trains from random initialisation.",
        "why_offline": "offline and not cached",
        # gpus and queue
        "gpus_some": "This host has {count} GPU(s): {names}. Up to {slots} run(s) train at once, each on its "
        "own GPU; more wait in the queue.",
        "gpus_none": "This host has no GPU: runs train on the CPU, which is much slower (small models and "
        "image sizes help). Up to {slots} run(s) train at once; more wait in the queue.",
        "gpus_per_run": "One run can use up to {most} GPUs together: say “use 2 GPUs” (one process per GPU, "
        "started with torchrun).",
        "queue_now": "Now: {running} running, {queued} queued.",
        # datasets
        "datasets_some": "Datasets under DATA_ROOT: {names}.",
        "datasets_none": "There are no datasets under DATA_ROOT yet: upload a .zip of class folders here, "
        "or copy an ImageFolder into DATA_ROOT.",
        # summary
        "summary_weights_cached": "yes (in this host's cache)",
        "summary_weights_continued": "the continued run's, from its last checkpoint",
        "summary_weights_hub": "yes (downloaded from the Hugging Face hub at the start)",
        "summary_weights_unavailable": "asked for, but *not available here* (offline, not cached): the run "
        "will start from random initialisation. Put the weights into this host's Hugging Face cache to use "
        "them, or say “from scratch”.",
        "summary_weights_none": "none exist for this model in timm: random initialisation",
        "summary_estimate": "Estimated time: about {total} (from {runs} past run(s) on this host)",
    },
    "ko": {
        "ask_dataset_path": "데이터셋 경로를 알려주세요. DATA_ROOT 아래 폴더 이름이면 돼요 (예: `cats`).",
        "ask_dataset_path_available": "지금 있는 데이터셋: {names}.",
        "ask_epochs": "에폭은 몇 번 할까요? (1~{max})",
        "set": "알겠어요: {changes}.",
        "invalid": "{label} 값 `{value}`은(는) 쓸 수 없어요: {reason}.",
        "out_of_range": "{label}은(는) {low}~{high} 사이여야 해요. "
        "`{value}`은(는) 범위를 벗어나서 {kept}(으)로 두었어요.",
        "too_many_epochs": "이 서버에서는 에폭을 최대 {max}까지 할 수 있어요. "
        "`{value}`은(는) 너무 많아서 {kept}(으)로 두었어요.",
        "kept_default": "기본값 {value}",
        "gpus_over_host": "이 서버에는 GPU가 {found}개 있어서 한 학습에 최대 {most}개까지 쓸 수 있어요. "
        "GPU `{value}`개는 너무 많아서 {kept}(으)로 두었어요.",
        "gpus_over_host_none": "이 서버에는 GPU가 없어서 학습은 CPU에서 프로세스 하나로 돌아가요. "
        "GPU `{value}`개는 쓸 수 없어서 {kept}(으)로 두었어요.",
        "gpus_over_partition": "{partition}의 노드에는 GPU가 최대 {found}개 있어요. "
        "한 학습은 노드 하나를 쓰니 최대 {most}개까지 쓸 수 있어요: GPU `{value}`개는 너무 많아서 "
        "{kept}(으)로 두었어요.",
        "slurm_partition": "Slurm 파티션 `{name}`",
        "slurm_default_partition": "기본 Slurm 파티션",
        "auto_classes": "데이터셋에서",
        "path_outside": "`{value}`은(는) 쓸 수 없어요: 데이터셋은 DATA_ROOT 안의 폴더여야 해요 (예: `cats`).",
        "path_not_found": "DATA_ROOT에 `{value}` 데이터셋이 없어요. 있는 데이터셋: {names}.",
        "path_empty": "`{value}`에 이미지가 든 클래스 폴더가 없어요 "
        "(`{value}/<클래스>/<이미지>.jpg` 구조여야 해요).",
        "no_datasets": "아직 없어요 (.zip을 올리거나 클래스별 폴더를 DATA_ROOT에 복사해 주세요)",
        "dataset_found": "`{name}` 데이터셋을 찾았어요: 클래스 {count}개, 이미지 {images}장 ({classes}).",
        "classes_disagree": "클래스가 {stated}개라고 하셨는데 데이터셋에는 {actual}개가 있어요. "
        "{actual}개로 할게요.",
        "not_checked": "(확인 안 됨: 여기 DATA_ROOT에는 `{value}`이(가) 없어요)",
        "summary_title": "*학습 준비가 끝났어요.* 전체 설정:",
        "default": "기본값",
        "summary_gpus_none": "없음 (이 서버는 CPU로 학습해요)",
        "task_classification": "분류",
        "task_detection": "객체 탐지",
        "duration_detection_guess": "측정이 아닌 대략적인 짐작이에요: {epochs} 에폭에 약 {total} (이미지 "
        "{images}장, 에폭마다 장당 약 {per_image}초. 이 서버의 {device}에서 {size}px 탐지 모델이 보통 드는 "
        "시간). 이 서버에서 {model}(으)로 에폭을 끝낸 탐지 학습이 아직 없어요. 한 번 끝나면 그 측정값으로 "
        "예측해요.",
        "summary_estimate_guess": "예상 시간: 대략 {total} (짐작: 이 서버에서 이 모델로 에폭을 끝낸 탐지 "
        "학습이 아직 없어요)",
        "ask_task": "모델이 이미지가 *무엇인지* 말해야 하나요 (분류), 아니면 이미지 *어디에* 무엇이 있는지 "
        "찾아야 하나요 (객체 탐지, 박스 표시)? 말씀하시거나 데이터셋으로 알 수 있을 때까지는 분류로 "
        "준비할게요.",
        "summary_weights_detector": "사용 (토치비전의 COCO 학습 탐지 가중치, 이 서버가 내려받지 못하면 랜덤 "
        "초기화)",
        "detector_advice_cuda": "객체 탐지는{device} `{model}`(기본값)을(를) 추천해요: COCO 가중치에서 "
        "시작하는 ResNet-50 FPN 백본의 Faster R-CNN이 여기 있는 탐지 모델 중 작은 데이터셋에서 "
        "가장 정확하고, "
        "640px 이미지를 8장씩 묶어도 GPU 하나에 들어가요.",
        "detector_advice_cpu": "객체 탐지는{device} `{model}`을(를) 추천해요: 320px의 MobileNet V3 백본 "
        "Faster R-CNN은 이미지 한 장에 드는 계산이 ResNet-50 기본 모델보다 몇 배 적어요. CPU로는 기본 모델 "
        "학습이 아주 느려요.",
        "detector_advice_data": "데이터셋에는 이미지 {images}장, 박스 {boxes}개가 있고 가장 적은 클래스의 "
        "박스는 {fewest}개예요.",
        "detector_advice_few_boxes": "박스가 {fewest}개뿐인 클래스가 있으니 사전학습(COCO) 가중치를 "
        "켜 두세요. "
        "그 클래스는 덜 잘 찾을 수 있고, 라벨 박스를 더 모으는 게 가장 도움이 돼요.",
        "detector_advice_images": "이미지 {images}장이라면 클래스별 박스 수(클래스마다 수백 개면 좋은 "
        "출발점)와 사전학습 가중치를 켜 두는 게 가장 중요해요.",
        "detection_metric": "*mAP*(평균 정밀도의 평균)는 탐지 모델의 점수예요. 클래스마다 예측 박스를 점수 "
        "순으로 세워 실제 박스와 짝지어요. *mAP@.50*에서는 겹침(IoU, 교집합÷합집합)이 0.5 이상이어야 맞은 "
        "것이고, *mAP@[.50:.95]*는 0.5부터 0.95까지 여러 기준의 평균이라 위치에 더 엄격해요. 재현율에 걸친 "
        "정밀도의 평균이 클래스별 AP이고, 그 평균이 mAP예요 (0~1, 높을수록 좋아요).",
        "task_from_dataset": "`{name}`은(는) 객체 탐지 데이터셋이라서 이번 학습은 객체 탐지 모델로 "
        "할게요 (“분류로 바꿔줘”라고 하면 바꿀 수 있어요).",
        "model_reset_for_task": "`{old}`은(는) {task}용 모델이 아니라서 모델을 그 작업의 기본값 "
        "`{new}`(으)로 "
        "바꿨어요.",
        "classifier_for_detection": "`{value}`은(는) 이미지 분류 모델이에요. 객체 탐지 모델은 토치비전의 "
        "탐지 모델 중 하나예요 ({matches}). {kept}(으)로 두었어요.",
        "detector_for_classification": "`{value}`은(는) 객체 탐지 모델인데 이번 학습은 이미지 분류예요. "
        "탐지 모델을 학습하려면 “탐지로 바꿔줘”라고 하거나, timm 분류 모델을 말씀해 주세요 ({matches}). "
        "{kept}(으)로 두었어요.",
        "unknown_detector": "`{value}`(이)라는 탐지 모델은 없어요. 혹시 {matches} 중 하나인가요? "
        "{kept}(으)로 두었어요.",
        "score_threshold_classification": "{label}은(는) 객체 탐지용 설정이에요 (박스를 보여줄 최소 점수). "
        "이번 학습은 이미지 분류라서 아무것도 바꾸지 않았어요.",
        "dataset_found_detection": "`{name}` 데이터셋을 찾았어요: {format} 형식의 객체 탐지 데이터셋, "
        "클래스 {count}개, 이미지 {images}장, 박스 {boxes}개 (클래스별 박스: {classes}). 박스가 없는 "
        "이미지는 {empty}장이에요.",
        "detection_warning_clipped_boxes": "박스 {n}개가 이미지 밖으로 나가서 이미지 경계에 맞춰 잘랐어요.",
        "detection_warning_tiny_boxes": "박스 {n}개가 아주 작아요 (이미지 변의 1% 미만). 학습하기 어려워요.",
        "detection_warning_duplicate_boxes": "같은 이미지에 같은 박스가 두 번 적힌 경우가 {n}개 있어서 "
        "하나씩만 남겼어요.",
        "detection_warning_images_without_labels": "라벨 항목이 없는 이미지 {n}장은 뺐어요.",
        "detection_warning_labels_without_images": "이미지 파일이 없는 라벨 항목 {n}개는 뺐어요.",
        "detection_warning_unreadable_images": "읽을 수 없는 이미지 {n}장은 뺐어요.",
        "detection_warning_resized_annotations": "라벨에 적힌 크기와 실제 크기가 다른 이미지가 {n}장 있어서 "
        "박스를 실제 크기에 맞췄어요.",
        "detection_warning_crowd_boxes": "군중 박스(COCO `iscrowd`) {n}개는 뺐어요.",
        "detection_dataset_refused": "`{name}`은(는) {format} 형식의 탐지 데이터셋 같지만 지금 상태로는 쓸 "
        "수 없어요: {reason}",
        "dataset_is_detection": "`{name}`은(는) 객체 탐지 데이터셋이에요 "
        "({format}: 박스 라벨이 붙은 이미지). "
        "그런데 이번 학습은 이미지 분류라서 클래스마다 폴더가 하나씩 있어야 해요 "
        "(`{name}/<class>/<image>.jpg`). 이 데이터로 탐지 모델을 학습하려면 “탐지로 바꿔줘”라고 하거나, "
        "클래스 폴더로 된 데이터셋을 알려 주세요.",
        "dataset_is_classification": "`{name}`은(는) 이미지 분류 데이터셋이에요 (클래스마다 폴더 하나). "
        "그런데 이번 학습은 객체 탐지라서 박스 라벨이 붙은 이미지가 필요해요: YOLO (`images/`와 "
        "`labels/*.txt`), COCO (박스가 적힌 `.json` 파일), VOC (`Annotations/*.xml`). 이 데이터로 분류하려면 "
        "“분류로 바꿔줘”라고 하거나, 탐지 데이터셋을 알려 주세요.",
        "cancelled": "취소했어요. 새로 학습을 준비하려면 다시 불러 주세요.",
        "nothing_understood": "설정 값을 찾지 못했어요.",
        "yes": "사용",
        "no": "사용 안 함 (처음부터 학습)",
        "claude_fallback": "_(Claude를 쓸 수 없어서({why}) 내장 파서로 처리했어요.)_",
        "not_whole": "{label}은(는) {low}~{high} 사이의 정수여야 해요. `{value}`은(는) 정수가 아니어서 "
        "{kept}(으)로 두었어요.",
        "unknown_model": "timm에 `{value}` 모델이 없어요. 혹시 {matches} 중 하나인가요? {kept}(으)로 "
        "두었어요.",
        "unknown_model_no_match": "timm에 `{value}` 모델이 없어요 (이름은 `timm.list_models()`에 있는 대로). "
        "{kept}(으)로 두었어요.",
        "unattached": "`{value}`이(가) 어떤 설정인지 모르겠어서 아무것도 바꾸지 않았어요. 설정 이름과 함께 "
        "말씀해 주세요 (예: “{value} 에폭”, “배치 {value}”).",
        "too_long": "메시지가 너무 길어요 ({length}자, 최대 {max}자). 설정을 더 짧게 보내 주세요.",
        "start_not_ready": "아직 시작할 수 없어요: {missing}이(가) 더 필요해요.",
        "next_ready": "설정이 다 됐어요. 요약의 *시작*을 누르거나 `시작`이라고 입력해 주세요.",
        "command_status": "실행·대기 중인 학습: `/train status`.",
        "command_list": "최근 학습과 결과: `/train list`.",
        "command_stop": "학습을 멈추려면 진행 메시지의 *중지*를 누르거나 "
        "`/train stop <번호>`를 입력해 주세요.",
        "command_resume": "학습을 이어서 하려면 마지막 메시지의 *이어서 학습*을 눌러 주세요.",
        "command_predict": "끝난 학습의 모델을 써 보려면 그 스레드에 이미지(또는 이미지 .zip)를 올려 주세요.",
        "command_export_onnx": "끝난 학습의 모델을 ONNX로 내보내려면 마지막 "
        "메시지의 *ONNX 내보내기*를 누르거나 "
        "그 스레드에서 `onnx로 내보내줘`라고 말해 주세요.",
        "command_continue": "끝난(또는 멈춘) 학습을 더 하려면 그 스레드에서 `10 에폭 더`라고 말해 주세요.",
        "hello": "안녕하세요! 이 스레드에서 이미지 분류 모델 학습을 준비하고 실행해 드려요.",
        "thanks": "천만에요!",
        "help": "*할 수 있는 일:* 이 대화로 이미지 분류 모델 학습을 준비하고 실행해요.\n"
        "• 설명해 주세요: “ResNet50으로 고양이 3종류 분류해줘”, “resnet18, `cats`, 20 에폭, 배치 크기 32”.\n"
        "• 시작하기 전에는 언제든 바꿀 수 있어요: “배치 16”, “아니 30 에폭으로”, “처음부터 학습”.\n"
        "• 물어보세요: “내 데이터엔 어떤 모델이 좋아?”, “에폭은 몇 번?”, “얼마나 걸려?”, "
        "“배치 크기가 뭐야?”, “GPU 뭐 있어?”, “지금 설정 알려줘”.\n"
        "• 명령: `help`/`도움말`, `status`/`상태` (실행·대기 중인 학습), `list`/`목록` (최근 학습), "
        "`시작` (또는 `새벽 2시에 시작`), `stop <번호>`/`중지`, `resume <번호>`/`재개`, `취소`.",
        "cant_answer": "그 질문에는 아직 답할 수 없어요. 모델, 에폭, 학습 시간, 설정, 데이터셋, GPU에 "
        "대해서는 답할 수 있어요:",
        "settings_now": "*지금까지의 설정:*",
        "still_needed": "아직 필요한 것: {missing}.",
        "how_to_set": "그렇게 하려면 “{example}”(이)라고 말씀해 주세요.",
        "model_need_data": "먼저 데이터셋을 알려 주시면 크기에 맞춰 추천할게요. 일반적으로는: 이미지가 "
        "수천 장 "
        "이하면 작은 사전학습 모델({small})이 잘 맞고, 수만 장이면 더 큰 모델({large})이 효과가 있어요.",
        "model_small": "이미지 {images}장{per_class}이면 작은 데이터셋이에요. 사전학습 가중치로 "
        "*{model}*을(를) "
        "추천해요. 작은 사전학습 모델은 적은 이미지로도 과적합 없이 잘 배우고 빠르게 학습돼요{device}.",
        "model_medium": "이미지 {images}장{per_class}이면 *{model}*을(를) 추천해요. 데이터를 충분히 활용할 "
        "만큼 "
        "크면서도 학습이 빨라요{device}.",
        "model_large": "이미지 {images}장{per_class}이면 더 큰 모델이 효과가 있어요: *{model}*{device}.",
        "per_class": " (클래스당 약 {count}장)",
        "on_cpu": " (이 서버에는 GPU가 없어서 CPU로 학습해요)",
        "on_gpu": " ({gpu})",
        "model_no_weights": "다만 이 서버에서는 {model}의 사전학습 가중치를 구할 수 없어서({why}) 랜덤 "
        "초기화로 "
        "시작하게 돼요. 이미지가 적으면 정확도가 꽤 낮을 수 있으니 에폭을 더 많이(30~50) 잡으세요.",
        "epochs_pretrained": "사전학습 가중치로 파인튜닝하면 보통 10~20 에폭이면 충분해요({small}). 검증 "
        "정확도가 "
        "가장 좋은 에폭을 남기니까 에폭을 늘리면 대부분 시간만 더 들어요.",
        "epochs_scratch": "랜덤 초기화로 처음부터 학습하면 훨씬 많이 돌려야 해요: 50~100 에폭 이상. 이미지가 "
        "적으면 과적합될 수 있으니 검증 정확도를 지켜보세요.",
        "epochs_small_data": "이미지가 적으면 30까지",
        "epochs_plenty_data": "이미지가 많으면 5~10으로도 충분할 수 있어요",
        "epochs_value_many": "{value} 에폭은 보통 필요한 것보다 많아요. 돌아가긴 하지만 뒤쪽 에폭은 "
        "정확도보다 "
        "시간만 더해요.",
        "epochs_value_few": "{value} 에폭은 좀 짧아요. 모델이 아직 수렴하지 않을 수 있어요.",
        "epochs_value_fine": "{value} 에폭이면 적당해요.",
        "epochs_value_time": "이 서버에서는 약 {time} 걸려요.",
        "duration_estimate": "{epochs} 에폭에 약 {total} 걸려요 (이미지 {images}장, 에폭당 약 {per_epoch}"
        "{overhead}). 이 서버의 {device}에서 {model}을(를) 학습한 지난 {runs}번의 기록 기준이에요{scaled}.",
        "duration_overhead": ", 시작·테스트·내보내기에 약 {time}",
        "duration_measured": "{epochs} 에폭에 약 {total} 걸려요 (이미지 {images}장, 에폭당 약 {per_epoch}"
        "{overhead}). 아직 이 서버에서 끝난 {model} 학습이 없어서 방금 {device}에서 잠깐 측정한 값이에요. "
        "첫 학습이 끝나면 더 정확히 알려 드릴게요.",
        "duration_start_up": ", 시작에 약 {time}",
        "duration_scaled": " ({size}px 기록을 {target}px로 환산)",
        "duration_no_history": "아직 예측할 근거가 없어요: 이 서버의 {device}에서 {model}로 에폭을 끝낸 "
        "기록이 "
        "없어요. 첫 학습이 끝나면 알려 드릴 수 있어요.",
        "duration_need_data": "데이터셋을 알려 주시면 예측할 수 있어요 (이미지 수가 시간을 정해요).",
        "minutes": "{n}분",
        "seconds": "{n}초",
        "hours": "{h}시간 {m}분",
        "field_batch_size": "*배치 크기*는 한 스텝에 모델이 보는 이미지 수예요. 크면: GPU 메모리가 (대략 "
        "비례해서) 더 들고, 장치가 꽉 찰 때까지 에폭이 빨라져요. 아주 크면 학습률을 높여야 할 수도 있어요. "
        "작으면: 메모리가 덜 들고 (메모리 부족 오류의 해결책), 업데이트가 조금 더 흔들려요.",
        "field_learning_rate": "*학습률*은 가중치를 한 번에 얼마나 바꿀지예요. 너무 크면 손실이 튀거나 "
        "발산하고, "
        "너무 작으면 학습이 느려요. 사전학습 모델 파인튜닝에는 1e-4~1e-3이 보통이에요 (기본값 0.001, AdamW와 "
        "코사인 스케줄). 메모리나 속도에는 영향이 없어요.",
        "field_image_size": "*이미지 크기*는 이미지를 맞추는 한 변의 픽셀 수예요. 크면 더 자세히 보지만 "
        "(작은 "
        "물체에 도움), 메모리와 시간이 넓이에 비례해서 늘어요: 한 변이 두 배면 비용은 약 네 배예요. 대부분의 "
        "사전학습 모델은 224px로 학습됐어요.",
        "field_epochs": "*에폭*은 학습 이미지 전체를 몇 번 볼지예요. 시간은 비례해서 늘고, 검증 정확도가 "
        "가장 좋은 "
        "에폭을 남기니까 더 돌리면 대부분 시간만 더 들어요 (과적합될 수도 있어요).",
        "field_num_classes": "*클래스*는 구분할 범주예요. 데이터셋의 클래스 폴더에서 정해지니까 "
        "(`DATA_ROOT/<데이터셋>/<클래스>/*.jpg`) 따로 정할 필요가 없어요.",
        "field_model": "*모델*은 학습할 timm 아키텍처예요. 예: `resnet18`, `efficientnet_b0`, "
        "`convnext_tiny`.",
        "field_pretrained": "*사전학습 가중치*는 ImageNet에서 배운 것에서 시작하게 해요.",
        "field_now": "지금 값: {value}.",
        "pretrained_explain": "*사전학습 가중치*를 쓰면 ImageNet에서 배운 것에서 시작하니까, 특히 이미지가 "
        "적을 때 "
        "더 빠르고 더 잘 배워요. 처음부터(랜덤 초기화) 학습하면 이미지와 에폭이 훨씬 많이 필요해요. 사진과 "
        "아주 "
        "다른 데이터나 테스트용일 때 쓰세요.",
        "weights_cached": "{model}의 가중치는 이 서버의 캐시에 있어요.",
        "weights_hub": "{model}의 사전학습 가중치는 시작할 때 Hugging Face 허브에서 내려받아요.",
        "weights_unavailable": "이 서버에서는 {model}의 가중치를 구할 수 없어요 (오프라인이고 캐시에도 "
        "없음). "
        "그래서 랜덤 초기화로 시작하게 돼요. 쓰려면 가중치를 이 서버의 Hugging Face 캐시(`HF_HOME`)에 넣어 "
        "주세요.",
        "weights_none": "timm에는 {model}의 사전학습 가중치가 없어요: 랜덤 초기화로 학습해요.",
        "why_offline": "오프라인이고 캐시에도 없음",
        "gpus_some": "이 서버에는 GPU가 {count}개 있어요: {names}. 한 번에 최대 {slots}개의 학습이 각자 "
        "GPU를 "
        "하나씩 쓰고, 나머지는 대기열에서 기다려요.",
        "gpus_none": "이 서버에는 GPU가 없어서 CPU로 학습해요. 훨씬 느리니 작은 모델과 작은 이미지 크기가 "
        "좋아요. 한 번에 최대 {slots}개가 학습하고, 나머지는 대기열에서 기다려요.",
        "gpus_per_run": "한 학습에 GPU를 최대 {most}개까지 함께 쓸 수 있어요: “GPU 2개로 학습”처럼 "
        "말해 주세요 (GPU마다 프로세스 하나, torchrun으로 시작).",
        "queue_now": "지금: 실행 중 {running}개, 대기 중 {queued}개.",
        "datasets_some": "DATA_ROOT에 있는 데이터셋: {names}.",
        "datasets_none": "DATA_ROOT에 아직 데이터셋이 없어요. 클래스 폴더를 담은 .zip을 여기 올리거나 "
        "클래스별 폴더를 DATA_ROOT에 복사해 주세요.",
        "summary_weights_cached": "사용 (이 서버 캐시에 있음)",
        "summary_weights_continued": "이어서 하는 학습의 마지막 체크포인트",
        "summary_weights_hub": "사용 (시작할 때 Hugging Face 허브에서 내려받음)",
        "summary_weights_unavailable": "요청했지만 *이 서버에서는 구할 수 없어요* (오프라인, 캐시에 없음): "
        "랜덤 초기화로 시작해요. 쓰려면 가중치를 이 서버의 Hugging Face 캐시에 넣거나, “처음부터”라고 해 "
        "주세요.",
        "summary_weights_none": "timm에 이 모델의 사전학습 가중치가 없어요: 랜덤 초기화",
        "summary_estimate": "예상 시간: 약 {total} (이 서버의 지난 {runs}번 기록 기준)",
    },
}
