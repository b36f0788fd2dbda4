"""Articles load and chunk by heading; ingestion re-embeds only what changed."""

from dataclasses import replace
from pathlib import Path

import pytest

from hotline.settings import PROJECT_ROOT, Settings
from knowledge.documents import ArticleError, load_article, load_corpus
from knowledge.index import ingest, open_collection, stale

ARTICLES = PROJECT_ROOT / "knowledge" / "articles"


def test_the_knowledge_base_has_enough_distinct_articles():
    chunks = load_corpus(ARTICLES)
    urls = {chunk.article_id: chunk.url for chunk in chunks}
    assert len(urls) >= 50
    assert len(set(urls.values())) == len(urls)
    assert all(url.startswith("https://help.brightwave.example/") for url in urls.values())
    assert all(chunk.section and chunk.text for chunk in chunks)


def test_chunks_follow_headings(tmp_path):
    article = tmp_path / "voicemail-test.md"
    article.write_text("---\ntitle: Voicemail\nurl: https://help.brightwave.example/network/vm\n"
                       "category: network\nlast_updated: 2026-10-01\n---\n# Voicemail\nIntro text.\n"
                       "## Listening\nDial 123.\n## From abroad\nCall +44 7911 200123.\n")
    chunks = load_article(article)
    assert [c.section for c in chunks] == ["Overview", "Listening", "From abroad"]
    assert chunks[1].id == "voicemail-test#1" and "Dial 123." in chunks[1].text


def test_an_article_without_front_matter_is_refused_by_name(tmp_path):
    (tmp_path / "broken.md").write_text("# No front matter\n## Section\ntext\n")
    with pytest.raises(ArticleError, match="broken.md: missing front matter"):
        load_corpus(tmp_path)


def test_ingestion_is_incremental(tmp_path):
    settings = Settings(var_dir=tmp_path)
    chunks = load_article(ARTICLES / "voicemail.md") + load_article(ARTICLES / "puk-codes.md")
    first = ingest(settings, chunks, progress=False)
    assert first.added == len(chunks) and not first.updated
    assert not ingest(settings, chunks, progress=False).changed
    edited = [replace(chunks[0], text=chunks[0].text + " Now with visual voicemail."), *chunks[1:-1]]
    report = ingest(settings, edited, progress=False)
    assert (report.updated, report.removed, report.unchanged) == (1, 1, len(chunks) - 2)
    stored = open_collection(settings).get(ids=[chunks[0].id])
    assert stored["documents"][0].endswith("visual voicemail.")
    assert stored["metadatas"][0]["url"] == chunks[0].url


def test_stale_detects_a_missing_index(tmp_path):
    assert stale(Settings(var_dir=tmp_path, articles_dir=Path(ARTICLES)))
