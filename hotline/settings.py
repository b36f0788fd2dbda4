"""The one settings object: every process reads its configuration here.

Values come from environment variables prefixed ``HOTLINE_`` or from a ``.env``
file in the project root; the defaults run everything locally on 127.0.0.1.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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

    @model_validator(mode="after")
    def _default_urls(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'hotline.db'}"
        if not self.tracker_store_url:
            self.tracker_store_url = f"sqlite:///{self.var_dir / 'tracker.db'}"
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
