"""One place for settings. Every field can be set by an environment variable
prefixed `BROWSERQ_` (e.g. `BROWSERQ_DATABASE_URL`); model keys keep the
SDKs' own names (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `ANTHROPIC_API_KEY`)."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.browser_kinds import BrowserKind
from shared.model_names import CLOUD_ONLY, SERVED


class ModelRoute(BaseModel):
    """Where an `llm_model` name is sent: a provider and the provider's own model name."""

    provider: Literal["openai", "anthropic", "gemini", "llama"]
    model: str
    vision: bool = True
    # USD per million tokens, for each task's cost and the balance; None: no price known
    # (the cost then shows tokens and `usd: null`, never a made-up number).
    input_price: float | None = Field(default=None, ge=0)
    output_price: float | None = Field(default=None, ge=0)


class ModelPrice(BaseModel):
    """USD per million tokens of one `llm_model` (BROWSERQ_MODEL_PRICES)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


def _default_models() -> dict[str, ModelRoute]:
    """The served names of shared/model_names.py as routes."""
    return {
        name: ModelRoute(
            provider=provider,
            model=model,
            input_price=price[0] if price else None,
            output_price=price[1] if price else None,
        )
        for name, (provider, model, price) in SERVED.items()
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BROWSERQ_",
        env_nested_delimiter="__",
        extra="ignore",
        hide_input_in_errors=True,  # keys, passwords
    )

    # Where the embedded mode keeps its database, broker folder and files.
    data_dir: Path = Path(".browserq")
    database_url: str | None = None  # default: SQLite in data_dir
    broker_url: str | None = None  # default: kombu's filesystem transport in data_dir
    public_url: str = "http://127.0.0.1:8000"

    # Workers and the browser.
    # Tasks at once on a worker host, split into worker_processes processes (0: the fewest,
    # up to one a core and dividing worker_concurrency evenly, that host at most 8 tasks each),
    # each running its share of the tasks on one event loop and one Chromium. See
    # docs/operations.md, "Concurrency".
    worker_concurrency: int = Field(default=2, ge=1)
    worker_processes: int = Field(default=0, ge=0)
    # Admission: a worker takes no new task while its host has less memory available than
    # this, or (below 100) while its CPUs are busier than this percent; it waits
    # admission_wait_seconds for room, then puts the message back for another worker.
    admission_min_free_memory_mb: int = Field(default=256, ge=0)
    admission_max_cpu_percent: float = Field(default=100.0, gt=0, le=100)
    admission_wait_seconds: float = Field(default=30.0, ge=0)
    chromium_path: str | None = None  # None: Playwright's own browser, else `chromium` on PATH
    headless: bool = True
    # The operator's default kind of browser (shared/browser_kinds.py): what a task that names
    # none runs in, and what `browserq worker` serves without --browser-kind.
    browser_kind: BrowserKind = "stealth"
    # The lean kind's executable; None: `chromium-headless-shell` on PATH (Debian's package).
    headless_shell_path: str | None = None
    # What a page reads as the browser's language (navigator.language, Accept-Language) and
    # time zone when a task runs without a proxy; with one, those of the proxy's country.
    browser_locale: str = "en-US"
    browser_timezone: str = "UTC"
    # Screen of the headful kind's virtual display (Xvfb), WIDTHxHEIGHTxDEPTH.
    virtual_display_screen: str = "1920x1080x24"
    # Private, loopback and link-local addresses are never connected to unless listed here:
    # "host:port", "host:*" (every port), or a bare "host" (ports 80 and 443 only); e.g.
    # '["127.0.0.1:*", "localhost:*"]' for tests and `browserq dev`. See docs/security.md.
    allow_private_hosts: list[str] = Field(default_factory=list)
    # Tests only: names the browser's egress proxy answers itself, each with its answers
    # to successive look-ups (the last repeated), e.g. '{"rebind.test": ["127.0.0.1", "127.0.0.2"]}'.
    test_dns: dict[str, list[str]] = Field(default_factory=dict)
    # Proxies by proxy_country_code, e.g. BROWSERQ_PROXIES='{"us": "http://user:pass@proxy-us:8080"}'.
    # A task with use_proxy whose country has none here runs direct, and says so in its step 1.
    proxies: dict[str, str] = Field(default_factory=dict)
    # use_adblock blocks these hosts and their subdomains: one host a line, '#' comments.
    # None: the list shipped in worker/browser/adblock_hosts.txt.
    adblock_hosts_file: Path | None = None

    # Leases: a running task's heartbeat is renewed every heartbeat_seconds; a task whose
    # heartbeat is older than lease_seconds is taken back by the reaper.
    heartbeat_seconds: float = 3.0
    lease_seconds: float = 20.0
    max_attempts: int = 3
    maintenance_interval_seconds: float = 2.0
    # A task enqueued but not claimed for this long is enqueued again (a lost message).
    requeue_after_seconds: float = 600.0
    control_poll_seconds: float = 0.25

    # Agent limits.
    max_consecutive_failures: int = 3
    step_timeout_seconds: float = 180.0
    task_timeout_seconds: float = 3600.0
    max_pause_seconds: float = 3600.0
    model_timeout_seconds: float = 60.0
    # Around the agent: opening the task's browser (context, profile, input files, recording)
    # and, after it, storing the last files and closing the context. Nothing outside these
    # bounds and the agent's own may hold a worker slot.
    setup_timeout_seconds: float = 120.0
    wrapup_timeout_seconds: float = 300.0
    model_retries: int = 3
    model_retry_base_delay: float = 1.0
    page_text_budget_chars: int = 40000

    # Models: `llm_model` name -> provider route. Operators extend it with
    # BROWSERQ_MODELS='{"my-alias": {"provider": "openai", "model": "llama3.1"}}'.
    models: dict[str, ModelRoute] = Field(default_factory=dict)
    # The model that serves Browser Use Cloud's own names (`browser-use-llm`, `bu-fast`...,
    # shared/model_names.CLOUD_ONLY), e.g. BROWSERQ_DEFAULT_MODEL=gpt-4.1; unset, they are refused.
    default_model: str | None = None
    # The model that judges a run when its request asks for a judge without naming one
    # (None: the task's own model).
    judge_model: str | None = None
    # Prices by `llm_model` name, over the shipped ones of the models browserq names:
    # BROWSERQ_MODEL_PRICES='{"gpt-4.1": {"input": 2.0, "output": 8.0}, "my-llama": {"input": 0, "output": 0}}'.
    model_prices: dict[str, ModelPrice] = Field(default_factory=dict)

    # Provider credentials, by the SDKs' own names.
    openai_api_key: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_BASE_URL"))
    anthropic_api_key: str | None = Field(default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY"))
    anthropic_base_url: str | None = Field(default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL"))
    gemini_api_key: str | None = Field(default=None, validation_alias=AliasChoices("GEMINI_API_KEY"))
    gemini_base_url: str = Field(
        default="https://generativelanguage.googleapis.com/v1beta/openai/",
        validation_alias=AliasChoices("GEMINI_BASE_URL"),
    )
    # The OpenAI-compatible server (Groq, Together, vLLM, Ollama...) that serves the Llama names.
    llama_base_url: str | None = None
    llama_api_key: str | None = None

    # Secrets at rest are encrypted with this Fernet key; `browserq dev` makes one.
    secret_key: str | None = None

    # Live view: frames a second while someone watches, and how long a live link
    # keeps working after its task ended.
    live_view_fps: float = 5.0
    live_view_grace_seconds: float = 600.0

    # Files (uploads, outputs, screenshots, recordings): see docs/storage.md.
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None  # local backend; default: data_dir/storage
    url_signing_key: str | None = None  # local backend's URL signatures; default: derived from secret_key
    signed_url_seconds: float = 3600.0
    s3_endpoint_url: str | None = None  # None: AWS S3
    s3_public_endpoint_url: str | None = None  # the address clients use, if not s3_endpoint_url
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    file_retention_days: float = 30.0
    retention_interval_seconds: float = 3600.0
    record_video: bool = True
    screenshot_quality: int = Field(default=70, ge=10, le=95)
    # What a task's page downloads may add up to; a download past it is deleted, never stored,
    # and the model is told. Uploads have their own cap (10 MB each).
    max_download_bytes_per_task: int = Field(default=100 * 1024 * 1024, ge=0)
    # How many tabs one task may have open in the worker's shared Chromium; a tab a page
    # opens past it is closed at once (the model is told), the agent's new_tab refused.
    max_tabs_per_task: int = Field(default=10, ge=1)
    # A page of a task may use this much JavaScript heap (0: no limit); past it the page is
    # closed and the task ends, saying why (worker/browser/page_watch.py).
    max_page_memory_mb: int = Field(default=1024, ge=0)
    # A page whose main thread stays busy is named to the model (and its spinning renderer
    # thread runs last, worker/browser/busy_renderers.py); still busy this long after, it is
    # closed and the task ends (0: never).
    max_page_busy_seconds: float = Field(default=10.0, ge=0)

    # Search (POST /simple-search, /search-url): the results page the agent starts from
    # ({query} is replaced by the URL-encoded query), and how long the caller waits.
    search_url_template: str = Field(default="https://duckduckgo.com/html/?q={query}", pattern=r"\{query\}")
    search_timeout_seconds: float = 120.0

    # Integrations (see docs/integrations.md). Webhooks: each failed delivery is retried
    # up to webhook_max_retries times, waiting webhook_retry_base_seconds, then twice as long...
    webhook_timeout_seconds: float = 10.0
    webhook_max_retries: int = 5
    webhook_retry_base_seconds: float = 10.0
    # Delivered and failed events are kept this long for GET /webhook/deliveries, then deleted
    # (by the retention round, every retention_interval_seconds).
    webhook_history_days: float = 30.0
    # Requests a minute per API key (0: no limit), in Redis when the broker is Redis.
    rate_limit_per_minute: int = Field(default=0, ge=0)
    # Tasks one key may have running (or paused) at once (0: no cap); the rest wait in `created`.
    max_running_tasks_per_key: int = Field(default=0, ge=0)

    # Operations (see docs/operations.md). Log lines as JSON or text; None: JSON for
    # `browserq api` and `browserq worker`, text for `browserq dev`.
    log_format: Literal["json", "text"] | None = None
    log_level: str = "INFO"
    # On SIGTERM the API (`browserq api`, `browserq dev`) stops taking connections and gives
    # the open ones (a search waiting for its task, a live view's stream) this long to end;
    # then it cancels them and exits. Under Docker's default stop (SIGKILL 10 s after SIGTERM).
    api_shutdown_grace_seconds: int = Field(default=5, ge=0)
    # Flower's logins, "user:password" (several: comma-separated); `browserq flower` needs one.
    flower_basic_auth: str | None = None
    # When set, each worker serves its processes' metrics at http://<host>:<port>/metrics
    # (for workers on other machines than the API; on one machine the API's /metrics has them).
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # When set, GET /metrics needs `Authorization: Bearer <metrics_token>`.
    metrics_token: str | None = None
    # Web pages at these origins may call the API from a browser (CORS), e.g.
    # BROWSERQ_CORS_ORIGINS=https://app.example.com,http://localhost:3000 ("*": any). Off by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("allow_private_hosts")
    @classmethod
    def _allow_entries(cls, value: list[str]) -> list[str]:
        from shared.netguard import AllowList

        AllowList.parse(value)  # a malformed entry fails at start-up, saying which
        return value

    @field_validator("proxies")
    @classmethod
    def _proxy_urls(cls, value: dict[str, str]) -> dict[str, str]:
        """Refuse a malformed proxy at start-up rather than failing each task later."""
        for country, url in value.items():
            parts = urlsplit(url)
            if parts.scheme not in {"http", "https", "socks5"} or not parts.hostname:
                raise ValueError(
                    f"the proxy for {country!r} must look like http://user:pass@host:port "
                    "(scheme http, https or socks5, and a host)"
                )
        return {country.lower(): url for country, url in value.items()}

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """Comma-separated (or a JSON list); an origin is scheme://host[:port], nothing after."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [o.strip() for o in text.split(",") if o.strip()]
        for origin in value if isinstance(value, list) else []:
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in {"http", "https"} or not parts.netloc or parts.path):
                raise ValueError(f"CORS origin {origin!r} must look like https://app.example.com (no path), or *")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'browserq.db').resolve()}"

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def resolved_storage_dir(self) -> Path:
        return (self.storage_dir or self.data_dir / "storage").resolve()

    @property
    def broker_folder(self) -> Path:
        return (self.data_dir / "broker").resolve()

    @property
    def model_routes(self) -> dict[str, ModelRoute]:
        """Every name a task may give: the shipped ones, Cloud's own on the default model, then BROWSERQ_MODELS."""
        routes = _default_models()
        default = {**routes, **self.models}.get(self.default_model or "")
        if default is not None:
            routes.update({name: default.model_copy() for name in CLOUD_ONLY})
        return {**routes, **self.models}

    def price_of(self, llm_model: str) -> ModelPrice | None:
        """What `llm_model` costs: BROWSERQ_MODEL_PRICES first, then its route's prices; None when unknown."""
        if llm_model in self.model_prices:
            return self.model_prices[llm_model]
        route = self.model_routes.get(llm_model)
        if route is None or route.input_price is None or route.output_price is None:
            return None
        return ModelPrice(input=route.input_price, output=route.output_price)

    def provider_configured(self, provider: str) -> bool:
        if provider == "openai":
            return bool(self.openai_api_key or self.openai_base_url)
        if provider == "anthropic":
            return bool(self.anthropic_api_key or self.anthropic_base_url)
        if provider == "gemini":
            return bool(self.gemini_api_key)
        if provider == "llama":
            return bool(self.llama_base_url)
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}
