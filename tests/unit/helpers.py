"""Conversation helpers shared by the skill tests."""

from actions.verification import ValidateVerificationForm

DEMO_PINS = {"ACC-1000001": "1234", "ACC-1000002": "2468", "ACC-1000003": "1357", "ACC-1000004": "9876"}


def verify(conversation, account: str = "ACC-1000001") -> None:
    """Verify as a demo customer, the way the verification form does it."""
    form = ValidateVerificationForm()
    conversation.say(form, "verify me", "verify_identity")
    conversation.say(form, account)
    conversation.say(form, DEMO_PINS[account])
    assert conversation.slots["verified"] is True
    conversation.active_loop = None
