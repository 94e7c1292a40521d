"""Wire shapes of the search endpoints (Browser Use's beta search API, with
browserq's `task_id` added so the run behind an answer can be read)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: str = Field(min_length=1, max_length=2000)
    depth: int = Field(default=2, ge=2, le=5, description="how deep to follow links on a site")
    llm_model: str | None = Field(default=None, description="(ext) the model that drives the search")

    @field_validator("query")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be blank: say what to look for")
        return value.strip()


class SimpleSearchRequest(_Query):
    max_websites: int = Field(default=5, ge=1, le=10)


class SearchUrlRequest(_Query):
    url: str = Field(min_length=1, max_length=2000)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("url must be an http(s) URL, e.g. https://example.com/pricing")
        return value.strip()


class SearchResult(BaseModel):
    url: str
    content: str


class SimpleSearchResponse(BaseModel):
    results: list[SearchResult]
    task_id: str  # (ext) the agent task that browsed


class SearchUrlResponse(BaseModel):
    url: str
    content: str
    task_id: str  # (ext)
