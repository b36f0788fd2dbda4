"""`make bench` figures for the knowledge pipeline: retrieval at 10,000 chunks, PII
latency, model token rates (ours next to llama.cpp's own timing), answer latency."""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from hotline.settings import Settings
from knowledge.evaluate import load_jsonl, percentile
from knowledge.index import open_collection


def timings_ms(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(samples) * 1000, "p95_ms": percentile(samples, 0.95) * 1000}


def retrieval_at_scale(settings: Settings, target_chunks: int = 10_000, queries: int = 100) -> dict:
    """Copy the real index into a scratch collection padded with generated chunks, then search it.

    Padding vectors are real article vectors with noise and generated text: the search cost
    depends on how many vectors there are, not on what they say.
    """
    from knowledge.retrieval import Retriever

    source = open_collection(settings).get(include=["embeddings", "documents", "metadatas"])
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as scratch:
        scaled = settings.model_copy(update={"chroma_dir": Path(scratch)})
        collection = open_collection(scaled)
        real = np.asarray(source["embeddings"])
        collection.add(ids=source["ids"], embeddings=real, documents=source["documents"], metadatas=source["metadatas"])
        for start in range(len(real), target_chunks, 2000):
            count = min(2000, target_chunks - start)
            picks = rng.integers(0, len(real), count)
            vectors = real[picks] + rng.normal(0, 0.08, (count, real.shape[1]))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            collection.add(ids=[f"pad-{start + i}" for i in range(count)], embeddings=vectors,
                           documents=[f"Generated padding section {start + i}" for i in range(count)],
                           metadatas=[{**source["metadatas"][p], "article_id": f"pad-{p}"} for p in picks])
        retriever = Retriever(scaled)
        questions = [row["question"] for row in load_jsonl("qa.jsonl")][:queries]
        embed_times, search_times, total_times = [], [], []
        for question in questions:
            started = time.perf_counter()
            vector = retriever.embedder.query(question)
            embedded = time.perf_counter()
            collection.query(query_embeddings=[vector], n_results=settings.retrieval_top_k)
            searched = time.perf_counter()
            retriever.search(question)
            total_times.append(time.perf_counter() - searched)
            embed_times.append(embedded - started)
            search_times.append(searched - embedded)
        return {"chunks": collection.count(), "queries": len(questions), "embed_query": timings_ms(embed_times),
                "vector_search": timings_ms(search_times), "search_with_bm25_rescoring": timings_ms(total_times)}


def pii_latency() -> dict:
    from hotline.ml.pii import get_pii_filter

    pii = get_pii_filter()
    texts = [row["text"] for row in load_jsonl("pii.jsonl")]
    pii.find(texts[0])
    samples = []
    for text in texts * 3:
        started = time.perf_counter()
        pii.find(text)
        samples.append(time.perf_counter() - started)
    return {"utterances": len(samples), **timings_ms(samples)}


def model_rates(settings: Settings, runs: int = 5) -> dict:
    """Our measurement of prompt and generation speed, beside llama.cpp's own counters."""
    import llama_cpp

    from knowledge.answer import build_prompt
    from hotline.ml.llm import LlamaCppModel
    from hotline.ml.registry import stock_spec
    from knowledge.retrieval import Retriever

    model = LlamaCppModel(stock_spec(settings, "answer"), context_tokens=settings.llm_context_tokens,
                          threads=settings.llm_threads, batch_threads=settings.llm_batch_threads)
    retriever = Retriever(settings)
    questions = [row["question"] for row in load_jsonl("qa.jsonl")][:runs]
    ours, theirs = [], []
    for question in questions:
        model.model.reset()  # no prefix reuse: every run processes the whole prompt
        context = model.model.ctx
        llama_cpp.llama_perf_context_reset(context)
        completion = model.chat(build_prompt(question, retriever.search(question)), max_tokens=64, timeout_s=120)
        perf = llama_cpp.llama_perf_context(context)
        ours.append(completion)
        theirs.append(perf)
    return {
        "model": settings.llm_model_path.name, "threads": settings.llm_threads,
        "batch_threads": settings.llm_batch_threads, "runs": runs,
        "prompt_tokens_mean": statistics.fmean(c.prompt_tokens for c in ours),
        "llama_cpp_prompt_tok_s": statistics.fmean(p.n_p_eval / (p.t_p_eval_ms / 1000) for p in theirs),
        "llama_cpp_generation_tok_s": statistics.fmean(p.n_eval / (p.t_eval_ms / 1000) for p in theirs if p.n_eval),
        "ours_end_to_end_tok_s": statistics.fmean(c.completion_tokens / c.seconds for c in ours),
        "ours_seconds_mean": statistics.fmean(c.seconds for c in ours),
    }


