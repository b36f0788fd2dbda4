"""llama.cpp's own server, one per base model, that every process calls (issue 13).

The action server, the worker and agent assist used to load their own copy of the model;
now one `llama-server` per base GGUF holds it, with continuous batching over parallel
slots. It loads every adapter registered on its base, switched off, and a request turns
on the one its model uses, so the registry's deploy and rollback work per request. Each
base has a fixed port (the stock model's is `model_server_port`), so any process finds
it without asking anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotline.ml.files import BASES
from hotline.ml.registry import SERVED_TASKS, ModelSpec, Registry
from hotline.settings import Settings


@dataclass(frozen=True)
class ServerPlan:
    """One model server: its base model, the adapters it loads (id = position) and its port."""

    base_path: Path
    adapters: tuple[Path, ...]
    port: int


def port_for(settings: Settings, base_path: Path) -> int:
    """The stock model on model_server_port, each other packaged base on a port of its own after it."""
    if base_path == settings.llm_model_path:
        return settings.model_server_port
    names = [packaged.file_name if packaged else "SmolLM2-135M-Instruct.Q4_1.gguf" for packaged in BASES.values()]
    if base_path.name not in names:
        raise ValueError(f"no model server port for {base_path}: not the stock model nor a packaged base")
    return settings.model_server_port + 1 + names.index(base_path.name)


def base_url(settings: Settings, base_path: Path) -> str:
    return f"http://{settings.model_server_host}:{port_for(settings, base_path)}"


def plan_for(settings: Settings, base_path: Path) -> ServerPlan:
    """The server for one base: every adapter registered on it that exists on disk."""
    registry = Registry(settings)
    adapters = []
    for version in registry.list():
        if version.adapter_path and Path(version.adapter_path).exists() \
                and registry.spec(version.id, version.task).base_path == base_path:
            adapters.append(Path(version.adapter_path))
    return ServerPlan(base_path, tuple(dict.fromkeys(adapters)), port_for(settings, base_path))


def serving_plans(settings: Settings) -> list[ServerPlan]:
    """The servers the served tasks need now: the stock model's, and each champion's base."""
    registry = Registry(settings)
    bases = dict.fromkeys([settings.llm_model_path, *(registry.serving(task).base_path for task in SERVED_TASKS)])
    return [plan_for(settings, base) for base in bases]


def plan_serves(plan: ServerPlan, spec: ModelSpec) -> bool:
    return spec.base_path == plan.base_path and (spec.adapter_path is None or spec.adapter_path in plan.adapters)


def command(settings: Settings, executable: Path, plan: ServerPlan) -> list[str]:
    """Each slot holds a whole prompt of llm_context_tokens; threads as measured best in-process (one
    for generation, which collapses when another process takes a core, two for prompts); the key
    comes from the environment."""
    slots = settings.model_server_slots
    args = [str(executable), "-m", str(plan.base_path), "--host", settings.model_server_host,
            "--port", str(plan.port), "--parallel", str(slots), "-c", str(slots * settings.llm_context_tokens),
            "-t", str(settings.llm_threads), "-tb", str(settings.llm_batch_threads),
            "--no-webui", "--seed", "7"]
    for adapter in plan.adapters:
        args += ["--lora", str(adapter)]
    return args + (["--lora-init-without-apply"] if plan.adapters else [])
