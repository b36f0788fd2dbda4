"""Ground-floor model services: the LLM factory, the embedder, the PII filter, the packaged
model files and the model registry. Everything above builds its models here."""
