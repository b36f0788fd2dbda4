"""Customizing the model on the operator's own data: datasets, synthetic Q&A, LoRA
training, GGUF export, the verification gate, deploy and rollback."""
