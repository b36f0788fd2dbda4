"""The one settings object: every process reads its configuration here.

Values come from environment variables prefixed ``HOTLINE_`` or from a ``.env``
file in the project root; the defaults run everything locally on 127.0.0.1.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_file=PROJECT_ROOT / ".env", extra="ignore"
    )

    project_root: Path = PROJECT_ROOT
    var_dir: Path = PROJECT_ROOT / "var"
    bot_dir: Path = PROJECT_ROOT / "bot"

    # Customer database and Rasa's conversation store: any SQLAlchemy URL.
    database_url: str = ""
    tracker_store_url: str = ""

    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_host: str = "127.0.0.1"
    action_port: int = 5055
    # Token for Rasa's HTTP API; `hotline run` generates one per run when unset.
    rasa_auth_token: SecretStr | None = None
    rasa_executable: Path = PROJECT_ROOT / ".venv" / "rasa" / "bin" / "rasa"
    rasa_model: Path = PROJECT_ROOT / "bot" / "models" / "hotline.tar.gz"
    rasa_startup_timeout_s: float = 240.0

    # Deterministic demo data.
    seed: int = 7
    seed_customers: int = 240

    # Identity verification.
    max_verification_attempts: int = 3

    # Knowledge base and retrieval.
    articles_dir: Path = PROJECT_ROOT / "knowledge" / "articles"
    chroma_dir: Path | None = None  # default: var/chroma
    chroma_collection: str = "help_articles"
    embedding_model: Literal["minilm", "e5"] = "minilm"
    retrieval_top_k: int = 4
    # Cosine similarity a passage needs before the assistant will answer from it.
    relevance_threshold: float = 0.42
    hybrid_bm25: bool = False  # measured in docs/benchmarks.md; off unless it helps
    citations_enabled: bool = True
    history_turns: int = 2  # earlier customer turns added to the retrieval query

    # The language model: local llama.cpp, or an OpenAI-compatible server.
    llm_backend: Literal["llama_cpp", "openai"] = "llama_cpp"
    llm_model_path: Path | None = None  # default: the assembled Qwen2.5-Coder-1.5B GGUF in var/models
    llm_threads: int = 1
    llm_batch_threads: int = 2
    llm_context_tokens: int = 2048
    llm_max_tokens: int = 160
    llm_timeout_s: float = 25.0
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "local"
    openai_api_key: SecretStr = SecretStr("not-needed")

    @model_validator(mode="after")
    def _default_urls(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'hotline.db'}"
        if not self.tracker_store_url:
            self.tracker_store_url = f"sqlite:///{self.var_dir / 'tracker.db'}"
        if self.chroma_dir is None:
            self.chroma_dir = self.var_dir / "chroma"
        if self.llm_model_path is None:
            self.llm_model_path = self.var_dir / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
        return self

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.action_host}:{self.action_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
