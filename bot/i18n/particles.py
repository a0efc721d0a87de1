"""Korean particles that depend on the word before them, chosen once the word is known.

A Korean text in the catalogue writes a particle after a value as a pair, the form after a final consonant
(받침) first: `{model}을(를)`, `{name}이(가)`, `{x}은(는)`, `{x}과(와)`, `{x}(으)로`, `{x}(이)에요`. `resolve`
replaces each pair by the one form that fits the word in front of it: 받침 or not, and for 으로/로 a final
ㄹ takes 로 ("모델로", "파일로"). Words read aloud in Korean decide it for digits ("1" 일, "10" 십),
single Latin letters (by their names: "l" 엘) and English words (by their sound: "resnet" 넷, "model" 델).
"""

from __future__ import annotations

import re

# particle pair -> (after a final consonant, after a vowel); (으)로 is handled apart (ㄹ takes 로)
PAIRS = {
    "을(를)": ("을", "를"),
    "이(가)": ("이", "가"),
    "은(는)": ("은", "는"),
    "과(와)": ("과", "와"),
    "(이)에요": ("이에요", "예요"),
    "(이)라": ("이라", "라"),
}
_PAIR = re.compile(r"을\(를\)|이\(가\)|은\(는\)|과\(와\)|\(으\)로|\(이\)에요|\(이\)라")
_MARKUP_AFTER_WORD = "`*_'\"’”)]>»」』 "  # closing marks between a word and its particle
_DIGIT_FINAL = {
    "0": "ㅇ",
    "1": "ㄹ",
    "2": "",
    "3": "ㅁ",
    "4": "",
    "5": "",
    "6": "ㄱ",
    "7": "ㄹ",
    "8": "ㄹ",
    "9": "",
}
_POWERS_OF_TEN = {1: "ㅂ", 2: "ㄱ", 3: "ㄴ", 4: "ㄴ"}  # 십, 백, 천, 만
_LETTER_FINAL = {
    "l": "ㄹ",
    "m": "ㅁ",
    "n": "ㄴ",
    "r": "ㄹ",
}  # 엘, 엠, 엔, 알; other letter names end in a vowel
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # the index of ㄹ among the final consonants of a Hangul syllable


def final_consonant(word: str) -> str | None:
    """The final consonant (받침) of how `word` ends when read in Korean: "" for a vowel, "ㄹ" for ㄹ, another
    consonant's letter otherwise (only "" and "ㄹ" matter to particles); None when nothing can be said."""
    word = word.rstrip(_MARKUP_AFTER_WORD)
    if not word:
        return None
    last = word[-1]
    if _HANGUL_FIRST <= ord(last) <= _HANGUL_LAST:
        index = (ord(last) - _HANGUL_FIRST) % 28
        return "" if index == 0 else "ㄹ" if index == _RIEUL else "ㅇ"
    if last.isdigit():
        return _number_final(re.search(r"[\d,]*$", word).group().replace(",", ""))  # type: ignore[union-attr]
    if last.isascii() and last.isalpha():
        return _english_final(re.search(r"[A-Za-z]+$", word).group().lower())  # type: ignore[union-attr]
    if last == "%":
        return ""  # 퍼센트
    return None


def _number_final(digits: str) -> str:
    zeros = len(digits) - len(digits.rstrip("0"))
    if zeros == 0 or digits.strip("0") == "":
        return _DIGIT_FINAL[digits[-1]]
    return _POWERS_OF_TEN.get(zeros % 4 or 4, "ㄴ")


def _english_final(letters: str) -> str:
    if len(letters) == 1:
        return _LETTER_FINAL.get(letters, "")
    if letters.endswith(("ng", "m", "n")):
        return "ㅇ"
    if letters.endswith("l"):
        return "ㄹ"
    if re.search(r"[aeiou][ktp]$", letters):  # net 넷, cat 캣, top 탑
        return "ㅅ"
    return ""  # dog 도그, onnx 오닉스, layer 레이어


def resolve(text: str) -> str:
    """Every particle pair in `text` replaced by the form its preceding word takes."""
    return _PAIR.sub(lambda match: _choose(match.group(), text[: match.start()]), text)


def _choose(pair: str, before: str) -> str:
    final = final_consonant(before)
    if pair == "(으)로":
        return "으로" if final not in (None, "", "ㄹ") else "로"
    consonant, vowel = PAIRS[pair]
    return vowel if final == "" else consonant  # an unreadable word (a lone symbol) takes the first form
