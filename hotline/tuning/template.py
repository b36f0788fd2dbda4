"""Training examples in exactly the tokens llama.cpp sees when it serves the model.

The prompt is rendered with the chat template stored in the base GGUF (the one llama.cpp
applies at serving time) and the completion ends with the GGUF's end-of-turn token, the one
llama.cpp stops on. The loss is computed on the completion only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotline.ml.files import base_path
from hotline.settings import Settings
from hotline.tuning.items import Item

IGNORE = -100  # label of prompt and padding tokens: no loss


@dataclass(frozen=True)
class Base:
    """A base model ready for training: its GGUF and a folder with its config and tokenizer
    (saved once: loading a tokenizer from the GGUF takes seconds, and the LoRA converter
    needs the config)."""

    name: str
    gguf: Path
    folder: Path

    def tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.folder))


def prepare_base(name: str, settings: Settings) -> Base:
    gguf = base_path(name, settings.var_dir / "models")
    folder = settings.var_dir / "tuning" / "bases" / name
    if not (folder / "config.json").exists() or not (folder / "tokenizer_config.json").exists():
        from transformers import AutoConfig, AutoTokenizer
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

        folder.mkdir(parents=True, exist_ok=True)
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(str(folder))
        config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        config.__dict__.pop("quantization_config", None)
        config.architectures = [MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[config.model_type]]  # the converter needs it
        config.save_pretrained(str(folder))
    return Base(name, gguf, folder)


def prompt_ids(tokenizer, messages: list[dict[str, str]]) -> list[int]:
    """The prompt as llama.cpp tokenizes it: the GGUF's template with the generation prompt."""
    return list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"])


def example(tokenizer, item: Item) -> tuple[list[int], list[int]]:
    """(input ids, labels): the prompt masked, the completion and its end-of-turn token learned."""
    prompt = prompt_ids(tokenizer, item.messages)
    completion = tokenizer(item.completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return prompt + completion, [IGNORE] * len(prompt) + completion