def answer_latency(settings: Settings, questions: int = 30) -> dict:
    from knowledge.service import build_answerer

    rows = load_jsonl("qa.jsonl")
    random.Random(7).shuffle(rows)
    started = time.perf_counter()
    answerer = build_answerer(settings)
    answerer.answer(rows[0]["question"])
    cold = time.perf_counter() - started
    samples = {"generated": [], "quoted": [], "declined": []}
    for row in rows[1:questions + 1]:
        began = time.perf_counter()
        answer = answerer.answer(row["question"])
        kind = "declined" if answer.status != "answered" else ("generated" if answer.source == "model" else "quoted")
        samples[kind].append(time.perf_counter() - began)
    everything = [s for values in samples.values() for s in values]
    return {"cold_first_answer_s": cold, "warm": {"all": timings_ms(everything),
            **{kind: {"n": len(values), **timings_ms(values)} for kind, values in samples.items() if values}}}


def cache_figures(settings: Settings, split: str = "test",
                  thresholds: tuple[float, ...] = (0.80, 0.85, 0.88, 0.90, 0.92, 0.95)) -> dict:
    """Answer-cache hits on knowledge/eval/cache_<split>.jsonl at each similarity threshold: the
    share of paraphrases served from the cache, and near misses (different meaning) served
    wrongly, which must be none. What is cached does not matter here, only whether it is found."""
    from knowledge.cache import AnswerCache, names_in, terms_of
    from knowledge.retrieval import Retriever

    retriever = Retriever(settings)
    names = names_in(retriever.collection.get(include=["documents"])["documents"])
    rows = load_jsonl(f"cache_{split}.jsonl")

    def asked(question: str):
        passages = retriever.relevant(question)
        return retriever.embedder.query(question), passages, terms_of(question, names)

    pairs = [(row["question"], paraphrase, "paraphrase") for row in rows if row["kind"] == "paraphrase"
             for paraphrase in row["paraphrases"]]
    pairs += [(row["first"], row["second"], "near_miss") for row in rows if row["kind"] == "near_miss"]
    looked_up = [(asked(first), asked(second), kind) for first, second, kind in pairs]
    figures, lookup_times = {}, []
    for threshold in thresholds:
        with tempfile.TemporaryDirectory() as scratch:
            cache = AnswerCache(settings.model_copy(update={"database_url": f"sqlite:///{scratch}/cache.db",
                                                            "answer_cache_similarity": threshold}))
            hits = {"paraphrase": 0, "near_miss": 0}
            for (vector, passages, terms), (vector2, passages2, terms2), kind in looked_up:
                if not passages or not passages2:
                    continue
                cache.clear()
                cache.store(vector, passages, passages[:1], terms, {"text": "cached"}, "model", False)
                started = time.perf_counter()
                hits[kind] += cache.lookup(vector2, passages2, terms2, "model", False) is not None
                lookup_times.append(time.perf_counter() - started)
        counts = {kind: sum(1 for *_, k in pairs if k == kind) for kind in hits}
        figures[f"{threshold:.2f}"] = {"paraphrase_hit_rate": hits["paraphrase"] / counts["paraphrase"],
                                       "near_miss_hits": hits["near_miss"], "near_misses": counts["near_miss"]}
    return {"split": split, "paraphrases": sum(1 for *_, k in pairs if k == "paraphrase"),
            "thresholds": figures, "lookup": timings_ms(lookup_times)}


def prompt_figures(settings: Settings, sentences: tuple[int, ...] = (0, 6)) -> dict:
    """The answer half of `make eval` (the QA set and the uncovered-but-close set) with the passages
    given whole (0) and trimmed to N sentences, one after the other in one run. Only questions
    that take the generating path are asked: quoted answers never see the prompt."""
    from knowledge.answer import _QUOTE_FIRST
    from knowledge.evaluate import evaluate_qa

    settings = settings.model_copy(update={"answer_cache": False})
    sets = {name: [row for row in load_jsonl(f"{name}.jsonl") if not _QUOTE_FIRST.search(row["question"])]
            for name in ("qa", "uncovered")}
    figures = {}
    for keep in sentences:
        trimmed = settings.model_copy(update={"answer_prompt_sentences": keep})
        figures[str(keep)] = {name: {k: v for k, v in evaluate_qa(trimmed, rows).items() if k != "details"}
                              for name, rows in sets.items()}
    return figures


def run_knowledge_benchmark(settings: Settings) -> dict:
    return {"retrieval": retrieval_at_scale(settings), "pii": pii_latency(),
            "model": model_rates(settings), "answers": answer_latency(settings)}


if __name__ == "__main__":
    from hotline.settings import get_settings

    print(json.dumps(run_knowledge_benchmark(get_settings()), indent=2))
