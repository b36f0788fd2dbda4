"""Numbers as people say them on the phone ("oh seven seven double nine", "nineteen ninety one",
"the third of june", "twelve pounds fifty", "a c c one zero zero..."), rewritten as digits so that
every parser and the NLU read a speech transcript exactly as they read typed digits.

Only what is clearly a number is rewritten: a run of two or more number words, a number of ten or
more, or a single digit before a unit ("five pounds", "two gigs"). "oh no", "the first time" and
"one more thing" stay as they are. A false start ("one two sorry I mean two four six eight") keeps
only what follows the correction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {"zero": 0, "oh": 0, "o": 0, "nought": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4,
         "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1000}
REPEATS = {"double": 2, "triple": 3}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
            "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
            "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
            "nineteenth": 19, "twentieth": 20, "thirtieth": 30}
FILLERS = {"um", "umm", "uh", "uhh", "er", "erm", "ah", "hmm", "like"}
MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
          "sept", "oct", "nov", "dec"}
# Words after which a lone digit is a quantity worth writing as one ("five pounds", "two gigs").
UNIT_WORDS = {"pound", "pounds", "quid", "pence", "p", "gb", "gig", "gigs", "gigabyte", "gigabytes"}
_NUMBER_WORDS = set(UNITS) | set(TEENS) | set(TENS) | set(SCALES) | set(REPEATS)
_TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]", re.I)
_CORRECTION = re.compile(r"\b(?:sorry,? i mean|i mean|no sorry|no wait|sorry|wait|actually|scratch that)\b[,.]?",
                         re.I)
_POUNDS_AND_PENCE = re.compile(r"\b(\d{1,5}) ?(?:pounds?|quid)(?: and)? (\d{1,2})(?: ?(?:pence|p))?\b", re.I)
_PENCE = re.compile(r"(?<![£\d.])\b(\d{1,2}) ?(?:pence|p)\b", re.I)


@dataclass(frozen=True)
class Edit:
    """One stretch of the original text and the digits it says."""
    start: int
    end: int
    text: str


def _tokens(text: str) -> list[re.Match]:
    return list(_TOKEN.finditer(text))


def _word(match: re.Match | None) -> str:
    return match.group(0).lower() if match else ""


def _value(words: list[str]) -> str | None:
    """The digits a run of number words says: digit by digit, in pairs ("nineteen ninety one"),
    or as one amount ("two thousand and five")."""
    groups: list[str] = []
    amount: int | None = None  # an amount being built with hundred/thousand
    total = 0
    open_tens = False  # the last group is "twenty" and may take a unit
    repeat = 1
    for word in words:
        if word in REPEATS:
            repeat = REPEATS[word]
            continue
        if word == "and":
            continue
        if word in SCALES:
            base = int(groups.pop()) if groups and amount is None else (amount or 1)
            if SCALES[word] == 1000:
                total, amount = (total + base) * 1000, 0
            else:
                amount = base * 100
            open_tens = False
            continue
        number = UNITS.get(word, TEENS.get(word, TENS.get(word)))
        if number is None:
            return None
        if amount is not None:
            amount += number
            continue
        if open_tens and word in UNITS and number:
            groups[-1] = str(int(groups[-1]) + number)
            open_tens = False
            continue
        groups.extend([str(number)] * repeat)
        repeat, open_tens = 1, word in TENS
    if amount is not None:
        groups.append(str(total + amount))
    return "".join(groups) or None


def _ordinal_edit(tokens: list[re.Match], index: int) -> tuple[Edit, int] | None:
    """'third' or 'twenty first' next to a month ('the third of june', 'june the first')."""
    word, end = _word(tokens[index]), index
    tens = 0
    if word in TENS and _word(tokens[index + 1] if index + 1 < len(tokens) else None) in ORDINALS:
        tens, end = TENS[word], index + 1
    day = tens + ORDINALS.get(_word(tokens[end]), 0)
    if day == tens or day > 31:
        return None
    after = [_word(t) for t in tokens[end + 1:end + 4]]
    before = [_word(t) for t in tokens[max(0, index - 3):index]]
    # "the third of june", "june the first", "the fifth of the eleventh" (day, then month).
    if not (after[:1] and after[0] in MONTHS or after[:2] and after[0] == "of" and after[1] in MONTHS
            or after[:3] and after[:2] == ["of", "the"] and after[2] in ORDINALS
            or before[-2:] == ["of", "the"] and before[0] in ORDINALS or set(before[-2:]) & MONTHS):
        return None
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10 if day not in (11, 12, 13) else 0, "th")
    return Edit(tokens[index].start(), tokens[end].end(), f"{day}{suffix}"), end + 1


def number_edits(text: str) -> list[Edit]:
    """Each stretch of spoken digits in the text, with the digits it says."""
    tokens = _tokens(text)
    edits: list[Edit] = []
    index = 0
    while index < len(tokens):
        word = _word(tokens[index])
        if word in ORDINALS or (word in TENS and index + 1 < len(tokens) and _word(tokens[index + 1]) in ORDINALS):
            if found := _ordinal_edit(tokens, index):
                edits.append(found[0])
                index = found[1]
                continue
        if word not in _NUMBER_WORDS or word in {"o", "oh"} and not _starts_run(tokens, index):
            index += 1
            continue
        run, words, last = index, [], index
        while run < len(tokens):
            current = _word(tokens[run])
            if current in _NUMBER_WORDS or current == "-" and words:
                if current != "-":
                    words.append(current)
                    last = run
            elif current in FILLERS or current == "and" and words and words[-1] in SCALES or current == ",":
                if current == "and":
                    words.append(current)
            else:
                break
            run += 1
        while words and words[-1] in {"and", "double", "triple"}:
            words.pop()
        digits = _value(words) if words else None
        following = _word(tokens[last + 1]) if last + 1 < len(tokens) else ""
        spoken_count = sum(1 for w in words if w not in {"and", "double", "triple"})
        if digits and (spoken_count >= 2 or int(digits) >= 10 or following in UNIT_WORDS) and words != ["o"]:
            start = _letters_before(tokens, index, text)
            edits.append(Edit(start if start is not None else tokens[index].start(), tokens[last].end(),
                              (_spelled(text[start:tokens[index].start()]) if start is not None else "") + digits))
        index = max(run, index + 1)
    return edits


def _starts_run(tokens: list[re.Match], index: int) -> bool:
    """'oh' and 'o' are a zero only next to other number words ('oh seven seven', 'two oh one')."""
    neighbours = [_word(tokens[i]) for i in (index - 1, index + 1) if 0 <= i < len(tokens)]
    return any(word in _NUMBER_WORDS and word not in {"o", "oh"} for word in neighbours)


def _letters_before(tokens: list[re.Match], index: int, text: str) -> int | None:
    """Where two or more spelled letters just before the digits begin ('a c c one zero...'),
    never the "s" of "it's"."""
    position = index
    while position > 0 and len(tokens[position - 1].group(0)) == 1 and tokens[position - 1].group(0).isalpha() \
            and _standalone(text, tokens[position - 1]):
        position -= 1
    return tokens[position].start() if index - position >= 2 else None


def _spelled(letters: str) -> str:
    return "".join(letters.split()).upper()


def drop_false_starts(text: str) -> str:
    """'one two sorry I mean two four six eight' -> 'two four six eight': the number said before
    a correction is dropped, with the correction."""
    number = r"(?:\b(?:%s)\b[\s,-]*)+" % "|".join(sorted(_NUMBER_WORDS | set(ORDINALS) | {r"\d+"}, key=len, reverse=True))
    then = r"\s*(?=(?:the\s+)?(?:%s))" % number
    return re.sub(number + _CORRECTION.pattern + then, "", text, flags=re.I)


def normalize(text: str) -> str:
    """The text with spoken numbers, dates and amounts written as digits."""
    text = drop_false_starts(text)
    for edit in reversed(number_edits(text)):
        text = text[:edit.start] + edit.text + text[edit.end:]
    text = _POUNDS_AND_PENCE.sub(lambda m: f"£{int(m.group(1))}.{int(m.group(2)):02d}", text)
    return _PENCE.sub(lambda m: f"£0.{int(m.group(1)):02d}", text)


# Letters as a speech recogniser writes them when a code is spelled out ("ay see see one...").
LETTER_NAMES = {"ay": "a", "bee": "b", "see": "c", "cee": "c", "dee": "d", "eff": "f", "gee": "g",
                "aitch": "h", "jay": "j", "kay": "k", "el": "l", "em": "m", "en": "n", "pee": "p",
                "cue": "q", "ar": "r", "ess": "s", "tee": "t", "vee": "v", "ex": "x", "zed": "z"}
JOINERS = {"apostrophe": "'", "hyphen": "-", "dash": "-"}


def _standalone(text: str, token: re.Match) -> bool:
    """A whole word: not the "s" of "that's" nor the "GB" of "20GB"."""
    before = text[token.start() - 1] if token.start() else " "
    after = text[token.end()] if token.end() < len(text) else " "
    return not (before.isalnum() or before == "'" or after.isalnum() or after == "'")


def _pronoun(text: str, tokens: list[re.Match], index: int) -> bool:
    """A trailing "i" or "a" is the word, not a letter, when a word follows ("... two oh i don't")."""
    after = text[tokens[index].end():].lstrip()
    return tokens[index].group(0).lower() in {"i", "a"} and bool(after[:1].isalpha())


def _spelled_kind(token: str) -> str | None:
    word = token.lower()
    if token.isdigit():
        return "digits"
    if len(word) == 1 and word.isalpha():
        return "letter"
    if word in _NUMBER_WORDS:
        return "number"
    if word in LETTER_NAMES:
        return "letter name"
    if word in JOINERS:
        return "joiner"
    return "filler" if word in FILLERS else None


def spelled_edits(text: str) -> list[Edit]:
    """Codes said or typed one character at a time ("j g one oh three seven seven four a",
    "p a t e l", "4 4 0 9", "07700 900 876"), each joined into the one token it spells."""
    tokens = _tokens(text)
    edits: list[Edit] = []
    index = 0
    while index < len(tokens):
        run = index
        while run < len(tokens) and _spelled_kind(tokens[run].group(0)) and _standalone(text, tokens[run]) and (
                run == index or text[tokens[run - 1].end():tokens[run].start()].strip(" ,") == ""):
            run += 1
        while run > index and (_spelled_kind(tokens[run - 1].group(0)) in {"filler", "joiner"} or _pronoun(text, tokens, run - 1)):
            run -= 1
        kinds = [_spelled_kind(t.group(0)) for t in tokens[index:run]]
        if sum(kind in {"digits", "letter", "number"} for kind in kinds) >= 3 and kinds[0] != "joiner":
            plus = index > 0 and _word(tokens[index - 1]) == "plus"  # "plus four four seven..."
            edits.append(Edit(tokens[index - plus].start(), tokens[run - 1].end(),
                              "+" * plus + _join(tokens[index:run])))
        index = max(run, index + 1)
    return edits


def _join(tokens: list[re.Match]) -> str:
    out, words = [], []
    for token in tokens + [None]:
        kind = _spelled_kind(token.group(0)) if token else None
        if kind == "number":
            words.append(token.group(0).lower())
            continue
        if words:
            out.append(_value(words) or "")
            words = []
        if kind in {"digits", "letter"}:
            out.append(token.group(0).upper())
        elif kind == "letter name":
            out.append(LETTER_NAMES[token.group(0).lower()].upper())
        elif kind == "joiner":
            out.append(JOINERS[token.group(0).lower()])
    return "".join(out)


@dataclass(frozen=True)
class Rewritten:
    """A rewritten text that can point any stretch of itself back to the original."""
    text: str
    starts: tuple[int, ...]  # per character: where its stretch starts in the original
    ends: tuple[int, ...]  # per character: where its stretch ends in the original

    def original(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[max(start, end - 1)]


def rewrite(text: str, edits: list[Edit]) -> Rewritten:
    out, starts, ends, position = [], [], [], 0
    for edit in sorted(edits, key=lambda e: e.start):
        if edit.start < position:
            continue  # overlaps an earlier edit
        out.append(text[position:edit.start])
        starts += range(position, edit.start)
        ends += range(position + 1, edit.start + 1)
        out.append(edit.text)
        starts += [edit.start] * len(edit.text)
        ends += [edit.end] * len(edit.text)
        position = edit.end
    out.append(text[position:])
    starts += range(position, len(text))
    ends += range(position + 1, len(text) + 1)
    return Rewritten("".join(out), tuple(starts), tuple(ends))


def spoken_form(text: str) -> Rewritten:
    """The text with every spelled-out code joined and every spoken number in digits, for
    finding personal data that was said rather than typed."""
    spelled = spelled_edits(text)
    numbers = [edit for edit in number_edits(text)
               if all(edit.end <= other.start or edit.start >= other.end for other in spelled)]
    return rewrite(text, spelled + numbers)
