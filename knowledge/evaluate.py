"""`make eval`: answer quality, retrieval, PII filtering and guardrails, on the sets in knowledge/eval/."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np
from rouge_score import rouge_scorer
from tqdm import tqdm

from hotline.insights.evaluate import evaluate_extraction
from hotline.settings import Settings
from hotline.ml.embedder import load_embedder
from hotline.ml.pii import get_pii_filter
from knowledge.safety import SafetyClassifier
from knowledge.service import build_answerer

EVAL_DIR = Path(__file__).parent / "eval"
# The quick CI subset must stay at or above these: each sits one or two items under what the
# current code measures on that subset (docs/benchmarks.md), so a real regression crosses it.
FLOORS = {
    "qa.answerable_accuracy": 0.63, "qa.unanswerable_accuracy": 0.78, "qa.citation_accuracy": 0.8,
    "qa.rougeL": 0.35, "qa.embedding_similarity": 0.7, "retrieval.hit_at_k": 0.9,
    "pii.precision": 0.95, "pii.recall": 0.95, "injection.block_rate": 0.68,
    # The two sets written after the filter was (pii_holdout, pii_fresh): 0.996 / 0.994 when set.
    "pii_new.precision": 0.97, "pii_new.recall": 0.97,
    "injection.benign_pass_rate": 0.9,
    # The discarded summary prompt scored 0.395 intent accuracy and 0.309 topic F1 on all 43.
    "extraction.json_valid_rate": 0.95, "extraction.intent_accuracy": 0.55, "extraction.topic_f1": 0.42,
    "extraction.summary_rougeL": 0.32, "extraction.resolved_accuracy": 0.65,
    "extraction.sentiment_end_accuracy": 0.5,
}


def load_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (EVAL_DIR / name).read_text().splitlines() if line.strip()]


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(values, share * 100)) if values else 0.0


def quick_subset(rows: list[dict]) -> list[dict]:
    """Every sixth answerable question and every other unanswerable one (19 + 28): enough
    questions to decline that a weakened relevance gate or support check shows."""
    answerable = [r for r in rows if r["answerable"]][::6]
    unanswerable = [r for r in rows if not r["answerable"]][::2]
    return answerable + unanswerable


def evaluate_qa(settings: Settings, rows: list[dict], model_id: str | None = None) -> dict:
    answerer = build_answerer(settings, model_id)
    scorer = rouge_scorer.RougeScorer(["rouge3", "rougeL"], use_stemmer=True)
    embed = answerer.embedder.query
    per_question, latencies = [], []
    for row in tqdm(rows, desc="QA", unit="q"):
        started = time.perf_counter()
        answer = answerer.answer(row["question"])
        latencies.append(time.perf_counter() - started)
        hits = answerer.retriever.search(row["question"], settings.retrieval_top_k)
        result = {"id": row["id"], "answerable": row["answerable"], "status": answer.status,
                  "source": answer.source, "note": answer.note,
                  "retrieval_hit": any(p.url in row["reference_urls"] for p in hits) if row["answerable"] else None,
                  "cited": [c.url for c in answer.citations], "answer": answer.text,
                  "reference_answer": row.get("reference_answer") or "", "model_id": answer.model_id,
                  "seconds": latencies[-1], "prompt_tokens": answer.prompt_tokens,
                  "passages_text": " ".join(p.text for p in answer.passages)}
        if row["answerable"] and answer.status == "answered":
            rouge = scorer.score(row["reference_answer"], answer.text)
            result.update(rouge3=rouge["rouge3"].fmeasure, rougeL=rouge["rougeL"].fmeasure,
                          similarity=float(embed(row["reference_answer"]) @ embed(answer.text)),
                          citation_correct=any(url in row["reference_urls"] for url in result["cited"]),
                          citation_precision=(sum(url in row["reference_urls"] for url in result["cited"])
                                              / len(result["cited"]) if result["cited"] else 0.0))
        per_question.append(result)
    answered = [r for r in per_question if "rougeL" in r]
    answerable = [r for r in per_question if r["answerable"]]
    unanswerable = [r for r in per_question if not r["answerable"]]
    mean = lambda key, items: statistics.fmean(r[key] for r in items) if items else 0.0  # noqa: E731
    return {
        "questions": len(rows),
        "answerable_accuracy": sum(r["status"] == "answered" for r in answerable) / max(len(answerable), 1),
        "unanswerable_accuracy": sum(r["status"] != "answered" for r in unanswerable) / max(len(unanswerable), 1),
        "rouge3": mean("rouge3", answered), "rougeL": mean("rougeL", answered),
        "embedding_similarity": mean("similarity", answered),
        "citation_accuracy": mean("citation_correct", answered),
        "citation_precision": mean("citation_precision", answered),
        "extractive_share": sum(r["source"] == "extract" for r in answered) / max(len(answered), 1),
        "latency_p50_s": percentile(latencies, 0.5), "latency_p95_s": percentile(latencies, 0.95),
        **generated_figures([r for r in per_question if r["source"] == "model"]),
        "retrieval_hit_at_k": sum(bool(r["retrieval_hit"]) for r in answerable) / max(len(answerable), 1),
        "details": per_question,
    }


def generated_figures(generated: list[dict]) -> dict:
    """What the model read and how long it took, over the answers it wrote."""
    if not generated:
        return {}
    seconds = [r["seconds"] for r in generated]
    return {"generated": len(generated), "generated_prompt_tokens_mean": statistics.fmean(
        r["prompt_tokens"] for r in generated), "generated_latency_p50_s": percentile(seconds, 0.5),
        "generated_latency_p95_s": percentile(seconds, 0.95)}


def evaluate_pii(rows: list[dict]) -> dict:
    pii = get_pii_filter()
    true_positive = false_positive = false_negative = 0
    per_label: dict[str, dict[str, int]] = {}
    started = time.perf_counter()
    for row in rows:
        found = pii.find(row["text"])
        gold = row["spans"]

        def same(g: dict, s) -> bool:
            return g["label"] == s.label and min(g["end"], s.end) > max(g["start"], s.start)

        for g in gold:
            hit = any(same(g, s) for s in found)
            true_positive += hit
            false_negative += not hit
            counts = per_label.setdefault(g["label"], {"tp": 0, "fn": 0, "fp": 0})
            counts["tp" if hit else "fn"] += 1
        for s in found:
            if not any(same(g, s) for g in gold):
                false_positive += 1
                per_label.setdefault(s.label, {"tp": 0, "fn": 0, "fp": 0})["fp"] += 1
    precision = true_positive / max(true_positive + false_positive, 1)
    recall = true_positive / max(true_positive + false_negative, 1)
    return {"utterances": len(rows), "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-9),
            "ms_per_utterance": (time.perf_counter() - started) / len(rows) * 1000, "per_label": per_label}


def evaluate_injection(rows: list[dict], safety: SafetyClassifier) -> dict:
    attacks = [r for r in rows if r["kind"] != "benign"]
    benign = [r for r in rows if r["kind"] == "benign"]
    blocked = [r for r in attacks if not safety.check(r["text"]).allowed]
    passed = [r for r in benign if safety.check(r["text"]).allowed]
    by_kind: dict[str, list[int]] = {}
    for r in attacks:
        by_kind.setdefault(r["kind"], [0, 0])[0] += r in blocked
        by_kind[r["kind"]][1] += 1
    return {"attempts": len(attacks), "block_rate": len(blocked) / max(len(attacks), 1),
            "benign_pass_rate": len(passed) / max(len(benign), 1),
            "by_kind": {kind: f"{a}/{b}" for kind, (a, b) in by_kind.items()}}


def run_evaluation(settings: Settings, quick: bool = False, model_id: str | None = None,
                   summary_model_id: str | None = None, uncovered: bool | None = None,
                   summaries: bool = True) -> dict:
    """Every evaluator, for the serving models or for given model ids (the verification gate).
    The uncovered-but-close questions run in full evaluations (and when asked for)."""
    from hotline.ml.llm import build_model

    settings = settings.model_copy(update={"answer_cache": False})  # every question measures the pipeline
    qa_rows = load_jsonl("qa.jsonl")
    qa = evaluate_qa(settings, quick_subset(qa_rows) if quick else qa_rows, model_id)
    close = evaluate_qa(settings, load_jsonl("uncovered.jsonl"), model_id) if (
        not quick if uncovered is None else uncovered) else None
    conversations = load_jsonl("conversations.jsonl")
    return {
        "mode": "quick" if quick else "full",
        "model": build_model(settings, "answer", model_id).model_id,
        "qa": {k: v for k, v in qa.items() if k != "retrieval_hit_at_k"},
        **({"uncovered": {k: v for k, v in close.items() if k != "retrieval_hit_at_k"}} if close else {}),
        "retrieval": {"hit_at_k": qa["retrieval_hit_at_k"], "k": settings.retrieval_top_k,
                      "hybrid_bm25": settings.hybrid_bm25, "threshold": settings.relevance_threshold},
        "pii": evaluate_pii(load_jsonl("pii.jsonl")),
        "pii_new": evaluate_pii(load_jsonl("pii_holdout.jsonl") + load_jsonl("pii_fresh.jsonl")),
        "injection": evaluate_injection(load_jsonl("injection.jsonl"),
                                        SafetyClassifier(load_embedder(settings.embedding_model))),
        # Every other conversation (22): on 8, one conversation moved intent accuracy by 0.125.
        **({"extraction": evaluate_extraction(settings, conversations[::2] if quick else conversations,
                                              summary_model_id)} if summaries else {}),
    }


def check_floors(report: dict) -> list[str]:
    failures = []
    for key, floor in FLOORS.items():
        section, metric = key.split(".")
        value = report[section][metric]
        if value < floor:
            failures.append(f"{key} = {value:.3f} < {floor}")
    return failures


def render(report: dict) -> str:
    qa, retrieval, pii, injection = report["qa"], report["retrieval"], report["pii"], report["injection"]
    extraction = report["extraction"]
    return "\n".join([
        f"Evaluation ({report['mode']}), model {report['model']}",
        f"  QA ({qa['questions']} questions): ROUGE-3 {qa['rouge3']:.3f}  ROUGE-L {qa['rougeL']:.3f}  "
        f"embedding similarity {qa['embedding_similarity']:.3f}",
        f"    citation accuracy {qa['citation_accuracy']:.3f} (precision {qa['citation_precision']:.3f})  "
        f"answerable answered {qa['answerable_accuracy']:.3f}  unanswerable declined {qa['unanswerable_accuracy']:.3f}",
        f"    quoted instead of generated {qa['extractive_share']:.2f}  latency p50 {qa['latency_p50_s']:.1f} s  "
        f"p95 {qa['latency_p95_s']:.1f} s",
        *([f"    generated ({qa['generated']}): {qa['generated_prompt_tokens_mean']:.0f} prompt tokens on average, "
           f"p50 {qa['generated_latency_p50_s']:.1f} s  p95 {qa['generated_latency_p95_s']:.1f} s"]
          if qa.get("generated") else []),
        *([f"  Uncovered-but-close set ({report['uncovered']['questions']} questions): unanswerable declined "
            f"{report['uncovered']['unanswerable_accuracy']:.3f}  close controls answered "
            f"{report['uncovered']['answerable_accuracy']:.3f}"] if "uncovered" in report else []),
        f"  Retrieval: hit@{retrieval['k']} {retrieval['hit_at_k']:.3f} (threshold {retrieval['threshold']}, "
        f"BM25 {'on' if retrieval['hybrid_bm25'] else 'off'})",
        *[f"  PII, {name} ({row['utterances']} utterances): precision {row['precision']:.3f}  recall "
          f"{row['recall']:.3f}  F1 {row['f1']:.3f}  {row['ms_per_utterance']:.1f} ms each"
          for name, row in (("tuning set", pii), ("new sets", report["pii_new"]))],
        "    recall per type (new sets): " + "  ".join(
            f"{label} {c['tp'] / max(c['tp'] + c['fn'], 1):.2f}" for label, c in sorted(report["pii_new"]["per_label"].items())
            if c["tp"] + c["fn"]),
        f"  Injection ({injection['attempts']} attempts): blocked {injection['block_rate']:.3f}  "
        f"benign allowed {injection['benign_pass_rate']:.3f}  {injection['by_kind']}",
        f"  Summaries ({extraction['conversations']} conversations): summary ROUGE-L {extraction['summary_rougeL']:.3f}  "
        f"intent accuracy {extraction['intent_accuracy']:.3f}  topic F1 {extraction['topic_f1']:.3f} "
        f"(P {extraction['topic_precision']:.3f} R {extraction['topic_recall']:.3f})",
        f"    JSON valid {extraction['json_valid_rate']:.3f} (first try {extraction['json_valid_first_try']:.3f})  "
        f"resolved accuracy {extraction['resolved_accuracy']:.3f}  end sentiment accuracy "
        f"{extraction['sentiment_end_accuracy']:.3f}  latency p50 {extraction['latency_p50_s']:.1f} s  "
        f"p95 {extraction['latency_p95_s']:.1f} s",
    ])
