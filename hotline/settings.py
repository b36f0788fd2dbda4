"""The one settings object: every process reads its configuration here.

Values come from environment variables prefixed ``HOTLINE_`` or from a ``.env``
file in the project root; the defaults run everything locally on 127.0.0.1.
"""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_file=PROJECT_ROOT / ".env", extra="ignore", frozen=True
    )

    project_root: Path = PROJECT_ROOT
    var_dir: Path = PROJECT_ROOT / "var"
    bot_dir: Path = PROJECT_ROOT / "bot"

    # Customer database and Rasa's conversation store: any SQLAlchemy URL.
    database_url: str
    tracker_store_url: str

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

    # Identity verification: tries per conversation, and failures (stored in the database, across
    # conversations and restarts) after which an account, phone number or client address is locked.
    max_verification_attempts: int = 3
    verification_lock_failures: int = 5  # per account or phone number
    verification_client_lock_failures: int = 10  # per client address, across accounts
    verification_lock_minutes: float = 30.0  # failures count this long; a lock lasts this long
    verified_for_minutes: float = 30.0  # a verification holds while the conversation is in use

    # Shared secrets between our own processes, generated per run by `hotline run` when unset:
    # only the gateway may post conversation messages to Rasa, only Rasa may call the action server.
    channel_secret: SecretStr | None = None
    action_secret: SecretStr | None = None
    # Keyed hashes stand in for phone numbers and client addresses (SMS ids, lock keys, logs).
    pseudonym_secret: SecretStr = SecretStr("hotline-pseudonyms")

    # Knowledge base and retrieval.
    articles_dir: Path = PROJECT_ROOT / "knowledge" / "articles"
    chroma_dir: Path  # default: var/chroma
    chroma_collection: str = "help_articles"
    embedding_model: Literal["minilm", "e5"] = "minilm"
    retrieval_top_k: int = 4
    # Cosine similarity a passage needs before the assistant will answer from it.
    relevance_threshold: float = 0.42
    hybrid_bm25: bool = True  # BM25 re-scoring raised hit@4 on the QA set (docs/benchmarks.md)
    # A generated answer less similar than this to the question is treated as "not covered".
    answer_min_similarity: float = 0.3
    # Share of a generated answer's content words that must appear in its passages.
    answer_min_support: float = 0.6
    citations_enabled: bool = True
    # Before quoting prices or eligibility, ask the model whether the passages state the answer
    # (one short extra call): quoted sentences on the topic are not an answer.
    judge_quoted_answers: bool = True
    # Sentences of the passages the model reads (knowledge/trim.py); 0 gives it them whole.
    answer_prompt_sentences: int = 0
    history_turns: int = 2  # earlier customer turns added to the retrieval query
    # Answers to questions that mean the same as a recent one (knowledge/cache.py); the
    # similarity was chosen on knowledge/eval/cache_dev.jsonl (docs/benchmarks.md).
    answer_cache: bool = True
    answer_cache_similarity: float = 0.85
    answer_cache_size: int = 2000

    # The language model: "server" is llama.cpp's own server, one per base model, started by
    # `hotline run` and called by every process; "llama_cpp" loads the model in each process;
    # "openai" is any OpenAI-compatible server run elsewhere (vLLM, llama.cpp on GPU machines).
    llm_backend: Literal["server", "llama_cpp", "openai"] = "server"
    llm_model_path: Path  # default: the assembled Qwen2.5-Coder-1.5B GGUF in var/models
    llm_threads: int = 1
    llm_batch_threads: int = 2
    llm_context_tokens: int = 2048
    llm_max_tokens: int = 160
    llm_timeout_s: float = 25.0
    model_server_executable: Path = PROJECT_ROOT / ".venv" / "llama-server" / "bin" / "llama-server"
    model_server_host: str = "127.0.0.1"
    model_server_port: int = 8090  # the stock model's server; other bases take the ports after it
    model_server_slots: int = 4  # requests decoded together (continuous batching)
    model_server_key: SecretStr | None = None  # generated per installation when unset
    model_server_startup_timeout_s: float = 120.0
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "local"
    openai_api_key: SecretStr = SecretStr("not-needed")
    model_refresh_s: float = 2.0  # how often a serving process looks for a newly deployed model
    # Gateway: web chat and Twilio.
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    rasa_timeout_s: float = 30.0  # one turn, end to end
    max_message_chars: int = 1000
    rate_limit_messages: int = 10  # per session, per rate_limit_window_s
    rate_limit_window_s: float = 30.0
    # The public https address Twilio calls (behind a tunnel or proxy); signatures are
    # computed over it. Empty: the address the request arrived on.
    public_base_url: str = ""
    # Other sites whose pages may talk to the gateway (e.g. "https://www.example-operator.com" if the
    # chat is embedded there); the gateway's own address and public_base_url always may.
    trusted_origins: tuple[str, ...] = ()
    twilio_auth_token: SecretStr = SecretStr("")
    agent_number: str = "+441130000000"  # where handoffs are dialled
    # The caller hears something this soon after they stop speaking: the answer, its first checked
    # sentences, a filler (once), then a soft hold sound, each followed by a redirect.
    voice_first_words_s: float = 1.2
    voice_turn_limit_s: float = 40.0
    voice_silence_limit: int = 2  # silent turns before a polite goodbye
    sms_id_secret: SecretStr = SecretStr("hotline-sms")  # pseudonymous SMS conversation ids

    # After the conversation: when idle conversations end, and the summary model call.
    conversation_idle_end_minutes: float = 30.0  # Rasa's session expiry
    summary_transcript_chars: int = 3600
    summary_max_tokens: int = 360
    summary_timeout_s: float = 150.0
    worker_poll_s: float = 1.0
    worker_lease_s: float = 330.0  # a job whose worker vanished is retried after this (> 2 model calls)
    worker_max_attempts: int = 4
    # Raw text in Rasa's tracker store is redacted this long after the redacted transcript is stored
    # (0: at once); keep it for N days only if disputes need the customer's exact words.
    raw_text_retention_days: float = 0.0
    retention_sweep_s: float = 60.0  # how often the worker looks for conversations due
    # The agent console.
    agent_session_hours: float = 10.0

    # Build the knowledge pipeline when the action server starts, not on the first question.
    warm_up_knowledge: bool = False

    @model_validator(mode="before")
    @classmethod
    def _paths_under_var(cls, data: dict) -> dict:
        """Paths that default to places under var_dir, wherever var_dir is."""
        var = Path(data.get("var_dir") or PROJECT_ROOT / "var")
        defaults = {"database_url": f"sqlite:///{var / 'hotline.db'}",
                    "tracker_store_url": f"sqlite:///{var / 'tracker.db'}",
                    "chroma_dir": var / "chroma",
                    "llm_model_path": var / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"}
        return {**data, **{key: value for key, value in defaults.items() if not data.get(key)}}

    def as_env(self) -> dict[str, str]:
        """These settings as HOTLINE_* variables, so child processes see exactly the same."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            env[f"HOTLINE_{name.upper()}"] = (value.get_secret_value() if isinstance(value, SecretStr)
                                              else json.dumps(value) if isinstance(value, (list, tuple)) else str(value))
        return env

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway_host}:{self.gateway_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.action_host}:{self.action_port}"


# Secrets our own processes share: only the gateway may post conversation messages to Rasa,
# only Rasa may call the action server, only our processes may call the model server.
SHARED_SECRETS = ("channel_secret", "action_secret", "model_server_key")


def with_secrets(settings: Settings) -> Settings:
    """The settings with the secrets our processes share filled in: those not configured are
    made once and kept in var/secrets.json (readable by this user only), so `hotline shell`
    and a restarted server agree with the running ones."""
    missing = [name for name in SHARED_SECRETS if getattr(settings, name) is None]
    if not missing:
        return settings
    path = settings.var_dir / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if any(name not in stored for name in missing):
        stored |= {name: secrets.token_urlsafe(24) for name in missing if name not in stored}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(stored))
    return settings.model_copy(update={name: SecretStr(stored[name]) for name in missing})


@lru_cache
def get_settings() -> Settings:
    return Settings()
