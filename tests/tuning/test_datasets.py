"""Importing, scanning, fixing and splitting training data: defects planted in real files, caught
by the real PII filter, the SmolLM2 tokenizer and the project's evaluation sets."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from hotline.settings import PROJECT_ROOT
from hotline.tuning.datasets import DatasetError, import_csv, import_jsonl, summary_messages
from hotline.tuning.items import Item, read_items, write_items
from hotline.tuning.scan import (
    EVAL_DIR, ENCODING, Finding, apply_fixes, load_eval_texts, redacted_copy, repair_encoding, rouge_l, scan, similar,
    write_report)
from hotline.tuning.split import LeakageError, mix, split
from knowledge.documents import load_corpus
from knowledge.retrieval import Passage

MAX_TOKENS = 512
NAME, PHONE = ("Sarah", "Jenkins"), "07912 345678"
ARTICLES = {"voicemail": "voicemail", "puk": "puk-codes", "roam": "roaming-europe", "spain": "roaming-europe"}


@pytest.fixture(scope="module")
def pii():
    from hotline.ml.pii import get_pii_filter

    return get_pii_filter()


@pytest.fixture(scope="module")
def count_tokens():
    """The SmolLM2 tokenizer, read from the GGUF without loading the weights."""
    import llama_cpp

    from hotline.ml.files import smollm2_path

    vocab = llama_cpp.Llama(model_path=str(smollm2_path()), vocab_only=True, verbose=False)
    return lambda text: vocab.tokenize(text.encode(), add_bos=False)


@pytest.fixture(scope="module")
def passages_for():
    """The first two sections of the article a keyword points to (Boosts otherwise), as the retriever returns them."""
    chunks = load_corpus(PROJECT_ROOT / "knowledge" / "articles")

    def retrieve(question: str) -> list[Passage]:
        article = next((a for word, a in ARTICLES.items() if word in question.lower()), "data-addons")
        return [Passage(c.id, c.article_id, c.title, c.url, c.section, c.text, 0.8)
                for c in chunks if c.article_id == article][:2]
    return retrieve


@pytest.fixture(scope="module")
def eval_texts():
    return load_eval_texts()


def qa_question(n: int = 0) -> str:
    return json.loads((EVAL_DIR / "qa.jsonl").read_text().splitlines()[n])["question"]


# Spreadsheet row -> what is planted there; row 3's question holds a newline, so from row 4
# on the line number is one more than the row.
ROWS = [
    ("Which Boost sizes can I buy?", ""),  # 2 empty answer
    ("  Where do I find my voicemail messages?\n", "Dial 123 from your Brightwave phone [1]."),  # 3 whitespace
    ("What is a PUK\x07 code?", "An 8-digit code that unblocks your SIM [1]."),  # 4 control character
    ("Can I get a Boost for Â£10?", "No: the 5GB Boost costs £8.00 and the 20GB Boost £15.00 [2]."),  # 5 mojibake
    ("Tell me about Boosts " + "please " * 300, "Boosts add data to your plan [1]."),  # 6 too long
    ("Where do I find my voicemail messages?", "Dial 123 from your Brightwave phone [1]."),  # 7 = row 3 fixed
    ("where can I find my voicemail messages", "Call 123 from your phone [1]."),  # 8 near row 3
    (f"Hi, I am {' '.join(NAME)}, can you ring me on {PHONE} about roaming?",
     "We can't ring you, but Europe roaming is included on Essential [1]."),  # 9 personal data
    ("Does a Boost last until the end of the month?", "Yes, until the end of your billing cycle [3]."),  # 10 dangling
    (qa_question(), "Starter is 4G only [1]."),  # 11 copies the evaluation set
]
MALFORMED = ['How do I roam?,"an unclosed quote\n',  # 12
             "What is roaming,in,Europe?,Extra\n"]  # 13
TAIL = [("Can I add a Boost on a broadband plan?", "No, Boosts are for mobile plans only [1]."),  # 14 clean
        ("can I add a boost on a broadband plan", "No - Boosts are for mobile plans only [1]")]  # 15 = 14, nearly
# A quote closed a line late, with a value too many: that row is unreadable, and so is the next on its own.
MALFORMED_TAIL = ['What is a PAC code?,"never closed\n', 'Where is my bill?,In the app",extra\n']  # 16, 17
EXPECTED = {(2, "empty"), (3, "whitespace"), (4, "control characters"), (5, "encoding"), (6, "too long"),
            (7, "duplicate"), (8, "near duplicate"), (9, "personal data"), (10, "dangling citation"), (11, "leak"),
            (12, "unreadable"), (13, "unreadable"), (15, "near duplicate"), (16, "unreadable"), (17, "unreadable")}
DROPPED = {2, 7, 11, 15}


def write_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([("question", "answer"), *ROWS])
        handle.writelines(MALFORMED)
        writer.writerows(TAIL)
        handle.writelines(MALFORMED_TAIL)
    return path


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, pii, count_tokens, passages_for, eval_texts):
    path = write_csv(tmp_path_factory.mktemp("faq") / "faq.csv")
    imported = import_csv(path, "answer", "question", "answer", passages_for=passages_for)
    findings = scan(imported.items, pii=pii, tokenizer=count_tokens, max_tokens=MAX_TOKENS, eval_texts=eval_texts)
    return imported, [*imported.findings, *findings]


def by_row(findings: list[Finding], row: int) -> dict[str, Finding]:
    return {f.problem: f for f in findings if f.row == row}


def test_the_scan_catches_each_planted_defect_at_its_row(scanned):
    imported, findings = scanned
    assert [item.source for item in imported.items] == [f"faq.csv:{row}" for row in (*range(2, 12), 14, 15)]
    assert imported.items[0].meta["passage_ids"] == ["data-addons#0", "data-addons#1"]
    assert imported.items[7].group == "roaming-europe"  # row 9: the first passage's article
    assert {(f.row, f.problem) for f in findings} == EXPECTED | {(6, "whitespace")}  # "please " ends in a space
    assert "line 13" in by_row(findings, 12)["unreadable"].detail
    assert "4 values" in by_row(findings, 13)["unreadable"].detail
    assert by_row(findings, 5)["encoding"].fix.endswith("Can I get a Boost for £10?")
    assert by_row(findings, 7)["duplicate"].detail == "same as row 3"
    near = by_row(findings, 8)["near duplicate"]
    assert "row 3" in near.detail and not near.safe  # outputs differ: kept
    assert by_row(findings, 15)["near duplicate"].safe  # input and output near-identical: dropped
    assert "[3]" in by_row(findings, 10)["dangling citation"].detail
    assert "qa.jsonl:q001" in by_row(findings, 11)["leak"].detail
    assert f"{MAX_TOKENS}" in by_row(findings, 6)["too long"].detail
    assert set(by_row(findings, 9)["personal data"].detail.replace(" x1", "").split(", ")) == {"PERSON", "PHONE_NUMBER"}


def test_the_fixed_copy_holds_the_repairs_and_no_raw_personal_data(scanned):
    imported, findings = scanned
    cleaned, applied = apply_fixes(imported.items, findings)
    rows = {int(item.source.split(":")[1]): item for item in cleaned}
    assert set(rows) == {3, 4, 5, 6, 8, 9, 10, 14}
    assert rows[3].meta["question"] == "Where do I find my voicemail messages?"
    assert rows[3].messages[-1]["content"].endswith("\nQuestion: Where do I find my voicemail messages?\nAnswer:")
    assert "\x07" not in rows[4].as_json() and rows[4].meta["question"] == "What is a PUK code?"
    assert "Â" not in rows[5].as_json() and "Question: Can I get a Boost for £10?" in rows[5].messages[-1]["content"]
    assert rows[10].completion == "Yes, until the end of your billing cycle."
    assert "<PERSON>" in rows[9].meta["question"] and "<PHONE_NUMBER>" in rows[9].messages[-1]["content"]
    stored = "".join(item.as_json() for item in cleaned)
    assert not any(secret in stored for secret in (*NAME, PHONE))
    assert rows[14] is imported.items[-2]  # nothing to fix: the same item
    # Nothing dropped or changed without a finding that says so.
    explained = {f.item for f in applied}
    for index, item in enumerate(imported.items):
        assert item in cleaned or index in explained
    assert {f.row for f in applied if f.problem in ("empty", "duplicate", "near duplicate", "leak")} == DROPPED


def test_reports_and_stored_copies_never_hold_raw_personal_data(scanned, pii, tmp_path):
    imported, findings = scanned
    table, summary = write_report(findings, tmp_path / "report")
    with table.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["row", "field", "problem", "detail", "proposed fix", "applied by fix"]
    assert len(lines) == len(findings) + 1
    counts = json.loads(summary.read_text())
    assert counts["by_problem"]["unreadable"] == 4 and counts["findings"] == len(findings)
    copy = write_items(tmp_path / "raw.jsonl", redacted_copy(imported.items, pii))
    for path in (table, summary, copy):
        assert not any(secret in path.read_text(encoding="utf-8") for secret in (*NAME, PHONE)), path.name
    unfixed = {item.source: item for item in read_items(copy)}
    assert "Â£10" in unfixed["faq.csv:5"].meta["question"]  # redaction only: the scan's other fixes wait for `fix`


def test_a_missing_column_names_the_columns_found(tmp_path, passages_for):
    path = write_csv(tmp_path / "faq.csv")
    with pytest.raises(DatasetError, match=r"no column 'reply'; columns found: question, answer"):
        import_csv(path, "answer", "question", "reply", passages_for=passages_for)


def test_a_windows_1252_file_is_read_with_a_finding(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("prompt,reply\nhello,fine\nprice?,£10 a month\n".encode("cp1252"))
    imported = import_csv(path, "completion", "prompt", "reply")
    assert [item.completion for item in imported.items] == ["fine", "£10 a month"]
    assert [(f.row, f.problem) for f in imported.findings] == [(3, ENCODING)]


def test_chat_jsonl_with_a_malformed_line(tmp_path, pii, eval_texts):
    lines = [
        {"messages": [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "hi"},
                      {"role": "assistant", "content": "Hello! How can I help?"}]},
        "{not json",
        "",
        {"messages": []},
        {"messages": [{"role": "user", "content": f"my number is {PHONE}"}, {"role": "assistant", "content": "Noted."},
                      {"role": "user", "content": "thanks"}, {"role": "assistant", "content": "Any time."}]},
    ]
    path = tmp_path / "chat.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    imported = import_jsonl(path, "completion")
    assert [(f.row, f.problem) for f in imported.findings] == [(2, "unreadable"), (4, "unreadable")]
    first, last = imported.items
    assert (first.source, last.source) == ("chat.jsonl:1", "chat.jsonl:5")
    assert first.messages[-1] == {"role": "user", "content": "hi"} and first.completion == "Hello! How can I help?"
    assert len(last.messages) == 3 and last.completion == "Any time."
    findings = scan(imported.items, pii=pii, eval_texts=eval_texts)
    assert [(f.row, f.field, f.problem) for f in findings] == [(5, "message 1", "personal data")]
    cleaned, _ = apply_fixes(imported.items, findings)
    assert PHONE not in cleaned[1].as_json() and cleaned[1].messages[0]["content"] == "my number is <PHONE_NUMBER>"


def test_summary_items_carry_the_transcript_last(tmp_path, pii, eval_texts):
    path = tmp_path / "calls.csv"
    path.write_text('call,transcript,summary\nc42,"Customer: my bill is wrong \nAssistant: Let me check.",'
                    '"{""primary_intent"": ""bill_query""}"\n')
    item, = import_csv(path, "summary", "transcript", "summary", group_col="call").items
    assert item.group == "c42" and item.completion == '{"primary_intent": "bill_query"}'
    assert item.messages == summary_messages("Customer: my bill is wrong \nAssistant: Let me check.")
    assert item.messages[0]["content"].startswith("Summarise this customer-service conversation as JSON.")
    assert scan([item], pii=pii, eval_texts=eval_texts) == []


def test_a_copied_evaluation_conversation_is_refused(pii, eval_texts):
    record = json.loads((EVAL_DIR / "conversations.jsonl").read_text().splitlines()[0])
    transcript = "\n".join(f"{turn['role']}: {turn['text']}" for turn in record["turns"])
    item = Item("summary", summary_messages(transcript), "{}", source="calls.csv:2", meta={"input": transcript})
    leak, = [f for f in scan([item], pii=pii, eval_texts=eval_texts) if f.problem == "leak"]
    assert f"conversations.jsonl:{record['id']}" in leak.detail


def test_mojibake_repair():
    assert repair_encoding("Â£10") == "£10"
    assert repair_encoding("donâ€™t") == "don’t"
    assert repair_encoding("â€œquotedâ€\x9d") == "“quoted”"
    assert repair_encoding("Ã‚Â£5") == "£5"  # mis-decoded twice
    assert repair_encoding("São Paulo, £10, naïve café") == "São Paulo, £10, naïve café"


def test_the_prefilter_loses_no_pair(eval_texts):
    """similar() scores only candidates; it must find exactly the pairs scoring every pair finds."""
    texts = [e.text for e in eval_texts if e.source.startswith("qa.jsonl")][:80]
    rng = random.Random(3)
    texts += [" ".join(word for word in text.split() if rng.random() > 0.15) for text in texts[:40]]
    brute = {(i, j) for i in range(len(texts)) for j in range(i) if rouge_l(texts[i], texts[j]) >= 0.7}
    assert {(i, j) for i, j, _ in similar(texts, None, 0.7)} == brute and len(brute) >= 20
    # At the bound: the shorter text shares exactly the tokens F = 0.7 needs, all of them common.
    short = "one two three four five six seven"
    long_ = f"alpha bravo charlie delta echo foxtrot {short}"
    assert [(i, j) for i, j, _ in similar([short, long_], None, 0.7)] == [(1, 0)]


def grouped_items() -> list[Item]:
    items = [Item("answer", [{"role": "user", "content": f"question {n}"}], f"answer {n}",
                  "synthetic" if n % 3 else "real", group=f"article-{n % 12}", source=f"faq.csv:{n + 2}")
             for n in range(60)]
    return items + [Item("summary", summary_messages(f"call {n}"), "{}", source=f"calls.csv:{n + 2}")
                    for n in range(15)]


def test_the_split_keeps_groups_whole_and_is_deterministic(eval_texts):
    items = grouped_items()
    first = split(items, frozen_texts=eval_texts)
    assert not {i.group for i in first.train if i.group} & {i.group for i in first.valid if i.group}
    assert 0.1 <= first.share <= 0.3 and {i.task for i in first.valid} == {"answer", "summary"}
    shuffled = items[:]
    random.Random(5).shuffle(shuffled)
    again = split(shuffled, frozen_texts=eval_texts)
    assert {i.id for i in again.valid} == {i.id for i in first.valid}
    assert {i.id for i in split(items, seed=14, frozen_texts=eval_texts).valid} != {i.id for i in first.valid}
    table = mix(first)
    assert sum(n for split_ in table.values() for task in split_.values() for n in task.values()) == len(items)
    assert mix(items)["all"]["answer"] == {"real": 20, "synthetic": 40}


def test_leaked_items_never_reach_the_split(scanned, eval_texts):
    imported, findings = scanned
    cleaned, _ = apply_fixes(imported.items, findings)
    parts = split(cleaned, frozen_texts=eval_texts)
    assert qa_question() not in json.dumps([i.meta for i in parts.train + parts.valid])
    leaked = replace(cleaned[0], meta={**cleaned[0].meta, "question": qa_question()}, id="")
    with pytest.raises(LeakageError, match="faq.csv:3"):
        split([*cleaned, leaked], frozen_texts=eval_texts)
