"""The fixed vocabularies conversations are labelled with, so analytics can count them."""

from __future__ import annotations

from typing import Literal, get_args

Intent = Literal[
    "billing_enquiry", "bill_payment", "balance_enquiry", "plan_information", "plan_change", "data_usage",
    "roaming", "sim_esim", "lost_or_stolen", "number_porting", "network_outage", "technical_support",
    "ticket_status", "account_access", "complaint", "cancellation", "human_agent_request", "general_question",
    "other"]

Topic = Literal[
    "bill amount", "bill increase", "late payment fee", "card payment", "direct debit", "payment arrangement",
    "account balance", "data allowance", "data boost", "plan upgrade", "plan downgrade", "plan comparison",
    "contract and early termination", "roaming charges", "roaming activation", "europe roaming",
    "international calls", "esim setup", "sim replacement", "puk code", "lost phone", "stolen phone",
    "device unlocking", "pac code", "stac code", "port in", "mobile outage", "broadband outage", "slow broadband",
    "no signal", "mobile data problem", "trouble ticket", "wifi calling", "voicemail", "5g coverage",
    "identity verification", "complaint", "refund or compensation", "spam calls", "parental controls",
    "privacy and data", "speak to a person"]

Sentiment = Literal["negative", "neutral", "positive"]

# What each intent means, for the model's instructions (a 1.5B model needs the hint).
INTENT_MEANINGS = {
    "billing_enquiry": "questions about a bill or charges", "bill_payment": "paying a bill",
    "balance_enquiry": "how much is owed", "plan_information": "what plans offer or cost",
    "plan_change": "upgrading or downgrading", "data_usage": "data used or data add-ons",
    "roaming": "using the phone abroad", "sim_esim": "SIM, eSIM or PUK", "lost_or_stolen": "a lost or stolen phone",
    "number_porting": "PAC, STAC or moving a number", "network_outage": "outages or no service in an area",
    "technical_support": "a device or connection problem to fix", "ticket_status": "an existing fault ticket",
    "account_access": "verification, PIN or sign-in problems", "complaint": "a complaint",
    "cancellation": "leaving or cancelling", "human_agent_request": "asking for a person first",
    "general_question": "how something works", "other": "anything else"}

INTENTS: tuple[str, ...] = get_args(Intent)
TOPICS: tuple[str, ...] = get_args(Topic)
SENTIMENTS: tuple[str, ...] = get_args(Sentiment)
SENTIMENT_SCORE = {"negative": -1, "neutral": 0, "positive": 1}
