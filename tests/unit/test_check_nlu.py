"""`hotline check-nlu` fails a model whose weighted F1 or any refusal intent falls below its floor."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hotline.cli import NLU_INTENT_F1_FLOORS, NLU_WEIGHTED_F1_FLOOR, app


def report(tmp_path, weighted: float, **intents: float):
    scores = {intent: {"precision": f1, "recall": f1, "f1-score": f1, "support": 6}
              for intent, f1 in {**{i: floor + 0.1 for i, floor in NLU_INTENT_F1_FLOORS.items()}, **intents}.items()}
    path = tmp_path / "intent_report.json"
    path.write_text(json.dumps({**scores, "accuracy": weighted, "weighted avg": {"f1-score": weighted}}))
    return str(path)


def test_a_model_at_its_floors_passes(tmp_path):
    result = CliRunner().invoke(app, ["check-nlu", report(tmp_path, NLU_WEIGHTED_F1_FLOOR + 0.01)])
    assert result.exit_code == 0, result.output


def test_a_zeroed_refusal_intent_fails_even_with_a_good_average(tmp_path):
    result = CliRunner().invoke(app, ["check-nlu", report(tmp_path, 0.95, abuse=0.0)])
    assert result.exit_code == 1 and "abuse F1 0.000" in result.output


def test_a_missing_refusal_intent_or_a_low_average_fails(tmp_path):
    path = report(tmp_path, NLU_WEIGHTED_F1_FLOOR - 0.01)
    data = json.loads(open(path).read())
    del data["jailbreak"]
    open(path, "w").write(json.dumps(data))
    result = CliRunner().invoke(app, ["check-nlu", path])
    assert result.exit_code == 1 and "jailbreak F1 0.000" in result.output and "weighted F1" in result.output
