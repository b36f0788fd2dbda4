"""What every account skill shares: identity verification inside forms, line choice,
yes/no answers, and running a task only for a verified customer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from hotline.accounts import AccountError
from hotline.accounts import verification
from hotline.accounts.identity import (
    InvalidDate, find_customer, parse_date_of_birth, parse_identifier, parse_pin, secret_matches)
from hotline.accounts.lines import choose_line, describe, eligible_lines
from hotline.clock import now
from hotline.db import session_scope
from hotline.db.models import Customer, Line
from hotline.settings import get_settings

VERIFICATION_SLOTS = ["account_identifier", "verification_secret"]
UNKNOWN_CUSTOMER = 0  # the customer_id slot while an identifier that matches no account is checked
# Intents whose message is an answer to the bot's question rather than a new request.
ANSWER_INTENTS = {"inform", "affirm", "deny", "correct", "verify_identity", "nlu_fallback"}
# The validator of each form that asks for a line, so the question lists the right lines.
LINE_FORMS: dict[str, type[AccountFormValidator]] = {}


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def client_of(tracker: Tracker) -> str | None:
    """The pseudonym of the browser or caller the latest message came from, as the gateway sent it."""
    metadata = tracker.latest_message.get("metadata") or next(
        (event.get("metadata") for event in reversed(tracker.events) if event.get("event") == "user"), None) or {}
    client = metadata.get("client")
    return str(client) if client else None


def verified_customer_id(session: Session, tracker: Tracker) -> int | None:
    """The customer this conversation verified as: the server's own record, which a tracker
    posted to the action server cannot forge (its slots only say what the form has asked)."""
    if not tracker.get_slot("verified"):
        return None
    return verification.verified_customer(session, tracker.sender_id, now())


def offer_human(reason: str) -> list[EventType]:
    """Remember that the bot asked whether the customer wants a person, and why."""
    return [SlotSet("human_offered", True), SlotSet("handoff_reason", reason)]


def mask(identifier: str) -> str:
    return identifier[:4] + "•" * (len(identifier) - 7) + identifier[-3:]


class AccountFormValidator(FormValidationAction):
    """Validates a form that acts on an account: verification slots come first.

    Subclasses name their form, the slots of their task, and whether the task
    is about one line (and of which kind).
    """

    task_slots: ClassVar[tuple[str, ...]] = ()
    asks_line: ClassVar[bool] = False
    line_kind: ClassVar[str | None] = None  # None: any kind of line
    line_statuses: ClassVar[tuple[str, ...]] = ("active",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if isinstance(cls.form, str) and cls.asks_line:
            LINE_FORMS[cls.form] = cls

    @property
    @abstractmethod
    def form(self) -> str:
        """The form this validates; subclasses set it as a class attribute."""

    def name(self) -> str:
        return f"validate_{self.form}"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict) -> list[str]:
        if tracker.get_slot("verification_locked"):
            return []
        with session_scope() as session:
            verified = verified_customer_id(session, tracker) is not None
        return ([] if verified else list(VERIFICATION_SLOTS)) + (["line_id"] if self.asks_line else []) + list(self.task_slots)

    # -- reading answers ----------------------------------------------------
    @staticmethod
    def answer_text(tracker: Tracker, slot: str, parses: Callable[[str], Any] = lambda _: False) -> str | None:
        """The latest message when it answers this slot's question: it parses as the
        value, or it is classified as an answer rather than a new request."""
        if tracker.get_slot("requested_slot") != slot:
            return None
        text = tracker.latest_message.get("text") or ""
        if not text.strip() or text.startswith("/"):
            return None
        try:
            parsed = parses(text)
        except ValueError:
            parsed = True  # unparseable but clearly an attempt: validation explains
        return text if parsed or latest_intent(tracker) in ANSWER_INTENTS else None

    @staticmethod
    def yes_no(tracker: Tracker, slot: str) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != slot:
            return {}
        answer = {"affirm": True, "deny": False}.get(latest_intent(tracker) or "")
        return {} if answer is None else {slot: answer}

    # -- verification -------------------------------------------------------
    def extract_account_identifier(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: dict) -> dict[str, Any]:
        if tracker.get_slot("verified"):
            return {}
        text = tracker.latest_message.get("text") or ""
        if parse_identifier(text):  # volunteered at any point, e.g. "bill for ACC-1000001"
            return {"account_identifier": text}
        answer = self.answer_text(tracker, "account_identifier")
        return {"account_identifier": answer} if answer else {}

    def extract_verification_secret(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict) -> dict[str, Any]:
        if tracker.get_slot("verified") or tracker.get_slot("customer_id") is None:
            return {}
        answer = self.answer_text(tracker, "verification_secret",
                                  lambda text: parse_pin(text) or parse_date_of_birth(text))
        return {"verification_secret": answer} if answer else {}

    def validate_account_identifier(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: dict) -> dict[str, Any]:
        if tracker.get_slot("verified"):
            return {}
        identifier = parse_identifier(str(value))
        if identifier is None:
            dispatcher.utter_message(response="utter_invalid_identifier")
            return {"account_identifier": None}
        with session_scope() as session:
            customer = find_customer(session, identifier)
            customer_id = customer.id if customer else UNKNOWN_CUSTOMER
            if verification.locked(session, verification.failure_keys(customer_id, client_of(tracker)), now()):
                return self._locked()
        # Whether the account exists is not said: an unknown one fails at the PIN like a wrong PIN.
        return {"account_identifier": mask(identifier.value), "verification_secret": None,
                "customer_id": customer_id}

    def validate_verification_secret(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: dict) -> dict[str, Any]:
        customer_id = tracker.get_slot("customer_id")
        if tracker.get_slot("verified") or customer_id is None:
            return {}
        text = str(value)
        try:
            if not (parse_pin(text) or parse_date_of_birth(text)):
                dispatcher.utter_message(response="utter_invalid_secret")
                return {"verification_secret": None}
            with session_scope() as session:
                customer = session.get(Customer, int(customer_id))
                keys = verification.failure_keys(customer and customer.id, client_of(tracker))
                if verification.locked(session, keys, now()):
                    return self._locked()
                if customer is None or not secret_matches(customer, text):
                    verification.record_failure(session, keys, now())
                    session.commit()
                    return self._failed_attempt(dispatcher, tracker)
                verification.mark_verified(session, tracker.sender_id, customer, keys, now())
                first_name = customer.first_name
                line = self.only_line(session, customer.id)
        except InvalidDate as error:
            dispatcher.utter_message(response="utter_impossible_date", detail=str(error))
            return {"verification_secret": None}
        dispatcher.utter_message(response="utter_verified", customer_first_name=first_name)
        return {"verification_secret": "verified", "verified": True, "verification_attempts": 0,
                "customer_first_name": first_name, **line}

    def _failed_attempt(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """The same words whether the account exists or the details are wrong; the account
        number is asked afresh, so a typo in it can be fixed."""
        attempts = int(tracker.get_slot("verification_attempts") or 0) + 1
        limit = get_settings().max_verification_attempts
        reset = {"customer_id": None, "account_identifier": None, "verification_secret": None,
                 "verification_attempts": attempts}
        if attempts >= limit:
            return {**reset, "verification_locked": True}
        dispatcher.utter_message(response="utter_verification_failed", attempts_left=limit - attempts)
        return reset

    @staticmethod
    def _locked() -> dict[str, Any]:
        """Too many failures for this account, number or client, in any conversation: stop the form."""
        return {"verification_locked": True, "customer_id": None, "account_identifier": None,
                "verification_secret": None}

    # -- line choice ----------------------------------------------------------
    @classmethod
    def lines(cls, session: Session, customer_id: int) -> list[Line]:
        return eligible_lines(session, customer_id, kind=cls.line_kind, statuses=cls.line_statuses)

    def only_line(self, session: Session, customer_id: int) -> dict[str, Any]:
        """Pick the line without asking when the customer has just one that fits."""
        if not self.asks_line:
            return {}
        lines = self.lines(session, customer_id)
        return {"line_id": str(lines[0].id)} if len(lines) == 1 else {}

    def extract_line_id(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: dict) -> dict[str, Any]:
        if not tracker.get_slot("verified") or tracker.get_slot("line_id"):
            return {}
        with session_scope() as session:
            customer_id = verified_customer_id(session, tracker)
            if customer_id is None:
                return {}
            lines = self.lines(session, customer_id)
            if len(lines) <= 1:
                return {"line_id": str(lines[0].id) if lines else "none"}
            answer = self.answer_text(tracker, "line_id", lambda text: choose_line(lines, text))
            if answer is None:
                return {}
            chosen = choose_line(lines, answer)
            if chosen is None:
                dispatcher.utter_message(text="Sorry, which line? " + ", ".join(
                    describe(line) for line in lines) + ".")
                return {"line_id": None}
            return {"line_id": str(chosen.id)}


class ActionAskLineId(Action):
    """Asks which line, with a button per eligible line."""

    def name(self) -> str:
        return "action_ask_line_id"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        form = LINE_FORMS[tracker.active_loop.get("name")]
        with session_scope() as session:
            customer_id = verified_customer_id(session, tracker)
            lines = form.lines(session, customer_id) if customer_id is not None else []
            buttons = [{"title": describe(line).capitalize(), "payload": f"the line ending {line.number[-4:]}"}
                       for line in lines]
        dispatcher.utter_message(text="Which line is this about?", buttons=buttons)
        return []


class AccountAction(Action, ABC):
    """Runs a task for the verified customer once its form is complete."""

    action_name: ClassVar[str]
    form_slots: ClassVar[tuple[str, ...]] = ()  # cleared afterwards so the next request asks afresh

    def name(self) -> str:
        return self.action_name

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        resets = [SlotSet(slot, None) for slot in self.form_slots]
        if tracker.get_slot("verification_locked"):
            dispatcher.utter_message(response="utter_verification_locked")
            return resets + offer_human("could not verify identity")
        with session_scope() as session:
            customer_id = verified_customer_id(session, tracker)
            if customer_id is None:
                dispatcher.utter_message(response="utter_not_verified")
                return resets
            try:
                events = self.act(dispatcher, tracker, session, customer_id)
            except AccountError as error:
                session.rollback()
                dispatcher.utter_message(text=str(error))
                events = []
        return events + resets

    @abstractmethod
    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session,
            customer_id: int) -> list[EventType]:
        """Do the task and tell the customer; raise AccountError to refuse."""

    @staticmethod
    def chosen_line(session: Session, tracker: Tracker, customer_id: int) -> Line:
        line_id = tracker.get_slot("line_id")
        line = session.get(Line, int(line_id)) if line_id and line_id.isdigit() else None
        if line is None or line.customer_id != customer_id:
            raise AccountError("There's no line on your account that this applies to.")
        return line
