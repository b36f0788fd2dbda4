"""`hotline check-nlu` fails a model whose held-out figures fall below their floors: the weighted
F1, any refusal intent, out-of-scope recall, or harmless messages that get refused."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from hotline.cli import NLU_INTENT_F1_FLOORS, app

HOLDOUT = {intent: [f"{intent} example {n}" for n in range(3)]
           for intent in [*NLU_INTENT_F1_FLOORS, "check_bill", "pay_bill", "ask_question"]}
STYLES = {"check_bill": ["bill pls", "wots my bil"], "ask_question": ["how do i set up voicemail", "apn settings?"],
          "out_of_scope": ["can you dim my screen", "who sells paper plates", "my gas bill is high"]}


def run(tmp_path, wrong: dict[str, str] | None = None):
    """Writes both sets and rasa's prediction files; `wrong` maps a text to a wrong prediction."""
    sets, results = tmp_path / "nlu", tmp_path / "results"
    rows = {"holdout": HOLDOUT, "styles": STYLES}
    for name, intents in rows.items():
        (sets / name).mkdir(parents=True)
        (sets / name / "casual.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": [
            {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)} for intent, texts in intents.items()]}))
    results.mkdir()
    wrong = wrong or {}
    predictions = [{"text": text, "intent": intent, "intent_prediction": {"name": wrong.get(text, intent), "confidence": 0.9}}
                   for intents in rows.values() for intent, texts in intents.items() for text in texts]
    (results / "intent_successes.json").write_text(json.dumps([p for p in predictions if p["text"] not in wrong]))
    (results / "intent_errors.json").write_text(json.dumps([p for p in predictions if p["text"] in wrong]))
    return CliRunner().invoke(app, ["check-nlu", str(results), "--sets", str(sets)])


def test_a_model_that_gets_everything_right_passes(tmp_path):
    result = run(tmp_path)
    assert result.exit_code == 0, result.output


def test_a_zeroed_refusal_intent_fails_even_with_a_good_average(tmp_path):
    result = run(tmp_path, {text: "check_bill" for text in HOLDOUT["abuse"]})
    assert result.exit_code == 1 and "abuse F1 0.000" in result.output


def test_harmless_messages_refused_or_out_of_scope_missed_fail(tmp_path):
    result = run(tmp_path, {"can you dim my screen": "abuse", "who sells paper plates": "other_customer_data",
                            "my gas bill is high": "check_bill"})
    assert result.exit_code == 1
    assert "harmless_refused 0.667" in result.output and "out_of_scope_recall 0.000" in result.output
