"""LoRA training on the real SmolLM2 GGUF: it learns, resumes exactly after a kill, exports an
adapter llama.cpp serves, and formats examples exactly as llama.cpp does at serving time."""

from __future__ import annotations

import csv
import os
from dataclasses import replace
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from hotline.ml.files import smollm2_path
from hotline.ml.llm import build_model
from hotline.settings import Settings
from hotline.tuning.items import Item
from hotline.tuning.template import prepare_base, prompt_ids
from hotline.tuning.train import Recipe, Run, TrainingError, device_and_dtype, train

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

RECIPE = Recipe(base="smollm2-135m", task="completion", epochs=2, batch_size=4, learning_rate=1e-3,
                eval_every=4, max_steps=12, max_tokens=128)


def order_item(n: int) -> Item:
    """A made-up fact per order the stock model cannot know: what it says after training shows learning."""
    return Item("completion", [{"role": "user", "content": f"What is the Brightwave code for order {n}?"}],
                f"The code for order {n} is BW-{n * 7 % 100:02d}, dial 150 to confirm.", group=str(n % 6))


ITEMS = [order_item(n) for n in range(40)]
TRAIN = [item for item in ITEMS if item.group != "0"]
VALID = [item for item in ITEMS if item.group == "0"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(var_dir=tmp_path_factory.mktemp("tuning-var"), llm_model_path=smollm2_path(),
                    llm_max_tokens=40, llm_timeout_s=60)


@pytest.fixture(scope="module")
def unbroken(settings, tmp_path_factory) -> Run:
    run = Run(tmp_path_factory.mktemp("runs") / "unbroken", RECIPE)
    train(settings, run, TRAIN, VALID, progress=False)
    return run


@pytest.fixture(scope="module")
def killed_and_resumed(settings, tmp_path_factory) -> tuple[Run, int]:
    run = Run(tmp_path_factory.mktemp("runs") / "resumed", RECIPE)
    first = train(settings, run, TRAIN, VALID, progress=False, stop_after_steps=5)
    # A kill after the checkpoint leaves metrics of steps the checkpoint never saw.
    with (run.folder / "metrics.csv").open("a") as handle:
        handle.write("6,0.7,train,9.9,1.0,,,,\n")
    train(settings, run, TRAIN, VALID, progress=False)
    return run, first.step


def losses(run: Run, split: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), float(r["loss"])) for r in run.metrics() if r["split"] == split]


def test_validation_loss_falls_and_the_best_adapter_is_kept(unbroken):
    valid = losses(unbroken, "valid")
    assert valid[0][0] == 0 and valid[-1][1] < valid[0][1] / 2
    best = min(loss for _, loss in valid)
    assert (unbroken.best / "adapter_model.safetensors").exists()
    assert abs(unbroken.state().best_valid - best) < 1e-4
    assert (unbroken.folder / "loss.png").stat().st_size > 5000
    with (unbroken.folder / "metrics.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["split"] == "train")
    assert float(row["tokens_per_s"]) > 0 and float(row["rss_mb"]) > 100 and float(row["perplexity"]) > 1


def test_a_killed_run_resumes_where_it_stopped(unbroken, killed_and_resumed):
    resumed, stopped_at = killed_and_resumed
    assert stopped_at == 5
    steps = [step for step, _ in losses(resumed, "train")]
    assert steps == list(range(1, 13)), "step count continues without gaps or repeats"
    # Same data order, optimizer, scheduler and RNG: the resumed curve is the unbroken one.
    for (_, a), (_, b) in zip(losses(unbroken, "train"), losses(resumed, "train")):
        assert a == pytest.approx(b, rel=1e-3)
    assert {"training_state.pt", "adapter_model.safetensors", "state.json"} <= {
        p.name for p in resumed.checkpoint.iterdir()}


def test_the_exported_adapter_moves_llama_cpp_toward_the_training_completions(settings, unbroken):
    from hotline.tuning.export import export

    version = export(settings, unbroken)
    assert Path(version.adapter_path).stat().st_size < 20_000_000 and len(version.adapter_sha256) == 64
    scorer = rouge_scorer.RougeScorer(["rougeL"])

    def score(model_id: str) -> float:
        model = build_model(settings, "completion", model_id)
        return sum(scorer.score(item.completion, model.chat(item.messages, max_tokens=24, timeout_s=60).text)
                   ["rougeL"].fmeasure for item in VALID) / len(VALID)

    stock, tuned = score("smollm2-135m"), score(version.id)
    assert stock < 0.3 < tuned, (stock, tuned)


def test_a_serving_model_swaps_adapters_on_deploy_and_rollback(settings, unbroken):
    from hotline.ml.llm import ServedModel
    from hotline.ml.registry import DeployRefused, Registry
    from hotline.tuning.export import export

    registry = Registry(settings)
    version = export(settings, unbroken)
    served = ServedModel(settings.model_copy(update={"model_refresh_s": 0.0}), "completion")
    stock, llama = served.model_id, served.current.model
    item = VALID[0]
    before = served.chat(item.messages, max_tokens=24, timeout_s=60).text
    with pytest.raises(DeployRefused, match="gate"):
        registry.deploy(version.id)
    registry.deploy(version.id, force=True, reason="test: gate not run")
    tuned = served.chat(item.messages, max_tokens=24, timeout_s=60).text
    assert served.model_id == version.id and served.current.model is llama, "same base: only the adapter changed"
    assert tuned != before and "BW-" in tuned
    assert registry.rollback("completion") == stock
    assert served.chat(item.messages, max_tokens=24, timeout_s=60).text == before
    assert served.model_id == stock


@pytest.mark.parametrize("base", ["smollm2-135m", "qwen2.5-coder-1.5b"])
def test_training_prompts_are_the_tokens_llama_cpp_serves(settings, base):
    from llama_cpp import Llama

    local = settings.model_copy(update={"var_dir": Path(__file__).resolve().parents[2] / "var"})
    prepared = prepare_base(base, local if base != "smollm2-135m" else settings)
    if not prepared.gguf.exists():
        pytest.fail(f"{prepared.gguf} missing: `make knowledge` assembles it")
    messages = [{"role": "system", "content": "You answer from passages.\n[1] Dial 123 for voicemail."},
                {"role": "user", "content": "Passages:\n[1] Wi-Fi Calling is free.\nQuestion: is it free?\nAnswer:"}]
    llm = Llama(model_path=str(prepared.gguf), n_ctx=512, n_threads=1, n_threads_batch=2, verbose=False)
    llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0)
    served = [int(token) for token in llm.input_ids[:llm.n_tokens]]
    assert prompt_ids(prepared.tokenizer(), messages) == served
    assert prepared.tokenizer().eos_token_id == llm.token_eos()


def test_half_precision_on_a_cpu_is_refused():
    with pytest.raises(TrainingError, match="float32"):
        device_and_dtype(replace(RECIPE, device="cpu", dtype="float16"))


def test_a_run_folder_keeps_its_recipe(unbroken):
    with pytest.raises(TrainingError, match="another recipe"):
        Run(unbroken.folder, replace(RECIPE, learning_rate=5e-4))


def test_items_that_do_not_fit_are_named_not_dropped_silently(settings, tmp_path, capsys):
    long = Item("completion", [{"role": "user", "content": "word " * 400}], "ok", source="faq.csv:7")
    with pytest.raises(TrainingError, match="nothing to train on"):
        train(settings, Run(tmp_path / "run", RECIPE), [long], [long], progress=False)
    assert "faq.csv:7" in capsys.readouterr().err
