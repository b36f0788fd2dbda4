"""The one place that builds the language model.

Local llama.cpp by default: one long-lived instance per process, calls serialized on a
single worker thread so the action server's event loop never waits on it, with a token
limit and a deadline. Or any OpenAI-compatible server (llama.cpp's server, vLLM).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import httpx

from hotline.settings import Settings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede importing llama_cpp


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    timed_out: bool = False


class LLMError(RuntimeError):
    """The model could not answer (server down, bad response); callers fall back."""


class ChatModel(Protocol):
    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, timeout_s: float,
             json_schema: dict | None = None) -> Completion: ...


class LlamaCppModel:
    """llama-cpp-python with the thread settings measured best on small CPUs."""

    def __init__(self, model_path: Path, *, context_tokens: int, threads: int, batch_threads: int) -> None:
        from llama_cpp import Llama

        if not model_path.exists():
            raise LLMError(f"No model file at {model_path}: run `hotline assemble-model`")
        self.model = Llama(model_path=str(model_path), n_ctx=context_tokens, n_threads=threads,
                           n_threads_batch=batch_threads, verbose=False, seed=7)
        self._lock = threading.Lock()  # Llama is not thread-safe

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, timeout_s: float,
             json_schema: dict | None = None) -> Completion:
        started = time.monotonic()
        deadline = started + timeout_s
        extra = {"response_format": {"type": "json_object", "schema": json_schema}} if json_schema else {}
        pieces: list[str] = []
        timed_out = False
        with self._lock:
            stream = self.model.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True, **extra)
            for chunk in stream:
                pieces.append(chunk["choices"][0]["delta"].get("content") or "")
                if time.monotonic() > deadline:
                    timed_out = True
                    stream.close()  # stops generation where it is
                    break
            completion_tokens = sum(1 for piece in pieces if piece)
            prompt_tokens = self.model.n_tokens - completion_tokens
        return Completion("".join(pieces), prompt_tokens, completion_tokens, time.monotonic() - started, timed_out)


class OpenAICompatibleModel:
    """A chat-completions endpoint, for deployments that serve the model separately."""

    def __init__(self, base_url: str, model: str, api_key: str) -> None:
        self.base_url, self.model, self.api_key = base_url.rstrip("/"), model, api_key

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, timeout_s: float,
             json_schema: dict | None = None) -> Completion:
        started = time.monotonic()
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0.0}
        if json_schema:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": json_schema}}
        try:
            response = httpx.post(f"{self.base_url}/chat/completions", json=body, timeout=timeout_s,
                                  headers={"Authorization": f"Bearer {self.api_key}"})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise LLMError(f"LLM server at {self.base_url} failed: {error}") from error
        usage = data.get("usage") or {}
        return Completion(data["choices"][0]["message"]["content"] or "", usage.get("prompt_tokens", 0),
                          usage.get("completion_tokens", 0), time.monotonic() - started)


@lru_cache
def build_model(settings: Settings) -> ChatModel:
    if settings.llm_backend == "openai":
        return OpenAICompatibleModel(settings.openai_base_url, settings.openai_model,
                                     settings.openai_api_key.get_secret_value())
    return LlamaCppModel(settings.llm_model_path, context_tokens=settings.llm_context_tokens,
                         threads=settings.llm_threads, batch_threads=settings.llm_batch_threads)
