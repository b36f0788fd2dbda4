"""Account services: what the assistant can look up and change for a verified customer.

Each module takes a SQLAlchemy session and returns plain records; the Rasa
actions only format these for the customer.
"""


class AccountError(ValueError):
    """A request the account rules refuse; the message is safe to show the customer."""
