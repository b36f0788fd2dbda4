"""What the assistant says when a turn failed: the channels say them, the worker recognises them."""

CHAT = "Sorry, I'm having trouble right now. Please try again in a moment, or call 150 to speak to our team."
CALL = "Sorry, I'm having trouble with that right now. Could you say it again, or say agent to speak to a person?"
SMS = "Sorry, I'm having trouble right now. Please try again shortly or call 150."
LOOKUP = "Sorry, I couldn't look that up just now. Would you like me to connect you to one of our team?"

ALL = frozenset({CHAT, CALL, SMS, LOOKUP})
