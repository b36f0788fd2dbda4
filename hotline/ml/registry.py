"""The model registry: which model serves each task, and the history to roll back along.

A model is registered by id (a base GGUF, optionally a LoRA adapter on it); one per task is
the champion. With no champion, a task is served by the stock model the settings name.
Deploying refuses a model that failed the verification gate unless forced with a reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from hotline import clock
from hotline.db import ensure_schema, session_scope
from hotline.db.models import ModelDeployment, ModelVersion
from hotline.ml.files import BASES, base_path
from hotline.settings import Settings

log = logging.getLogger("hotline.models")
SERVED_TASKS = ("answer", "summary")


class DeployRefused(RuntimeError):
    """The model failed (or never passed) the gate, or is unknown."""


@dataclass(frozen=True)
class ModelSpec:
    """What a process needs to serve a model."""

    id: str
    task: str
    base_path: Path
    adapter_path: Path | None = None
    worked_example: bool = True


def stock_id(settings: Settings) -> str:
    """The stock model's id: its packaged base name, or the configured file's stem."""
    for name, packaged in BASES.items():
        if packaged and packaged.file_name == settings.llm_model_path.name:
            return name
    return settings.llm_model_path.stem


def stock_spec(settings: Settings, task: str) -> ModelSpec:
    return ModelSpec(stock_id(settings), task, settings.llm_model_path)


class Registry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        ensure_schema(settings.database_url)

    def _session(self):
        return session_scope(self.settings.database_url)

    def register(self, version: ModelVersion) -> ModelVersion:
        version.created_at = version.created_at or clock.now()
        with self._session() as session:
            session.merge(version)
        log.info("registered model %s for %s", version.id, version.task)
        return version

    def get(self, model_id: str) -> ModelVersion | None:
        with self._session() as session:
            return session.get(ModelVersion, model_id)

    def list(self, task: str | None = None) -> list[ModelVersion]:
        with self._session() as session:
            query = select(ModelVersion).order_by(ModelVersion.created_at)
            return list(session.scalars(query.where(ModelVersion.task == task) if task else query))

    def champion(self, task: str) -> ModelVersion | None:
        with self._session() as session:
            return session.scalar(select(ModelVersion).where(ModelVersion.task == task,
                                                             ModelVersion.status == "champion"))

    def spec(self, model_id: str, task: str) -> ModelSpec:
        """A registered model, or the stock model by its id."""
        if model_id == stock_id(self.settings):
            return stock_spec(self.settings, task)
        version = self.get(model_id)
        if version is None:
            if model_id in BASES:  # another packaged base, untuned
                return ModelSpec(model_id, task, base_path(model_id, self.settings.var_dir / "models"))
            raise DeployRefused(f"no model {model_id!r} in the registry")
        return ModelSpec(version.id, version.task, base_path(version.base, self.settings.var_dir / "models"),
                         Path(version.adapter_path) if version.adapter_path else None, version.worked_example)

    def serving(self, task: str) -> ModelSpec:
        """The champion for a task, or the stock model."""
        champion = self.champion(task)
        return self.spec(champion.id, task) if champion else stock_spec(self.settings, task)

    def deploy(self, model_id: str, *, force: bool = False, reason: str = "", action: str = "deploy") -> ModelVersion:
        with self._session() as session:
            version = session.get(ModelVersion, model_id)
            if version is None:
                raise DeployRefused(f"no model {model_id!r} in the registry")
            if not version.gate_passed and action == "deploy":
                if not force:
                    raise DeployRefused(f"{model_id} has not passed the verification gate "
                                        "(run `hotline tune verify`, or deploy with --force --reason ...)")
                if not reason.strip():
                    raise DeployRefused("a forced deploy needs a --reason, which is logged")
            previous = session.scalar(select(ModelVersion).where(ModelVersion.task == version.task,
                                                                 ModelVersion.status == "champion"))
            if previous is not None and previous.id != version.id:
                previous.status = "retired"
            version.status, version.deployed_at = "champion", clock.now()
            session.add(ModelDeployment(task=version.task, model_id=version.id,
                                        previous_id=previous.id if previous else None, action=action,
                                        forced=force and not version.gate_passed, reason=reason or None,
                                        at=clock.now()))
        log.warning("%s %s for %s%s", action, model_id, version.task,
                    f" (forced: {reason})" if force and not version.gate_passed else "")
        return version

    def rollback(self, task: str) -> str:
        """Make the previous champion the champion again (the stock model when there was none)."""
        with self._session() as session:
            current = session.scalar(select(ModelVersion).where(ModelVersion.task == task,
                                                                ModelVersion.status == "champion"))
            if current is None:
                raise DeployRefused(f"nothing to roll back: {task} is served by the stock model")
            # Where the current champion was first deployed from: rollbacks walk back, never toggle.
            last = session.scalar(select(ModelDeployment).where(ModelDeployment.task == task,
                                                                ModelDeployment.model_id == current.id,
                                                                ModelDeployment.action == "deploy")
                                  .order_by(ModelDeployment.id.desc()))
            previous_id = last.previous_id if last else None
            current.status = "retired"
            if previous_id is None:
                session.add(ModelDeployment(task=task, model_id=current.id, previous_id=current.id,
                                            action="retire", at=clock.now(), reason="rollback to stock"))
        if previous_id is None:
            log.warning("rollback: %s now served by the stock model", task)
            return stock_id(self.settings)
        self.deploy(previous_id, force=True, reason=f"rollback from {current.id}", action="rollback")
        return previous_id
