"""Trust and safety rules for what customers send and what the model says.

Standard library only: the Rasa server (its own Python 3.10 environment) imports this
module in an NLU component, and the action server uses it on model output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from hotline.apologies import LOOKUP as LOOKUP_APOLOGY

_I = re.IGNORECASE

INPUT_RULES: dict[str, list[re.Pattern[str]]] = {
    "prompt_injection": [re.compile(p, _I) for p in (
        r"\b(ignore|disregard|forget|override|bypass)\b[^.?!]{0,40}\b(instructions?|rules|guidelines|prompt|programming|guardrails|restrictions|policy|policies)\b",
        r"\b(system|initial|hidden|original|developer)\s+(prompt|message|instructions?)\b",
        r"\b(reveal|print|show|repeat|output|tell me|display|dump|leak)\b[^.?!]{0,30}\b(your|the)\s+(prompt|instructions|rules|configuration|context)\b",
        r"\b(you are now|from now on,? you|act as (a|an|my|the)|pretend (to be|you are|you're)|role-?play as|play the role of|simulate being)\b",
        r"\b(jailbreak|DAN mode|developer mode|god mode|sudo mode|unfiltered mode|no restrictions)\b",
        r"#{2,}\s*(end|new|system)\b|\[(system|admin|inst)\]|<\|?(system|im_start)\|?>",
        r"\b(new|updated|real) instructions\b",
    )],
    "other_customer_data": [re.compile(p, _I) for p in (
        r"\b(another|other|different) customer'?s?\b",
        # Only their account things: "someone else's football team" is not a privacy request.
        r"\b((another|other|different) (person|user)|someone else)'?s (bill|account|number|phone|balance|details|address"
        r"|usage|calls|texts|messages|location|pin|data|plan|contract)\b",
        r"\b(my )?(friend|neighbou?r|ex|wife|husband|partner|boss|colleague|brother|sister|mum|dad|son|daughter|flatmate)'s (bill|account|number|balance|details|address|usage|calls|texts|location|pin|data)\b",
        r"\b(look ?up|find|check|tell me|give me|show me)\b[^.?!]{0,25}\b(whose|who owns|owner of|registered to)\b",
        r"\bwho (owns|is the owner of|has) (this|the|that) (number|account|phone)\b",
        r"\bACC[-\s]?\d{7}'s\b",
    )] + [re.compile(p) for p in (  # names must be capitalised, so no IGNORECASE here
        r"\b(bill|balance|account|address|details|usage|phone number|call history|texts|location)\s+(of|for|belonging to)\s+[A-Z][a-z]+\s+[A-Z][a-z]+",
        r"\b[A-Z][a-z]+\s+[A-Z][a-z]+'s (bill|account|number|balance|details|address|usage|phone)\b",
    )],
    "abuse": [re.compile(p, _I) for p in (
        r"\b(fuck\w*|shit(?:ty)?|cunt|bitch|bastard|wanker|twat|dickhead|arsehole|asshole|motherfucker)\b",
        r"\b(you(?:'re| are)|ur|u r) (an? )?(stupid|useless|idiot|moron|pathetic|worthless|dumb|retard\w*)\b",
        r"\b(kill|hurt|find|hunt) you\b|\bi'?ll (kill|hurt|find)\b",
        r"\bshut up\b",
    )],
    "medical": [re.compile(p, _I) for p in (
        r"\b(diagnos\w*|symptoms?|prescri\w+|medication|dosage|dose of|ibuprofen|paracetamol|antibiotics?|rash|fever|migraine|tumou?r|cancer|diabetes|blood pressure|pregnan\w+|infection|my (chest|head|stomach) (hurts|pain))\b",
        r"\b(is it safe to (take|eat|mix)|what (pills?|medicine)|should i see a doctor)\b",
        r"\b(5g|radiation|masts?)\b[^.?!]{0,40}\b(cancer|health risk|harmful|make me ill|headaches|dangerous to health)\b",
    )],
    "legal": [re.compile(p, _I) for p in (
        r"\b(sue|suing|lawsuit|solicitor|lawyer|legal advice|court|tribunal|small claims|divorce|custody|will and testament|tenancy|evict\w*|immigration|visa application)\b",
        r"\b(is it legal|am i allowed by law|can i legally|what are my rights under)\b",
    )],
    "political": [re.compile(p, _I) for p in (
        r"\b(vote|voting|election|prime minister|parliament|labour|tory|tories|conservatives?|lib dems?|reform uk|brexit|president|democrats?|republicans?|politic\w*|immigration policy|left-?wing|right-?wing)\b",
    )],
}

# Said when looking something up failed; the worker counts it as a failed turn.
REFUSALS = {
    "prompt_injection": "I can't change how I work or share my instructions, but I'm happy to help with your "
                        "Brightwave account, bills, plans, roaming or network.",
    "other_customer_data": "For privacy I can only discuss the account of the person I've verified, and I can't "
                           "look up anyone else's details. The account holder can contact us themselves.",
    "abuse": "I'm here to help, and I'd like to keep this respectful. What can I do for you with your "
             "Brightwave service? I can also connect you to one of our team.",
    "medical": "I can't give medical advice; please speak to a pharmacist, your GP or NHS 111. I'm happy to "
               "help with anything about your Brightwave service.",
    "legal": "I can't give legal advice; Citizens Advice can help with that. For Brightwave questions, "
             "including complaints and the Ombudsman, I'm happy to help.",
    "political": "I stay out of politics, sorry. I'm happy to help with anything about your Brightwave service.",
}

OFF_TOPIC_REFUSAL = ("That's not something I can advise on, sorry. I'm happy to help with anything about your "
                     "Brightwave service.")

# Phrases the assistant must never send, whatever the model produced.
BANNED_OUTPUT = [re.compile(p, _I) for p in (
    r"\bas an ai( language model)?\b", r"\bsystem prompt\b", r"\bmy instructions\b",
    r"\b(guarantee|guaranteed|promise)\b", r"\blegal advice\b", r"\bmedical advice\b",
    r"\b(fuck\w*|shit|bitch|bastard|wanker|twat)\b", r"\bfree forever\b",
    r"\bwe will refund\b|\byou will get a refund\b", r"\bpassword\b",
    r"\b(vodafone|ee|o2|three|virgin media|bt|sky mobile)\b(?! network)",
)]


@dataclass(frozen=True)
class Verdict:
    kind: str | None  # None: allowed
    # False when only a classifier suspects the message and no rule here confirms it: the
    # customer then gets the neutral reply, never a refusal that accuses them of something.
    confirmed: bool = True

    @property
    def allowed(self) -> bool:
        return self.kind is None

    @property
    def refusal(self) -> str:
        return REFUSALS.get(self.kind or "", OFF_TOPIC_REFUSAL) if self.confirmed else OFF_TOPIC_REFUSAL


def check_input(text: str) -> Verdict:
    """The first rule a customer message breaks, in order of severity."""
    for kind, patterns in INPUT_RULES.items():
        if any(pattern.search(text) for pattern in patterns):
            return Verdict(kind)
    return Verdict(None)


def banned_phrase(text: str) -> str | None:
    """The first banned phrase in a reply the model wrote, if any."""
    for pattern in BANNED_OUTPUT:
        if match := pattern.search(text):
            return match.group(0)
    return None
