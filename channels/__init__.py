"""Customer-facing channels (web chat, Twilio voice and SMS) served by the FastAPI gateway."""
