"""Articles load and chunk by heading; ingestion re-embeds only what changed."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from hotline.settings import PROJECT_ROOT, Settings
from knowledge.documents import ArticleError, load_article, load_corpus
from hotline.ml.embedder import load_embedder
from knowledge.index import IndexMissing, ingest, open_collection, stale
from knowledge.retrieval import Retriever

ARTICLES = PROJECT_ROOT / "knowledge" / "articles"
LIBRARY = ("voicemail", "puk-codes", "wifi-calling")


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


@pytest.fixture
def library(tmp_path) -> Settings:
    """Settings over a folder holding a few real articles, already indexed."""
    articles = tmp_path / "articles"
    articles.mkdir()
    for slug in LIBRARY:
        shutil.copy(ARTICLES / f"{slug}.md", articles)
    settings = Settings(var_dir=tmp_path, articles_dir=articles)
    ingest(settings, progress=False)
    return settings


@pytest.fixture
def embedded(library, monkeypatch) -> list[str]:
    """Every text the index has embedded since the library was built."""
    texts: list[str] = []
    embedder = load_embedder(library.embedding_model)
    real = embedder.passages

    def spy(batch):
        texts.extend(batch)
        return real(batch)

    monkeypatch.setattr(embedder, "passages", spy)
    return texts


def stored(settings: Settings) -> dict[str, str]:
    """The index's documents by chunk id."""
    found = open_collection(settings).get(include=["documents"])
    return dict(zip(found["ids"], found["documents"]))


def test_an_unchanged_index_is_not_stale_and_nothing_is_re_embedded(library, embedded):
    before = stored(library)
    assert len(before) == len(load_corpus(library.articles_dir)) > 0
    assert not stale(library)
    report = ingest(library, progress=False)
    assert not report.changed and report.unchanged == len(before)
    assert embedded == [] and stored(library) == before


def test_an_edited_article_re_embeds_only_the_edited_section(library, embedded):
    article = library.articles_dir / "voicemail.md"
    article.write_text(article.read_text().replace("Dial **123**", "Dial **1571**"))
    assert stale(library)
    report = ingest(library, progress=False)
    assert (report.added, report.updated, report.removed) == (0, 1, 0)
    assert len(embedded) == 1 and "Dial **1571**" in embedded[0]
    best = Retriever(library).search("what number do I dial to check my voicemail")[0]
    assert best.article_id == "voicemail" and "Dial **1571**" in best.text
    assert not any("Dial **123**" in text for text in stored(library).values())
    assert not stale(library)


def test_a_deleted_article_leaves_the_index(library, embedded):
    gone = {id_ for id_ in stored(library) if id_.startswith("puk-codes#")}
    (library.articles_dir / "puk-codes.md").unlink()
    assert gone and stale(library)
    report = ingest(library, progress=False)
    assert (report.added, report.updated, report.removed) == (0, 0, len(gone))
    assert embedded == [] and not gone & stored(library).keys()
    assert all(p.article_id != "puk-codes" for p in Retriever(library).search("where do I get my PUK code"))
    assert not stale(library)


def test_a_new_article_is_added_alone(library, embedded):
    shutil.copy(ARTICLES / "esim-iphone.md", library.articles_dir)
    new = load_article(ARTICLES / "esim-iphone.md")
    assert stale(library)
    report = ingest(library, progress=False)
    assert (report.added, report.updated, report.removed) == (len(new), 0, 0)
    assert sorted(embedded) == sorted(chunk.text for chunk in new)
    assert Retriever(library).search("how do I set up an esim on my iphone")[0].article_id == "esim-iphone"
    assert not stale(library)


def test_a_missing_index_says_how_to_make_it_and_ingesting_fixes_it(tmp_path):
    settings = Settings(var_dir=tmp_path)
    with pytest.raises(IndexMissing, match="run `hotline ingest`"):
        Retriever(settings)
    ingest(settings, load_article(ARTICLES / "voicemail.md"), progress=False)
    assert Retriever(settings).search("how do I listen to my voicemail")[0].article_id == "voicemail"
