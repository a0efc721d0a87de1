"""What a message is (settings, question, command, small talk, cancel) and what a question asks.

Rules only, Korean and English. Every pattern is linear in the input (no nested unbounded repeats), and
the parser never sees more than MAX_MESSAGE_CHARS, so classifying a message is cheap whatever it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.conversation.parsing import ThreadState, acts_here
from bot.runs.when import parse_start_time

_I = re.I
MAX_SCAN = 2000  # characters of a message looked at (the service refuses longer messages)

# a Slack mention, "/train", "hey bot," in front of a command
_LEAD = re.compile(r"^\s*(?:<@[A-Z0-9]+>\s*|/train\s+|(?:hey|hi)\s+(?:bot|trainbot)\s*,?\s*)*", _I)
_TAIL = re.compile(
    r"(?:\s*(?:please|pls|plz|좀|해\s*줘|해\s*주세요|보여\s*줘|보여\s*주세요|해))?[\s.!~]*$", _I
)
_RUN_ID = r"(?:\s*(?:run|런|실행)?\s*(?:#|no\.?\s*|번호\s*)?(?P<run>\d{1,9})(?:\s*번)?)?"
_RUN_ID_FIRST = r"(?:(?:run\s*)?#?(?P<pre>\d{1,9})\s*번?\s*(?:학습|런|실행)?\s*(?:을|를)?\s*)?"

# The words that name each command. A message is a command only when the whole of it is the command: its
# word with the arguments that command takes (a run number, the console's image files), never a request
# that opens with the word ("classify defects into 4 types…", "분류 모델 만들어줘…").
COMMAND_WORDS: dict[str, tuple[str, ...]] = {
    "help": ("help", "도움", "도움말", "명령어", "command", "commands", "사용법", "?", "h"),
    "status": ("status", "상태", "진행 상황", "현황", "what's running", "whats running", "running runs"),
    "list": (
        "list", "runs", "list runs", "run list", "recent runs", "history", "목록", "리스트", "기록",
        "실행 목록", "학습 목록",
    ),
    "stop": ("stop", "중지", "중단", "멈춰", "멈춰줘", "정지", "kill"),
    "resume": ("resume", "재개", "이어서", "이어서 학습", "이어 하기"),
    "start": (
        "start", "start now", "start training", "go", "go ahead", "시작", "지금 시작", "학습 시작",
        "시작 하자", "시작해",
    ),
    "predict": ("predict", "classify", "예측", "분류"),
}  # fmt: skip


def _alternatives(words: tuple[str, ...]) -> str:
    """The words as one regex group; a space in a word matches any spacing ("진행상황", "진행 상황")."""
    return "(?:" + "|".join(re.escape(word).replace(r"\ ", r"\s*") for word in words) + ")"


# what each command takes around its word
_RUN_ARGUMENT = {"stop", "resume", "predict"}
# `predict [run] FILE...` in the console: image (or zip) files, quoted when they hold spaces
_FILES = r"(?:\s+(?:\"[^\"\n]*+\"|'[^'\n]*+'|[^\s\"']*\.[A-Za-z][A-Za-z0-9]{1,4}(?!\S)))*+"


def _grammar(name: str) -> re.Pattern[str]:
    word = _alternatives(COMMAND_WORDS[name])
    if name == "predict":
        return re.compile(_RUN_ID_FIRST + word + r"(?:\s*해\s*(?:줘|주세요))?" + _RUN_ID + _FILES, _I)
    if name in _RUN_ARGUMENT:
        return re.compile(_RUN_ID_FIRST + word + _RUN_ID, _I)
    return re.compile(word, _I)


_COMMANDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, _grammar(name)) for name in COMMAND_WORDS)
# "10 more epochs", "train 5 more epochs", "another 10 epochs", "continue for 10 epochs", "10 에폭 더",
# "5 에폭 더 학습해줘", "10번 더 돌려줘", "추가로 10 에폭": a new run continuing a finished one
_TRAIN_VERB = (
    r"(?:(?:can|could|would)\s+you\s+(?:please\s+)?|please\s+|let'?s\s+)?(?:(?:train|continue(?:\s+training)?|keep\s+(?:training|going)|run|do|go|fine-?tune)\s+"
    r"(?:it\s+|the\s+model\s+|this\s+|that\s+)?(?:for\s+)?)?"
)
_ON_RUN = r"(?:\s+(?:on|for|of|from)\s+(?:run\s*)?#?(?P<run>\d{1,9}))?"
_N = r"(?P<epochs>\d{1,4})"
_EPOCH_WORD = r"(?:에폭|에포크|epochs?|번|회)"
_CONTINUE: tuple[re.Pattern[str], ...] = (
    re.compile(_TRAIN_VERB + r"(?:an?\s+)?" + _N + r"\s*(?:more|additional|extra)(?:\s+epochs?)?" + _ON_RUN,
               _I),
    re.compile(_TRAIN_VERB + _N + r"\s*epochs?\s+more" + _ON_RUN, _I),
    re.compile(_TRAIN_VERB + r"another\s+" + _N + r"(?:\s+epochs?)?" + _ON_RUN, _I),
    re.compile(r"(?:continue|keep\s+training)\s+(?:training\s+)?(?:it\s+|the\s+model\s+)?(?:for\s+)?" + _N
               + r"\s*(?:more\s+)?epochs?" + _ON_RUN, _I),
    re.compile(r"(?:(?:이어서|계속|추가로)\s*)?" + _N + r"\s*" + _EPOCH_WORD + r"\s*(?:더|추가(?:로)?)\s*"
               r"(?:(?:학습|훈련|이어서\s*학습)\s*)?(?:(?:시켜|돌려|해|진행해|진행)\s*)?"
               r"(?:줘|주세요|줄래요?|봐|보자)?", _I),
    re.compile(r"추가로\s*" + _N + r"\s*" + _EPOCH_WORD + r"\s*(?:(?:학습|훈련)\s*)?(?:(?:시켜|돌려|해)\s*)?"
               r"(?:줘|주세요|줄래요?)?", _I),
)  # fmt: skip
# "export onnx", "export it to ONNX", "onnx로 내보내줘", "ONNX 파일로 변환해 줘", "onnx export"
_POLITE = r"(?:(?:can|could|would)\s+you\s+(?:please\s+)?|please\s+|let'?s\s+)?"
_EXPORT_ONNX = re.compile(
    _POLITE + r"(?:(?:export|convert|save)\s+(?:it\s+|the\s+model\s+|this\s+|the\s+best\s+model\s+)?"
    r"(?:to\s+|as\s+|in\s+)?(?:an?\s+)?onnx(?:\s+(?:format|file|model))?|onnx(?:\s+(?:export|file|model|please))?"
    r"|give\s+me\s+(?:an?\s+|the\s+)?onnx(?:\s+(?:file|model))?|onnx\s*(?:파일|모델|형식|포맷)?\s*(?:로|으로)?\s*(?:내보내|변환|추출|저장|export|만들어)"
    r"\s*(?:줘|주세요|줄래요?|기|해\s*줘|해\s*주세요)?)" + _ON_RUN,
    _I,
)
# "again with confidence 0.6", "threshold 0.3 again", "redo at 40%", "신뢰도 0.6으로 다시", "0.3으로 다시":
# a finished detection run's last images answered again at another score threshold (never a setting:
# "again"/"다시" is what makes it this command)
_CONF_WORD = (
    r"(?:confidence|conf|threshold|score\s+threshold|score|cut-?off|신뢰도|임계값|점수\s*기준|점수|기준)"
)
_CONF = r"(?P<conf>\d{1,2}(?:\.\d+)?\s*%|\d?\.\d+|[01])"
_CONF_JOIN = r"\s*(?:of\s+|at\s+|=\s*|:\s*)?"
_AGAIN_VERB = (
    r"(?:(?:do|show|answer|run|try|check)\s+)?(?:(?:it|them|that|those|these|the\s+images)\s+)?"
    r"(?:again|redo|rerun|re-run)"
)
_RETHRESHOLD: tuple[re.Pattern[str], ...] = (
    re.compile(_AGAIN_VERB + r"\s+(?:with|at|using|for)\s+(?:an?\s+|the\s+)?(?:" + _CONF_WORD + _CONF_JOIN
               + r")?" + _CONF, _I),
    re.compile(r"(?:with\s+|at\s+)?(?:an?\s+|the\s+)?" + _CONF_WORD + _CONF_JOIN + _CONF
               + r"\s+(?:again|this\s+time)", _I),
    re.compile(r"(?:" + _CONF_WORD + r"\s*(?:를|을|은|는)?\s*)?" + _CONF
               + r"\s*(?:으로|로|에서)?\s*(?:바꿔서\s*|놓고\s*)?"
               r"다시(?:\s*(?:해|보여|돌려|찾아|그려|답해)\s*)?(?:줘|주세요|줄래요?|봐)?", _I),
)  # fmt: skip
_SHOW = re.compile(r"^(?:show|give|tell)\s+(?:me\s+)?(?:the\s+|my\s+)?", _I)
_START_WORD = re.compile(r"\bstart\b|시작", _I)

_CANCEL = re.compile(
    r"^\s*(?:cancel|취소|그만\s*(?:할게|해|하자)|never\s*mind|nevermind|forget\s+it|없던\s*걸로)", _I
)
_SMALLTALK = re.compile(
    r"^\s*(?:hi|hello|hey|yo|good\s+(?:morning|afternoon|evening)|thanks|thank\s+you|thx|ty|cheers|great|nice|"
    r"cool|awesome|ok|okay|k|sure|got\s+it|lol|안녕(?:하세요)?|하이|ㅎㅇ|고마워(?:요)?|감사(?:합니다|해요)?|"
    r"땡큐|좋아(?:요)?|굿|오케이|알겠어(?:요)?|넵|네|응|ㅋ+|ㅎ+|ㅇㅋ|👍|🙏|😀|🙂)"
    r"(?:[\s!.~,]*(?:bot|trainbot|there|everyone|all|guys|team|again|a\s+lot|so\s+much|very\s+much))?[\s!.~]*$",
    _I,
)

# --- questions ----------------------------------------------------------------------------------------------
_EN_QUESTION_START = re.compile(
    r"^\s*(?:so\s+|and\s+|but\s+|also\s+|ok\s+|okay\s+|hmm\s+)?(?:what|what's|whats|which|how|why|when|where|who|"
    r"is|are|am|was|were|should|shall|can|could|would|will|do|does|did|may|might|isn't|aren't|won't|"
    r"wouldn't|has|have|any)\b",
    _I,
)
_EN_ASKS_INFO = re.compile(r"\b(?:tell\s+me|show\s+me|explain|i\s+wonder|wondering|curious|any\s+idea)\b", _I)
_KO_INTERROGATIVE = re.compile(
    r"뭐|뭔|뭘|무엇|무슨|어떤|어떻게|어떨|어느|얼마|몇|왜|언제|어디|누가|맞아|맞나|괜찮을|좋을까|나을까|될까|할까|"
    r"알려\s*줘|알려\s*주세요|알려줄래|설명해|궁금|수\s*있(?:어|나|니|을까|어요|나요|습니까)\s*[?？]"
)
_KO_QUESTION_END = re.compile(
    r"(?:까|까요|나요|니|냐|가요|을까|는지|는가|인가|인가요|죠|(?<!면\s)(?<!면)돼|되나|되니|나|어때|좋아|나아)\s*[?？]*\s*$"
)
_QUESTION_MARK = re.compile(r"[?？]\s*$")

# a request phrased as a question ("can you make it 20 epochs?", "20 에폭으로 해줄래?") is a settings message
_EN_REQUEST = re.compile(
    r"^\s*(?:(?:so|ok|okay|and|then|hmm|also)\s+)?(?:can|could|would|will|won't)\s+(?:you|u|we|i)\s+"
    r"(?:please\s+|just\s+|maybe\s+)?(?:make|set|change|use|switch|train|do|go|bump|increase|decrease|reduce|"
    r"lower|raise|try|run|put|update|give|double|halve|start|get|have)\b"
    r"|^\s*(?:how|what)\s+about\b|\b(?:please|pls|plz)\b|\blet'?s\b|\bi(?:'d|\s+would)\s+like\b|\bi\s+want\b",
    _I,
)
_KO_REQUEST = re.compile(
    r"(?:해|바꿔|줄여|늘려|올려|내려|낮춰|높여|키워|써|돌려|설정해|변경해|맞춰|넣어|골라|만들어)\s*(?:줘|줄래|줄\s*수|주세요|주실|주시|줘요|줄래요|볼래)"
    r"|(?:하자|할게|쓰자|가자|해볼까|하면\s*어때|하는\s*(?:건|게)\s*어때|로\s*해|으로\s*해|로\s*하고|으로\s*하고)"
)
# an opinion is asked about a value, so the value is not set ("50 에폭으로 하면 너무 많아?")
_EVALUATIVE = re.compile(
    r"\btoo\s+(?:many|much|few|little|big|small|high|low|large|long)\b|\benough\b|\bok(?:ay)?\s*\?|\bgood\b|\bbetter\b|"
    r"\bbest\b|\bmean\b|\bwork\b|\bfit\b|너무|충분|괜찮|적당|많아|적어|커\?|작아|높아|낮아|나아|좋아\?|될까|돼\?|뜻|의미",
    _I,
)

# --- topics (first match wins) --------------------------------------------------------------------------
_FIELD_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("batch_size", re.compile(r"batch|배치|\bbs\b", _I)),
    ("learning_rate", re.compile(r"learning[\s_-]*rate|\blr\b|학습\s*률|러닝\s*레이트", _I)),
    (
        "image_size",
        re.compile(
            r"image[\s_-]*size|img[\s_-]*size|resolution|해상도|이미지\s*(?:크기|사이즈)|px\b|픽셀", _I
        ),
    ),
    ("epochs", re.compile(r"epoch|에폭|에포크", _I)),
    ("num_classes", re.compile(r"\bclasses\b|클래스", _I)),
)
_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "help",
        re.compile(
            r"what\s+can\s+you\s+do|what\s+do\s+you\s+do|how\s+(?:do\s+i|to|can\s+i)\s+use\s+(?:you|this|it)|"
            r"how\s+does\s+(?:this|it)\s+work|what\s+are\s+you|who\s+are\s+you|(?:뭘|무엇을|뭐)\s*할\s*수\s*있|"
            r"뭐\s*(?:해\s*줄|할)\s*수|어떻게\s*(?:써|사용|쓰)|사용법|도움말|기능|누구",
            _I,
        ),
    ),
    (
        "duration",
        re.compile(
            r"how\s+long|how\s+much\s+time|how\s+many\s+(?:minutes|hours)|how\s+(?:fast|quick)|속도|"
            r"\beta\b|when\s+will\s+(?:it|this|training)|"
            r"take\s+long|\bfinish\b|\bduration\b|얼마나\s*걸|시간이?\s*(?:얼마|얼마나|몇)|몇\s*(?:분|시간)|"
            r"언제\s*(?:쯤|즈음)?\s*끝|끝나|끝날|오래\s*걸|걸려|걸릴|소요",
            _I,
        ),
    ),
    (
        "gpus",
        re.compile(
            r"\bgpus?\b|graphics\s+card|\bcuda\b|\bvram\b|그래픽\s*카드|지피유|\bdevices?\b|hardware|하드웨어|"
            r"장비|\bqueue\b|대기열|동시에|in\s+parallel|at\s+the\s+same\s+time|\bcpu\b",
            _I,
        ),
    ),
    (
        "datasets",
        re.compile(
            r"(?:which|what|any|list)\s+(?:of\s+)?(?:the\s+)?datasets|datasets?\s+(?:are\s+there|do\s+(?:you|i|we)\s+have|"
            r"(?:are\s+)?available|exist)|데이터\s*셋?\s*(?:이|은|는|가)?\s*(?:뭐|목록|어떤|무슨|뭐가|있어|있나|있니)|"
            r"어떤\s*데이터|무슨\s*데이터",
            _I,
        ),
    ),
    (
        "detection_metric",
        re.compile(
            r"(?<![A-Za-z])m?AP(?![A-Za-z])|(?i:mean\s+average\s+precision|(?<![A-Za-z])iou(?![A-Za-z])|intersection\s+over)|"
            r"평균\s*정밀도",
            0,
        ),
    ),
    (
        "detection_model",
        re.compile(
            r"\bdetectors?\b|detection\s+models?|object\s+detection|(?:탐지|검출|디텍션)\s*(?:모델|에|엔|용|은|는)|디텍터",
            _I,
        ),
    ),
    (
        "settings",
        re.compile(
            r"current\s+(?:settings|config)|settings\s+so\s+far|what\s+(?:are|did\s+you\s+set|have\s+you\s+set)\s+"
            r"(?:the\s+|my\s+)?(?:settings|config)|what\s+have\s+(?:you|we)\s+set|show\s+(?:me\s+)?(?:the\s+|my\s+)?"
            r"(?:config|settings)|(?:지금|현재)\s*설정|설정\s*(?:을|이|은)?\s*(?:보여|알려|뭐|어떻게)",
            _I,
        ),
    ),
    (
        "pretrained",
        re.compile(
            r"pre-?train|from\s+scratch|\bscratch\b|처음부터|사전\s*학습|프리\s*트레인|가중치|\bweights?\b|imagenet|"
            r"전이\s*학습|transfer\s+learning|fine[\s-]?tun|파인\s*튜닝|random\s+init",
            _I,
        ),
    ),
)
_MEANING = re.compile(
    r"\bmean|meaning|\bexplain|what\s+(?:is|are|does|'s)|what's|\baffect|\beffect|\bcost|\bhigher\b|\blower\b|"
    r"bigger|smaller|larger|increase|decrease|\bchange\b|\bdo\b|뭐야|뭔가요|뭐예요|뭔데|뭐지|뭐에요|뜻|의미|역할|영향|"
    r"설명|바꾸면|늘리면|줄이면|키우면|높이면|낮추면|올리면|내리면|크면|작으면|높으면|낮으면|어떻게\s*돼|차이",
    _I,
)
_MODEL_WORDS = re.compile(
    r"\bmodels?\b|모델|architecture|아키텍처|backbone|백본|network|네트워크|resnet|efficientnet|convnext|mobilenet|"
    r"\bvit\b|swin|deit|densenet|vgg|레즈넷",
    _I,
)
_RECOMMEND = re.compile(r"어떤\s*걸|뭐가\s*좋|추천|recommend|\bbest\b|\bbetter\b", _I)
# asking what a setting *is* (rather than how much of it to use)
_DEFINITION = re.compile(
    r"\bmean|meaning|\bexplain|what\s+(?:is|are)\s+(?:an?\s+|the\s+)?(?:epoch|batch|learning|image)|what's\s+an?\s|"
    r"뜻|의미|뭐야|뭔가요|뭐예요|뭔데|뭐지|뭐에요|설명",
    _I,
)
_IMAGE_COUNT = re.compile(
    r"(?<![\d.])(\d{1,9})\s*(?:장|개의?\s*(?:이미지|사진)|images?\b|pictures?\b|photos?\b|imgs?\b|samples?\b)",
    _I,
)


@dataclass(frozen=True)
class CommandMatch:
    name: str
    run_id: int | None = None
    epochs: int | None = None  # continue: how many more epochs
    whole: bool = True  # the command's grammar is the whole message (not a start time found inside it)


def strip_lead(text: str) -> str:
    return _LEAD.sub("", text, count=1)


def find_command(text: str) -> CommandMatch | None:
    """The command a whole message is ("help", "status", "stop 7", "predict 3 cat.jpg", "10 more epochs",
    "start at 02:00"), else None. Whether it can act in the thread is the caller's to decide."""
    if len(text) > MAX_SCAN:  # the console's `predict` may list many files; nothing longer is parsed
        return None
    lead = strip_lead(text)
    body = _SHOW.sub("", _TAIL.sub("", lead, count=1).strip(), count=1)
    if not body:
        return None
    asked = body.rstrip("?？ ")  # "can you train 5 more epochs?" asks for it
    for pattern in _CONTINUE:
        match = pattern.fullmatch(asked)
        if match:
            run = match.groupdict().get("run")
            return CommandMatch("continue", int(run) if run else None, int(match.group("epochs")))
    if threshold_asked(text) is not None:
        return CommandMatch("rethreshold")
    onnx = _EXPORT_ONNX.fullmatch(asked)
    if onnx:
        return CommandMatch("export_onnx", int(onnx.group("run")) if onnx.group("run") else None)
    for name, pattern in _COMMANDS:
        match = pattern.fullmatch(body)
        if match:
            groups = match.groupdict()
            run = groups.get("run") or groups.get("pre")
            return CommandMatch(name, int(run) if run else None)
    if _START_WORD.search(body) and parse_start_time(body, datetime.now(UTC), "UTC") is not None:
        return CommandMatch("start", whole=False)
    return None


