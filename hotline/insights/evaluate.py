"""`make eval` for post-conversation extraction, on the reference conversations in
knowledge/eval/conversations.jsonl (human-written summaries, intents and topics)."""

from __future__ import annotations

import time

import numpy as np
from rouge_score import rouge_scorer
from tqdm import tqdm

from hotline.insights.extraction import InsightExtractor
from hotline.insights.transcript import redact_turns
from hotline.settings import Settings
from hotline.ml.llm import build_model
from hotline.ml.pii import get_pii_filter


def topic_scores(expected: list[set[str]], predicted: list[set[str]]) -> tuple[float, float, float]:
    """Micro-averaged precision, recall and F1 over every conversation's topic set."""
    true_positives = sum(len(e & p) for e, p in zip(expected, predicted))
    predicted_count, expected_count = sum(map(len, predicted)), sum(map(len, expected))
    precision = true_positives / predicted_count if predicted_count else 0.0
    recall = true_positives / expected_count if expected_count else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def evaluate_extraction(settings: Settings, rows: list[dict], model_id: str | None = None) -> dict:
    extractor = InsightExtractor(settings, build_model(settings, "summary", model_id))
    redact = get_pii_filter().redact
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    results, latencies = [], []
    for row in tqdm(rows, desc="Summaries", unit="conversation"):
        turns = redact_turns(row["turns"], redact)
        started = time.perf_counter()
        extraction = extractor.extract(turns)
        latencies.append(time.perf_counter() - started)
        insights = extraction.insights
        results.append({
            "id": row["id"], "channel": row["channel"], "valid": insights is not None,
            "valid_first_try": extraction.valid_first_try, "error": extraction.error,
            "rougeL": scorer.score(row["summary"], insights.summary)["rougeL"].fmeasure if insights else 0.0,
            "expected_intent": row["primary_intent"], "intent": insights.primary_intent if insights else None,
            "intent_correct": bool(insights and insights.primary_intent == row["primary_intent"]),
            "resolved_correct": bool(insights and insights.resolved == row["resolved"]),
            "sentiment_end_correct": bool(insights and insights.sentiment_end == row["sentiment_end"]),
            "expected_topics": sorted(row["topics"]), "topics": sorted(insights.topics) if insights else [],
            "summary": insights.summary if insights else None})
    precision, recall, f1 = topic_scores([set(r["expected_topics"]) for r in results],
                                         [set(r["topics"]) for r in results])
    mean = lambda key: float(np.mean([r[key] for r in results])) if results else 0.0  # noqa: E731
    return {"conversations": len(rows), "json_valid_first_try": mean("valid_first_try"),
            "json_valid_rate": mean("valid"), "summary_rougeL": mean("rougeL"), "intent_accuracy": mean("intent_correct"),
            "topic_precision": precision, "topic_recall": recall, "topic_f1": f1,
            "resolved_accuracy": mean("resolved_correct"), "sentiment_end_accuracy": mean("sentiment_end_correct"),
            "latency_p50_s": float(np.percentile(latencies, 50)) if latencies else 0.0,
            "latency_p95_s": float(np.percentile(latencies, 95)) if latencies else 0.0,
            "per_conversation": results}
