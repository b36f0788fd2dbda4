"""The action server registers exactly the custom actions the domain declares."""

from rasa_sdk.executor import ActionExecutor


def test_every_domain_action_is_served(domain_actions):
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == domain_actions