def threshold_asked(text: str) -> float | None:
    """The score threshold a whole "again with confidence 0.6" message asks for (0.6; "40%" is 0.4),
    unchecked; None when the message is not that."""
    body = _SHOW.sub("", _TAIL.sub("", strip_lead(text), count=1).strip(), count=1).rstrip("?？ ")
    for pattern in _RETHRESHOLD:
        match = pattern.fullmatch(body)
        if match:
            value = match.group("conf").replace(" ", "")
            return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    return None


# The settings a command's own arguments read as ("10 에폭 더" names epochs, "predict ./a/cat.jpg" a path):
# they are the command's, never a reason to read the message as settings.
ARGUMENT_FIELDS: dict[str, frozenset[str]] = {
    "continue": frozenset({"epochs"}),
    "predict": frozenset({"dataset_path"}),
    "rethreshold": frozenset({"score_threshold"}),
}


def command_stands(command: CommandMatch, settings: set[str], thread: ThreadState) -> bool:
    """Whether a message that matched `command` is that command, given the settings the message also reads
    as. Reading as nothing else, it is the command anywhere (where it cannot act, the front end says why).
    Reading as other settings too, it is the command only where it can act; a start time found inside a
    longer message never is."""
    other = settings - ARGUMENT_FIELDS.get(command.name, frozenset()) if command.whole else settings
    if not other:
        return True
    return command.whole and acts_here(command.name, command.run_id, thread)


