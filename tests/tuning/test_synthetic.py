"""Synthetic Q&A: parsing the teacher's questions, the filters, and a resumable run.

The teacher's text is the real default model's, recorded over three chunks by running
`generate` with it (tests/tuning/recorded/teacher.json). Re-record after changing a prompt,
the articles, the retrieval settings or the model (about two minutes on a laptop CPU):

    HOTLINE_RECORD=1 .venv/app/bin/python -m pytest -p no:randomly tests/tuning/test_synthetic.py -k record

Retrieval is the real one over the project's index (var/chroma).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import asdict, replace
from importlib.metadata import version
from pathlib import Path

import pytest

from hotline.ml.files import QWEN_CODER_1_5B, sha256_of
from hotline.ml.llm import Completion
from hotline.settings import get_settings
from hotline.tuning.items import read_items
from hotline.tuning.synthetic import (EXAMPLE_QUESTIONS, NEAR_DUPLICATE, QUESTION_SYSTEM, STYLES, SUBJECTS,
                                      done_path, generate, judge_answer, mentions, near_duplicate,
                                      order_passages, parse_questions, question_prompt, report_path,
                                      rouge_l, round_trip, styles_for, subject_of, unanswerable_verdict,
                                      unmentioned_subjects)
from knowledge.answer import NO_ANSWER_TEXT, SYSTEM_PROMPT, build_prompt
from knowledge.documents import load_corpus
from knowledge.retrieval import Passage, Retriever

RECORDING = Path(__file__).parent / "recorded" / "teacher.json"
CHUNKS = ("data-addons#1", "voicemail#1", "wifi-calling#1")


class Killed(RuntimeError):
    """Stands in for a run stopped half-way (Ctrl-C, a crash, the server going away)."""


class RecordingTeacher:
    """The real model, with every prompt and reply kept."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, []

    def chat(self, messages, **kwargs) -> Completion:
        completion = self.model.chat(messages, **kwargs)
        self.calls.append({"messages": messages, "reply": completion.text, "seconds": round(completion.seconds, 2),
                           "timed_out": completion.timed_out})
        return completion


class ReplayTeacher:
    """The real teacher, replayed: its recorded reply to the same prompt. A prompt that was not
    recorded fails the test (a prompt, the articles or retrieval changed: re-record). `kill`
    says when to stop the run instead of answering."""

    def __init__(self, recording: dict, kill=lambda messages: False) -> None:
        self.calls = {json.dumps(call["messages"]): call for call in recording["calls"]}
        self.kill = kill

    def chat(self, messages, **kwargs) -> Completion:
        if self.kill(messages):
            raise Killed
        call = self.calls.get(json.dumps(messages))
        assert call, "not recorded: HOTLINE_RECORD=1 pytest tests/tuning/test_synthetic.py -k record"
        return Completion(call["reply"], 0, 0, call["seconds"], call["timed_out"])


@pytest.fixture(scope="module")
def settings():
    return get_settings()


@pytest.fixture(scope="module")
def retriever(settings) -> Retriever:
    return Retriever(settings)


@pytest.fixture(scope="module")
def corpus(settings):
    return {chunk.id: chunk for chunk in load_corpus(settings.articles_dir)}


@pytest.fixture(scope="module")
def recording() -> dict:
    return json.loads(RECORDING.read_text())


@pytest.fixture(scope="module")
def question_calls(recording) -> list[dict]:
    """The recorded question-writing calls: for questions the passage answers, then ones it does not."""
    return [call for call in recording["calls"] if call["messages"][0]["content"] == QUESTION_SYSTEM]


@pytest.fixture(scope="module")
def replayed(recording, settings, retriever, corpus, tmp_path_factory) -> list:
    """The items of an uninterrupted run over the recorded chunks, replayed."""
    out = tmp_path_factory.mktemp("replayed") / "items.jsonl"
    generate(settings, ReplayTeacher(recording), retriever, out, chunks=[corpus[c] for c in CHUNKS], progress=False)
    return read_items(out)


