"""The one place that builds the language model for a task.

Local llama.cpp by default: one long-lived instance per process, calls serialized on a
single worker thread so the action server's event loop never waits on it, with a token
limit and a deadline. Or any OpenAI-compatible server (llama.cpp's server, vLLM). Either
way the model follows the registry's champion for its task: a deploy or rollback swaps
the LoRA adapter on the live model between two calls, so no conversation is dropped.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import httpx

from hotline.ml.registry import ModelSpec, Registry
from hotline.settings import Settings

log = logging.getLogger("hotline.models")

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
    model_id: str
    worked_example: bool

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, timeout_s: float,
             json_schema: dict | None = None) -> Completion: ...


class Served:
    """A model serving one registry spec: its id and prompt style come from the spec."""

    spec: ModelSpec

    @property
    def model_id(self) -> str:
        return self.spec.id

    @property
    def worked_example(self) -> bool:
        return self.spec.worked_example


class LlamaCppModel(Served):
    """llama-cpp-python with the thread settings measured best on small CPUs."""

    def __init__(self, spec: ModelSpec, *, context_tokens: int, threads: int, batch_threads: int) -> None:
        from llama_cpp import Llama

        if not spec.base_path.exists():
            raise LLMError(f"No model file at {spec.base_path}: run `hotline assemble-model`")
        self.model = Llama(model_path=str(spec.base_path), n_ctx=context_tokens, n_threads=threads,
                           n_threads_batch=batch_threads, verbose=False, seed=7)
        self._lock = threading.Lock()  # Llama is not thread-safe
        self._adapter = None
        self.spec = spec
        self.use(spec)

    def use(self, spec: ModelSpec) -> None:
        """Put spec's adapter (or none) on the live context; the base stays loaded."""
        import llama_cpp

        with self._lock:
            adapter = None
            if spec.adapter_path:
                adapter = llama_cpp.llama_adapter_lora_init(self.model._model.model, str(spec.adapter_path).encode())
                if adapter is None:
                    raise LLMError(f"llama.cpp could not load the adapter {spec.adapter_path}")
                adapters, scales = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter), (ctypes.c_float * 1)(1.0)
                failed = llama_cpp.llama_set_adapters_lora(self.model._ctx.ctx, adapters, 1, scales)
            else:
                failed = llama_cpp.llama_set_adapters_lora(self.model._ctx.ctx, None, 0, None)
            if failed:
                raise LLMError(f"llama.cpp could not apply the adapter of {spec.id}")
            if self._adapter is not None:
                llama_cpp.llama_adapter_lora_free(self._adapter)
            self._adapter, self.spec = adapter, spec
            self.model.reset()  # cached prompt states were computed with the old weights

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


class OpenAICompatibleModel(Served):
    """A chat-completions endpoint, for deployments that serve the model separately."""

    def __init__(self, spec: ModelSpec, base_url: str, model: str, api_key: str) -> None:
        self.base_url, self.model, self.api_key, self.stock = base_url.rstrip("/"), model, api_key, model
        self.use(spec)

    def use(self, spec: ModelSpec) -> None:
        """Servers with LoRA support (vLLM, llama.cpp's server) serve an adapter by its id."""
        self.spec, self.model = spec, spec.id if spec.adapter_path else self.stock

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


class ServedModel:
    """The champion of one task, followed: before a call, at most every model_refresh_s, the
    registry is read and a new champion's adapter is swapped in (a new base is loaded)."""

    def __init__(self, settings: Settings, task: str) -> None:
        self.settings, self.task, self.registry = settings, task, Registry(settings)
        self.current = load(settings, self.registry.serving(task))
        self._checked = time.monotonic()
        self._swap = threading.Lock()
        log.info("serving %s with %s", task, self.current.model_id)

    @property
    def model_id(self) -> str:
        return self.current.model_id

    @property
    def worked_example(self) -> bool:
        return self.current.worked_example

    def refresh(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._checked < self.settings.model_refresh_s:
            return
        with self._swap:
            self._checked = time.monotonic()
            wanted = self.registry.serving(self.task)
            if wanted == self.current.spec:
                return
            if wanted.base_path == self.current.spec.base_path:
                self.current.use(wanted)
            else:
                self.current = load(self.settings, wanted)
            log.warning("%s now served by %s", self.task, wanted.id)

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, timeout_s: float,
             json_schema: dict | None = None) -> Completion:
        self.refresh()
        return self.current.chat(messages, max_tokens=max_tokens, timeout_s=timeout_s, json_schema=json_schema)


def load(settings: Settings, spec: ModelSpec) -> LlamaCppModel | OpenAICompatibleModel:
    if settings.llm_backend == "openai":
        return OpenAICompatibleModel(spec, settings.openai_base_url, settings.openai_model,
                                     settings.openai_api_key.get_secret_value())
    return LlamaCppModel(spec, context_tokens=settings.llm_context_tokens,
                         threads=settings.llm_threads, batch_threads=settings.llm_batch_threads)


@lru_cache
def build_model(settings: Settings, task: str = "answer", model_id: str | None = None) -> ChatModel:
    """The model for a task: the registry's champion, followed as it changes; or one fixed
    model by id (evaluation, the verification gate)."""
    if model_id is None:
        return ServedModel(settings, task)
    return load(settings, Registry(settings).spec(model_id, task))
