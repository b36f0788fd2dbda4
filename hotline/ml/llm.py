"""The one place that builds the language model for a task.

By default our own llama.cpp server (hotline/ml/model_server.py), shared by every process;
or llama.cpp in this process (one long-lived instance, calls serialized, with a token limit
and a deadline); or any OpenAI-compatible server (vLLM). Either way the model follows the
registry's champion for its task: a deploy or rollback switches the LoRA adapter between
two calls, so no conversation is dropped.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol

import httpx

from hotline.ml import model_server
from hotline.ml.registry import ModelSpec, Registry
from hotline.settings import Settings, with_secrets

log = logging.getLogger("hotline.models")

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede importing llama_cpp


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    timed_out: bool = False


TextSink = Callable[[str], None]


class LLMError(RuntimeError):
    """The model could not answer (server down, bad response); callers fall back."""


class ChatModel(Protocol):
    model_id: str
    worked_example: bool

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, timeout_s: float,
             json_schema: dict | None = None, on_text: TextSink | None = None) -> Completion:
        """The whole reply; `on_text` also gets each piece as it is generated."""


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
             json_schema: dict | None = None, on_text: TextSink | None = None) -> Completion:
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
                if on_text and pieces[-1]:
                    on_text(pieces[-1])
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

    def request_extras(self) -> dict:
        return {}

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, timeout_s: float,
             json_schema: dict | None = None, on_text: TextSink | None = None) -> Completion:
        started = time.monotonic()
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0.0,
                **self.request_extras()}
        if json_schema:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": json_schema}}
        headers = {"Authorization": f"Bearer {self.api_key}"}
        try:
            if on_text is not None:
                return self._streamed(body, headers, timeout_s, on_text, started)
            response = httpx.post(f"{self.base_url}/chat/completions", json=body, timeout=timeout_s, headers=headers)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError, KeyError, IndexError) as error:
            raise LLMError(f"LLM server at {self.base_url} failed: {error}") from error
        usage = data.get("usage") or {}
        return Completion(data["choices"][0]["message"]["content"] or "", usage.get("prompt_tokens", 0),
                          usage.get("completion_tokens", 0), time.monotonic() - started)

    def _streamed(self, body: dict, headers: dict, timeout_s: float, on_text: TextSink, started: float) -> Completion:
        """Server-sent events, piece by piece, until the deadline (then the connection is closed,
        which stops generation on the server)."""
        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        pieces, usage, timed_out = [], {}, False
        with httpx.stream("POST", f"{self.base_url}/chat/completions", json=body, timeout=timeout_s,
                          headers=headers) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    if piece := (choice.get("delta") or {}).get("content"):
                        pieces.append(piece)
                        on_text(piece)
                if time.monotonic() - started > timeout_s:
                    timed_out = True
                    break
        return Completion("".join(pieces), usage.get("prompt_tokens", 0),
                          usage.get("completion_tokens", len(pieces)), time.monotonic() - started, timed_out)


class LlamaServerModel(OpenAICompatibleModel):
    """Our own llama-server for the spec's base model: it has every registered adapter loaded and
    switched off, and a request switches on the spec's by the id the server gave it."""

    def __init__(self, settings: Settings, spec: ModelSpec) -> None:
        self.settings = settings
        key = with_secrets(settings).model_server_key.get_secret_value()
        super().__init__(spec, "", spec.id, key)

    def use(self, spec: ModelSpec) -> None:
        self.spec, self.model = spec, spec.id
        self.root = model_server.base_url(self.settings, spec.base_path)
        self.base_url, self._adapter_ids = self.root + "/v1", None

    def adapter_ids(self) -> dict[str, int]:
        try:
            response = httpx.get(f"{self.root}/lora-adapters", timeout=5,
                                 headers={"Authorization": f"Bearer {self.api_key}"})
            response.raise_for_status()
            return {str(Path(adapter["path"]).resolve()): adapter["id"] for adapter in response.json()}
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise LLMError(f"model server at {self.root} failed: {error}") from error

    def request_extras(self) -> dict:
        if self.spec.adapter_path is None:
            return {}  # no adapter listed: every loaded adapter stays off
        wanted = str(self.spec.adapter_path.resolve())
        if self._adapter_ids is None or wanted not in self._adapter_ids:
            self._adapter_ids = self.adapter_ids()  # the server may have restarted with new adapters
        if wanted not in self._adapter_ids:
            raise LLMError(f"the model server at {self.root} has not loaded {self.spec.id}'s adapter yet "
                           "(it restarts with newly registered adapters)")
        return {"lora": [{"id": self._adapter_ids[wanted], "scale": 1.0}]}


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
        self.refresh()  # a deploy shows at once: in /health, and in the answer cache's key
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
             json_schema: dict | None = None, on_text: TextSink | None = None) -> Completion:
        self.refresh()
        return self.current.chat(messages, max_tokens=max_tokens, timeout_s=timeout_s, json_schema=json_schema,
                                 on_text=on_text)


def load(settings: Settings, spec: ModelSpec) -> LlamaCppModel | OpenAICompatibleModel:
    if settings.llm_backend == "server":
        return LlamaServerModel(settings, spec)
    if settings.llm_backend == "openai":
        return OpenAICompatibleModel(spec, settings.openai_base_url, settings.openai_model,
                                     settings.openai_api_key.get_secret_value())
    return LlamaCppModel(spec, context_tokens=settings.llm_context_tokens,
                         threads=settings.llm_threads, batch_threads=settings.llm_batch_threads)


def concurrency(settings: Settings) -> int:
    """How many model calls to have in flight at once: one for a model in this process (it is not
    thread-safe), one per slot of a server (it decodes them together)."""
    return 1 if settings.llm_backend == "llama_cpp" else settings.model_server_slots


@lru_cache
def build_model(settings: Settings, task: str = "answer", model_id: str | None = None) -> ChatModel:
    """The model for a task: the registry's champion, followed as it changes; or one fixed
    model by id (evaluation, the verification gate)."""
    if model_id is None:
        return ServedModel(settings, task)
    return load(settings, Registry(settings).spec(model_id, task))