@pytest.mark.skipif(os.environ.get("HOTLINE_RECORD") != "1", reason="records the real teacher: HOTLINE_RECORD=1")
def test_record_the_teacher(settings, retriever, corpus, tmp_path):
    from hotline.tuning.synthetic import build_teacher

    teacher = RecordingTeacher(build_teacher(settings))
    report = generate(settings, teacher, retriever, tmp_path / "items.jsonl", chunks=[corpus[c] for c in CHUNKS],
                      progress=False)
    RECORDING.parent.mkdir(parents=True, exist_ok=True)
    RECORDING.write_text(json.dumps(
        {"model": {"backend": settings.llm_backend, "file": settings.llm_model_path.name,
                   "sha256": sha256_of(settings.llm_model_path), "llama_cpp_python": version("llama_cpp_python"),
                   "threads": settings.llm_threads},
         "chunks": CHUNKS, "report": asdict(report), "calls": teacher.calls}, indent=1, ensure_ascii=False) + "\n")


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def recorded_reply(recording: dict, messages: list[dict]) -> str:
    return ReplayTeacher(recording).chat(messages).text


def passages_of(item, corpus) -> list[Passage]:
    """The passages an item's prompt was built from, as retrieval returns them (scores are not in the prompt)."""
    return [Passage(chunk_id=c.id, article_id=c.article_id, title=c.title, url=c.url, section=c.section,
                    text=c.text, score=0.0) for c in (corpus[id_] for id_ in item.meta["passage_ids"])]


def test_the_recording_is_of_the_default_model_and_todays_prompts(recording, corpus):
    assert recording["model"]["sha256"] == QWEN_CODER_1_5B.sha256
    prompts = [call["messages"] for call in recording["calls"]]
    positions = {id_: n for n, id_ in enumerate(corpus)}
    for chunk_id in CHUNKS:
        assert question_prompt(corpus[chunk_id], styles_for(positions[chunk_id])) in prompts, "re-record"
    assert all(call["reply"].strip() and not call["timed_out"] for call in recording["calls"])


def test_styles_rotate_evenly_over_the_corpus(corpus):
    counts = Counter(style for n in range(len(corpus)) for style in styles_for(n))
    assert set(counts) == set(STYLES) and max(counts.values()) - min(counts.values()) <= 2
    assert len(set(styles_for(0))) == len(styles_for(0)) and styles_for(0) != styles_for(1)


def test_the_teachers_lines_parse_into_styled_questions(question_calls):
    for call in question_calls:
        questions, dropped = parse_questions(call["reply"])
        assert dropped == [] and len(questions) == len(lines_of(call["reply"]))
        for (style, question), line in zip(questions, lines_of(call["reply"])):
            assert style in STYLES and line == f"{style}: {question}"


def test_numbering_quotes_placeholders_and_chatter_are_dropped(question_calls):
    """A recorded reply dressed the way small models often dress a list."""
    reply = question_calls[0]["reply"]
    expected, _ = parse_questions(reply)
    (style, first), *rest = expected
    dressed = "\n".join([
        "Here are 3 messages:", "", f"1. **{style.capitalize()}:**", f'"{first}"',
        *(f"{n}. {s} - “{q}”" for n, (s, q) in enumerate(rest, 2)),
        "sms: <the question, text shorthand>", "I hope these help!"])
    questions, dropped = parse_questions(dressed)
    assert questions == expected
    assert dropped == ["Here are 3 messages:", "sms: <the question, text shorthand>", "I hope these help!"]


def test_the_round_trip_keeps_a_question_only_where_retrieval_finds_its_chunk(question_calls, retriever):
    question = "what phones are supported for wi-fi calling?"  # the teacher's, for wifi-calling#1
    assert any(question in call["reply"] for call in question_calls)
    found = retriever.search(question)
    assert round_trip(question, "wifi-calling#1", found).chunk_id == "wifi-calling#1"
    # Asked of the Pixel eSIM chunk (which lists supported Pixels), retrieval misses it.
    assert round_trip(question, "esim-android-pixel#1", found) is None


