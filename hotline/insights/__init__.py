"""After the conversation: redacted transcripts, LLM extraction, the work queue, analytics."""
