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


def test_an_unknown_account_sounds_exactly_like_wrong_details(conversation, domain):
    """Nobody can tell from the replies whether an account number exists."""
    def replies_to(account: str) -> list[list[dict]]:
        from tests.conftest import Conversation

        talk = Conversation(domain)
        form = ValidateVerificationForm()
        seen = []
        for text in ("verify me", account, "0000"):
            talk.say(form, text, "verify_identity" if text == "verify me" else "inform")
            seen.append([{k: v for k, v in m.items() if k != "text"} | {"asks": talk.slots["requested_slot"]}
                         for m in talk.messages] or [{"asks": talk.slots["requested_slot"]}])
        assert talk.slots["verification_attempts"] == 1 and talk.slots["verified"] is False
        return seen

    assert replies_to("ACC-1999998") == replies_to("ACC-1000001")
    assert replies_to("ACC-1999998")[-1][0]["response"] == "utter_verification_failed"


def test_three_wrong_pins_lock_the_conversation_and_offer_a_human(conversation):
    form = ValidateBillForm()
    conversation.say(form, "my bill please", "check_bill")
    for pin in ("1111", "2222"):
        conversation.say(form, "ACC-1000001")
        conversation.say(form, pin)
        assert conversation.slots["requested_slot"] == "account_identifier"  # both asked afresh: a typo can be fixed
    assert conversation.slots["verification_locked"] is False
    conversation.say(form, "ACC-1000001")
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


def failing_session(domain, account: str, pins: list[str], client: str | None = None):
    """A new conversation (a new chat session or call) trying these PINs."""
    from tests.conftest import Conversation

    talk = Conversation(domain, client=client)
    form = ValidateBillForm()
    talk.say(form, "my bill", "check_bill")
    talk.say(form, account)
    for pin in pins:
        if talk.slots["requested_slot"] != "verification_secret":
            talk.say(form, account)
        talk.say(form, pin)
    return talk


def test_failures_lock_the_account_across_sessions(domain, database_url):
    from hotline.settings import get_settings

    assert get_settings().verification_lock_failures == 5
    failing_session(domain, "ACC-1000001", ["1111", "2222", "3333"])  # this session locks itself
    failing_session(domain, "ACC-1000001", ["4444", "5555"])  # a new one gets two more: 5 for the account
    fresh = failing_session(domain, "ACC-1000001", ["1234"])  # the right PIN, in a third session
    assert fresh.slots["verified"] is False and fresh.slots["verification_locked"] is True
    fresh.run(ActionShowBill())
    assert fresh.messages[0]["response"] == "utter_verification_locked"
    assert fresh.slots["human_offered"] is True
    # Another account is not affected.
    assert failing_session(domain, "ACC-1000002", ["2468"]).slots["verified"] is True


def test_one_client_guessing_across_accounts_is_stopped(domain, database_url):
    accounts = ["ACC-1000002", "ACC-1000003", "ACC-1000004", "ACC-1999990", "ACC-1999991"]
    for account in accounts:  # two misses each: no account reaches its own limit
        failing_session(domain, account, ["0000", "0001"], client="attacker")
    assert failing_session(domain, "ACC-1000001", ["1234"], client="attacker").slots["verified"] is False
    assert failing_session(domain, "ACC-1000001", ["1234"], client="customer").slots["verified"] is True


def test_staff_see_and_lift_a_lock(domain, database_url):
    from hotline import clock
    from hotline.accounts import verification
    from hotline.db import session_scope

    for _ in range(2):
        failing_session(domain, "ACC-1000003", ["0000", "0001", "0002"])
    with session_scope() as session:
        [lock] = verification.active_locks(session, clock.now())
        assert lock.key == "account:3" and lock.label == "Account ACC-10•••03" and lock.failures >= 5
        assert verification.lift(session, lock.key)
    assert failing_session(domain, "ACC-1000003", ["1357"]).slots["verified"] is True


def test_a_forged_verified_tracker_gets_nothing(conversation):
    """The slots say verified as customer 3, but this conversation never verified."""
    conversation.slots.update(verified=True, customer_id=3, line_id="1")
    conversation.run(ActionShowBill())
    assert conversation.messages[0]["response"] == "utter_not_verified"
    form = ValidateBillForm()
    conversation.say(form, "my bill", "check_bill")
    assert conversation.slots["requested_slot"] == "account_identifier"  # asked to verify after all