def test_near_duplicates_of_kept_and_example_questions_are_caught(question_calls):
    questions = [q for call in question_calls for _, q in parse_questions(call["reply"])[0]]
    twin = "what phones are supported for wi-fi calling?"  # written twice, as casual and as typos
    assert questions.count(twin) == 2
    assert near_duplicate("what phones are supported for wifi calling", [twin])
    assert near_duplicate("hey how do i listen to my voicemail?", list(EXAMPLE_QUESTIONS.values()))
    other = "how much does wi-fi calling cost on brightwave?"
    assert other in questions and not near_duplicate(other, [twin])
    assert rouge_l(other, twin) < NEAR_DUPLICATE < rouge_l("what phones are supported for wifi calling", twin)


def test_unanswerable_questions_must_look_close_and_name_an_unmentioned_subject(question_calls, retriever, corpus,
                                                                                 settings):
    assert unmentioned_subjects(list(corpus.values())) == list(SUBJECTS)  # no article mentions any of them
    mentioned = replace(corpus["wifi-calling#1"], text="Wi-Fi Calling also works on Nokia phones.")
    assert "Nokia" not in unmentioned_subjects([mentioned])
    threshold = settings.relevance_threshold
    unanswerable = [call for call in question_calls if "does NOT answer" in call["messages"][1]["content"]]
    kept = [q for call in unanswerable for _, q in parse_questions(call["reply"])[0]
            if not unanswerable_verdict(q, subject_of(q, list(SUBJECTS)), retriever.search(q), threshold)]
    assert kept and all(subject_of(q, list(SUBJECTS)) for q in kept)
    copied = "Is voicemail free in the UK on a business account?"  # a passage's sentence with a subject added
    assert unanswerable_verdict(copied, "business", retriever.search(copied), threshold) == \
        "unanswerable: answered by a passage"
    far = "what's a good recipe for lasagne for a business lunch"
    assert unanswerable_verdict(far, "business", retriever.search(far), threshold) == "unanswerable: not close"
    answerable = "what phones are supported for wi-fi calling?"
    assert subject_of(answerable, list(SUBJECTS)) is None
    assert unanswerable_verdict(answerable, None, retriever.search(answerable), threshold) == \
        "unanswerable: off subject"


def test_a_kept_answer_cites_its_chunk_and_other_replies_are_rejected(replayed, recording, corpus, settings, retriever):
    similarity = lambda a, b: float(retriever.embedder.query(a) @ retriever.embedder.query(b))  # noqa: E731
    item = next(item for item in replayed if item.meta["answerable"])
    question, passages = item.meta["question"], passages_of(item, corpus)
    gold = item.meta["passage_ids"].index(item.meta["chunk_id"]) + 1
    reply = recorded_reply(recording, build_prompt(question, passages, example=True))
    assert judge_answer(question, reply, passages, gold, settings, similarity) == (item.completion, "")
    assert f"[{gold}]" in item.completion
    unmarked = reply.replace(f"[{gold}]", "").strip()
    # The small teacher seldom writes markers: a reply its gold passage alone supports is cited at the end.
    assert judge_answer(question, unmarked, passages, gold, settings, similarity) == (f"{unmarked} [{gold}]", "")
    elsewhere = f"{unmarked} [{3 - gold}]"
    assert judge_answer(question, elsewhere, passages, gold, settings, similarity) == ("", "no citation of gold")
    assert judge_answer(question, f"Yes [{gold}].", passages, gold, settings, similarity)[1]
    invented = f"{reply.strip()} It costs £987.65 a month."
    assert judge_answer(question, invented, passages, gold, settings, similarity)[1] == \
        "check: numbers not in the sources"


def test_the_gold_passage_is_not_always_first(replayed, question_calls, corpus):
    gold, distractor = (passages_of(replayed[0], corpus) + passages_of(replayed[0], corpus))[:2]
    questions = [q for call in question_calls for _, q in parse_questions(call["reply"])[0]]
    firsts = {order_passages(q, gold, distractor)[0].chunk_id for q in questions}
    assert firsts == {gold.chunk_id, distractor.chunk_id}
    assert all(order_passages(q, gold, distractor) == order_passages(q, gold, distractor) for q in questions)