def is_cancel(text: str) -> bool:
    return bool(_CANCEL.search(text))


def is_smalltalk(text: str) -> bool:
    return bool(_SMALLTALK.match(strip_lead(text)))


def is_question(text: str, *, bare_value: bool = False) -> bool:
    """Asked as a question. With `bare_value` (the message also states a value), a question mark alone
    does not count: "40 epochs?" and "한 40번쯤?" answer the bot's question, hedged."""
    stripped = strip_lead(text)[:MAX_SCAN]
    tail = stripped.rstrip()[-12:]
    if _EN_QUESTION_START.match(stripped) or _EN_ASKS_INFO.search(stripped):
        return True
    if _KO_INTERROGATIVE.search(stripped) or _KO_QUESTION_END.search(tail):
        return True
    if not _QUESTION_MARK.search(tail):
        return False
    return not bare_value or bool(_EVALUATIVE.search(stripped))  # "50 에폭은 너무 많아?" asks an opinion


def is_request(text: str) -> bool:
    """Phrased as a request ("can you make it…", "…해줄래?", "how about…"), unless it asks an opinion about
    the value ("is 50 epochs too many?", "50 에폭이면 충분해?")."""
    stripped = strip_lead(text)
    if not (_EN_REQUEST.search(stripped) or _KO_REQUEST.search(stripped)):
        return False
    return not _EVALUATIVE.search(stripped) or bool(re.match(r"^\s*(?:can|could|would|will)\s", stripped, _I))


