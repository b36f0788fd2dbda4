"""The model registry: champions per task, the gate's veto, and rollback along the history."""

from __future__ import annotations

import pytest

from hotline import clock
from hotline.db import make_engine, upgrade_schema
from hotline.db.models import ModelDeployment, ModelVersion
from hotline.ml.registry import DeployRefused, Registry, stock_id
from hotline.settings import Settings


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(Settings(var_dir=tmp_path))


def candidate(registry: Registry, model_id: str, passed: bool | None = True, task: str = "answer") -> ModelVersion:
    return registry.register(ModelVersion(id=model_id, task=task, base="qwen2.5-coder-0.5b", base_sha256="0" * 64,
                                          gate_passed=passed, created_at=clock.now()))


def test_no_champion_means_the_stock_model(registry):
    assert registry.champion("answer") is None
    assert registry.serving("answer").id == stock_id(registry.settings) == "qwen2.5-coder-1.5b"


def test_a_model_that_failed_the_gate_needs_force_and_a_reason(registry, caplog):
    candidate(registry, "bad", passed=False)
    with pytest.raises(DeployRefused, match="gate"):
        registry.deploy("bad")
    with pytest.raises(DeployRefused, match="reason"):
        registry.deploy("bad", force=True, reason="  ")
    registry.deploy("bad", force=True, reason="hotfix for the outage FAQ")
    assert registry.champion("answer").id == "bad"
    assert "forced: hotfix for the outage FAQ" in caplog.text
    with registry._session() as session:
        row = session.query(ModelDeployment).one()
    assert row.forced and row.reason == "hotfix for the outage FAQ"


def test_rollback_walks_back_through_champions_to_stock(registry):
    for model_id in ("v1", "v2", "v3"):
        candidate(registry, model_id)
        registry.deploy(model_id)
    candidate(registry, "summary-v1", task="summary")
    registry.deploy("summary-v1")
    assert [registry.rollback("answer") for _ in range(3)] == ["v2", "v1", stock_id(registry.settings)]
    assert registry.champion("answer") is None and registry.champion("summary").id == "summary-v1"
    with pytest.raises(DeployRefused, match="nothing to roll back"):
        registry.rollback("answer")


def test_unknown_models_are_refused(registry):
    with pytest.raises(DeployRefused, match="no model"):
        registry.deploy("nope")


def test_an_older_database_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE conversation_summaries (conversation_id VARCHAR(64) PRIMARY KEY, "
                                   "status VARCHAR(8))")
        connection.exec_driver_sql("INSERT INTO conversation_summaries VALUES ('c1', 'ok')")
    upgrade_schema(engine)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("SELECT conversation_id, model_id FROM conversation_summaries").all() == [
            ("c1", None)]


def test_an_older_answer_cache_is_made_afresh_not_left_unreadable(tmp_path):
    """A cache from before `sources` existed made every help answer fail (found by the soak)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE answer_cache (id INTEGER PRIMARY KEY, key VARCHAR(64))")
        connection.exec_driver_sql("INSERT INTO answer_cache VALUES (1, 'k')")
    upgrade_schema(engine)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("SELECT id, sources FROM answer_cache").all() == []
