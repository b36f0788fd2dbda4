"""Identity verification inside forms: success, clear re-asks, and the lockout."""

from actions.base import ActionAskLineId
from actions.billing import ActionShowBill, ValidateBillForm
from actions.verification import ActionVerificationComplete, ValidateVerificationForm


def test_account_number_then_pin_verifies_and_keeps_no_secrets(conversation):
    form = ValidateVerificationForm()
    conversation.say(form, "check it's me", "verify_identity")
    assert conversation.slots["requested_slot"] == "account_identifier"
    conversation.say(form, "ACC-1000001")
    assert conversation.slots["requested_slot"] == "verification_secret"
    assert conversation.slots["account_identifier"] == "ACC-••••001"
    conversation.say(form, "1234")
    assert conversation.slots["verified"] is True
    assert conversation.slots["verification_secret"] == "verified"
    assert conversation.slots["customer_first_name"] == "Alice"
    assert conversation.slots["requested_slot"] is None
    assert "1234" not in str(conversation.slots)


def test_phone_number_and_date_of_birth_verify(conversation):
    from hotline.accounts.lines import eligible_lines
    from hotline.db import session_scope

    with session_scope() as session:
        number = eligible_lines(session, 2)[0].number  # Ben's first line
    form = ValidateVerificationForm()
    conversation.say(form, "verify me", "verify_identity")
    conversation.say(form, "0" + number[3:])
    conversation.say(form, "4 July 1990")
    assert conversation.slots["verified"] is True


def test_account_volunteered_in_the_request_is_used(conversation):
    form = ValidateBillForm()
    conversation.say(form, "what's the bill on ACC-1000002", "check_bill")
    assert conversation.slots["requested_slot"] == "verification_secret"


def test_malformed_identifier_gets_a_clear_reask_without_counting(conversation):
    form = ValidateVerificationForm()
    conversation.say(form, "verify me", "verify_identity")
    conversation.say(form, "banana")
    assert conversation.messages[0]["response"] == "utter_invalid_identifier"
    assert conversation.slots["requested_slot"] == "account_identifier"
    assert conversation.slots["verification_attempts"] == 0


def test_impossible_birth_date_is_explained_not_counted(conversation):
    form = ValidateVerificationForm()
    conversation.say(form, "verify me", "verify_identity")
    conversation.say(form, "ACC-1000001")
    conversation.say(form, "31/02/1985")
    assert conversation.messages[0]["response"] == "utter_impossible_date"
    assert conversation.slots["requested_slot"] == "verification_secret"
    assert conversation.slots["verification_attempts"] == 0


def test_unknown_account_counts_as_a_failed_attempt(conversation):
    form = ValidateVerificationForm()
    conversation.say(form, "verify me", "verify_identity")
    conversation.say(form, "ACC-1999998")
    assert conversation.messages[0]["response"] == "utter_unknown_identifier"
    assert conversation.messages[0]["attempts_left"] == 2
    assert conversation.slots["verification_attempts"] == 1


def test_three_wrong_pins_lock_the_conversation_and_offer_a_human(conversation):
    form = ValidateBillForm()
    conversation.say(form, "my bill please", "check_bill")
    conversation.say(form, "ACC-1000001")
    conversation.say(form, "1111")
    conversation.say(form, "2222")
    assert conversation.slots["verification_locked"] is False
    conversation.say(form, "3333")
    assert conversation.slots["verification_locked"] is True
    assert conversation.slots["requested_slot"] is None  # the form ends
    assert conversation.slots["customer_id"] is None

    conversation.run(ActionShowBill())
    assert conversation.messages[0]["response"] == "utter_verification_locked"
    assert conversation.slots["human_offered"] is True
    assert conversation.slots["verified"] is False

    # Even the right PIN is not tried again in this conversation.
    conversation.say(form, "what do I owe", "check_bill")
    assert conversation.slots["requested_slot"] is None
    conversation.run(ActionVerificationComplete())
    assert conversation.messages[0]["response"] == "utter_verification_locked"


def test_account_actions_refuse_an_unverified_customer(conversation):
    conversation.run(ActionShowBill())
    assert conversation.messages[0]["response"] == "utter_not_verified"


def test_line_question_lists_only_the_customers_lines(conversation):
    from actions.sim import ValidateLostPhoneForm

    form = ValidateLostPhoneForm()
    conversation.say(form, "lost my phone", "report_lost_phone")
    conversation.say(form, "ACC-1000002")
    conversation.say(form, "2468")
    assert conversation.slots["requested_slot"] == "line_id"  # Ben has two mobile lines
    conversation.run(ActionAskLineId())
    assert len(conversation.messages[0]["buttons"]) == 2
