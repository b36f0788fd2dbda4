"""Help-centre articles: Markdown with front matter, split into one chunk per section."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import frontmatter

REQUIRED_FIELDS = ("title", "url", "category", "last_updated")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Chunk:
    """One section of one article: the unit that is embedded, retrieved and cited."""

    id: str  # "<article slug>#<section number>"
    article_id: str
    title: str
    url: str
    category: str
    last_updated: str
    section: str
    text: str  # the section, prefixed with the article title for context

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.url}\n{self.section}\n{self.text}".encode()).hexdigest()[:16]

    def metadata(self) -> dict[str, str]:
        return {"article_id": self.article_id, "title": self.title, "url": self.url,
                "category": self.category, "last_updated": self.last_updated,
                "section": self.section, "content_hash": self.content_hash}


class ArticleError(ValueError):
    """An article that cannot be ingested, with the file and the reason."""


def split_sections(body: str) -> list[tuple[str, str]]:
    """(heading, text) for each '## ' section; text before the first one is the 'Overview'."""
    sections: list[tuple[str, str]] = []
    heading, lines = "Overview", []
    for line in body.splitlines():
        if line.startswith("## "):
            sections.append((heading, "\n".join(lines).strip()))
            heading, lines = line[3:].strip(), []
        elif not line.startswith("# "):
            lines.append(line)
    sections.append((heading, "\n".join(lines).strip()))
    return [(heading, text) for heading, text in sections if text]


def load_article(path: Path) -> list[Chunk]:
    post = frontmatter.load(path)
    missing = [field for field in REQUIRED_FIELDS if not post.get(field)]
    if missing:
        raise ArticleError(f"{path.name}: missing front matter {', '.join(missing)}")
    slug = path.stem
    return [
        Chunk(id=f"{slug}#{index}", article_id=slug, title=str(post["title"]), url=str(post["url"]),
              category=str(post["category"]), last_updated=str(post["last_updated"]), section=heading,
              text=f"{post['title']}: {heading}\n{_BLANK_LINES.sub(chr(10) * 2, text)}")
        for index, (heading, text) in enumerate(split_sections(post.content))
    ]


def load_corpus(articles_dir: Path) -> list[Chunk]:
    paths = sorted(articles_dir.glob("*.md"))
    if not paths:
        raise ArticleError(f"No articles in {articles_dir}")
    return [chunk for path in paths for chunk in load_article(path)]