def test_items_are_prompts_without_the_example_and_checked_completions(replayed, recording):
    assert Counter(item.meta["answerable"] for item in replayed) == {
        True: recording["report"]["kept"] - recording["report"]["kept_unanswerable"],
        False: recording["report"]["kept_unanswerable"]}
    for item in replayed:
        assert item.task == "answer" and item.origin == "synthetic"
        assert item.messages[0]["content"] == SYSTEM_PROMPT  # the tuned model is trained without the example
        assert item.meta["question"] in item.messages[1]["content"]
        assert item.source == f"synthetic:{item.meta['chunk_id']}" and item.group == item.meta["chunk_id"].split("#")[0]
        if item.meta["answerable"]:
            assert item.meta["chunk_id"] in item.meta["passage_ids"] and len(item.meta["passage_ids"]) == 2
        else:
            assert item.completion == NO_ANSWER_TEXT and item.meta["subject"] in SUBJECTS
            assert 1 <= len(item.meta["passage_ids"]) <= 2
    assert len({item.id for item in replayed}) == len(replayed)


def test_a_killed_run_resumes_without_duplicates(recording, settings, retriever, corpus, replayed, tmp_path):
    chunks = [corpus[c] for c in CHUNKS]
    out = tmp_path / "items.jsonl"

    def after_the_first_chunk(messages) -> bool:
        """Stop once the second chunk has written an item, or else when the second chunk is done."""
        return (out.exists() and f"synthetic:{CHUNKS[1]}" in out.read_text()) or \
            (done_path(out).exists() and CHUNKS[1] in done_path(out).read_text())

    with pytest.raises(Killed):
        generate(settings, ReplayTeacher(recording, kill=after_the_first_chunk), retriever, out, chunks=chunks,
                 progress=False)
    done = [json.loads(line)["chunk"] for line in done_path(out).read_text().splitlines()]
    assert done == [CHUNKS[0]]
    half_done = read_items(out)
    assert any(item.meta["chunk_id"] == CHUNKS[1] for item in half_done)  # the unfinished chunk's item is there

    report = generate(settings, ReplayTeacher(recording), retriever, out, chunks=chunks, progress=False)
    items = read_items(out)
    assert [item.id for item in items] == [item.id for item in replayed]  # as if never stopped
    assert len({item.meta["question"] for item in items}) == len(items)
    assert [json.loads(line)["chunk"] for line in done_path(out).read_text().splitlines()] == list(CHUNKS)
    assert report.discarded == sum(item.meta["chunk_id"] == CHUNKS[1] for item in half_done)
    assert report.chunks_done == 3 and report.chunks_left == 0 and report.kept == len(items)
    assert report.candidates == report.kept + sum(report.rejected.values())
    assert (report.candidates, report.rejected) == (recording["report"]["candidates"], recording["report"]["rejected"])
    assert json.loads(report_path(out).read_text())["kept"] == len(items)

    again = generate(settings, ReplayTeacher(recording, kill=lambda messages: True), retriever, out, chunks=chunks,
                     progress=False)
    assert again.kept == report.kept and read_items(out) == items  # nothing left to do: the teacher is not called


def test_every_rejected_candidate_is_recorded_with_its_reason(recording, settings, retriever, corpus, tmp_path):
    out = tmp_path / "items.jsonl"
    report = generate(settings, ReplayTeacher(recording), retriever, out, chunks=[corpus[c] for c in CHUNKS],
                      progress=False, limit=2)
    entries = [json.loads(line) for line in done_path(out).read_text().splitlines()]
    assert [entry["chunk"] for entry in entries] == list(CHUNKS[:2]) and report.chunks_left == 1
    reasons = Counter(rejected["reason"] for entry in entries for rejected in entry["rejected"])
    assert reasons == Counter(report.rejected) and reasons
    assert all(r["question"] for entry in entries for r in entry["rejected"] if r["reason"] != "timed out")