def asked_field(text: str) -> str | None:
    for name, pattern in _FIELD_WORDS:
        if pattern.search(text):
            return name
    return None


def question_topic(text: str) -> tuple[str, str | None]:
    """(topic, field) of a question; topic "unknown" when nothing fits."""
    field = asked_field(text)
    for topic, pattern in _TOPICS:
        if topic == "pretrained" and field not in (None, "epochs"):
            break  # "should the learning rate be lower for fine-tuning?" is about the learning rate
        if pattern.search(text):
            return topic, None
    if field not in (None, "epochs") and not _MODEL_WORDS.search(text):
        return "field", field
    if _TOPIC_PRETRAINED.search(text):
        return "pretrained", None
    if field == "epochs" and _DEFINITION.search(text):
        return "field", "epochs"
    if field not in (None, "epochs") and _MEANING.search(text):
        return "field", field
    if _MODEL_WORDS.search(text):
        return "model", None
    if field == "epochs" or re.search(r"how\s+many\s+times|몇\s*번", text, _I):
        return "epochs", "epochs"
    if _IMAGE_COUNT.search(text) or _RECOMMEND.search(text):
        return "model", None
    if field is not None:
        return "field", field
    return "unknown", None


_TOPIC_PRETRAINED = dict(_TOPICS)["pretrained"]


def image_count(text: str) -> int | None:
    """An image count a question names ("for 400 images", "400장이면")."""
    match = _IMAGE_COUNT.search(text)
    return int(match.group(1)) if match else None
