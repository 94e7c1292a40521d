"""`browserq keys list` and `browserq keys revoke PREFIX`: on the database
directly, like `keys create`. A revoked key is refused by every API process
within a second (api/deps.py holds a key for at most KEY_CACHE_SECONDS)."""

from __future__ import annotations

from typing import Annotated

import typer


def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Show revoked keys too")] = False,
) -> None:
    """Every key: prefix, name, when made, budget, and when revoked (with --all)."""
    from sqlmodel import col, select

    from shared.db import session_scope
    from shared.models import ApiKey

    with session_scope() as session:
        query = select(ApiKey).order_by(col(ApiKey.created_at))
        if not all_keys:
            query = query.where(col(ApiKey.revoked_at).is_(None))
        rows = session.exec(query).all()
    if not rows:
        typer.echo("no keys: make one with `browserq keys create NAME`")
        return
    typer.echo(f"{'PREFIX':<14} {'NAME':<24} {'CREATED (UTC)':<17} {'BUDGET':<10} REVOKED")
    for row in rows:
        budget = "-" if row.budget_usd is None else f"${row.budget_usd:.2f}"
        revoked = f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "-"
        typer.echo(
            f"{row.prefix + '...':<14} {row.name[:24]:<24} {row.created_at:%Y-%m-%d %H:%M} {budget:<10} {revoked}"
        )


def keys_revoke(
    key_prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys create` and `keys list` print it")],
) -> None:
    """Revoke one key: every API process refuses it within a second; its tasks stay readable to no one."""
    from sqlalchemy import update
    from sqlmodel import col

    from shared.db import session_scope
    from shared.integrations_cli import find_key_id
    from shared.models import ApiKey, utcnow

    key_id = find_key_id(key_prefix)
    with session_scope() as session:
        session.execute(update(ApiKey).where(col(ApiKey.id) == key_id).values(revoked_at=utcnow()))
    typer.echo(f"revoked key {key_prefix.removesuffix('...')}...; API processes refuse it within a second")


def register(keys_app: typer.Typer) -> None:
    keys_app.command("list")(keys_list)
    keys_app.command("revoke")(keys_revoke)
