"""The operator's commands on the database directly, like `keys create`, so they need
no API key: `browserq keys list`, `keys revoke PREFIX`, `keys budget`, `webhook ...`.
A revoked key is refused by every API process within a second (api/deps.py holds a
key for at most KEY_CACHE_SECONDS)."""

from __future__ import annotations

from typing import Annotated

import typer

webhook_app = typer.Typer(help="Manage a key's webhook (task status events, signed).", no_args_is_help=True)

KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        "-k",
        help="The key's prefix as `keys create` printed it (or the whole key); "
        "may be left out when there is only one key",
    ),
]


def find_key_id(prefix: str | None) -> str:
    """The id of the one active key that `prefix` names; exits with a clear message otherwise."""
    from sqlmodel import col, select

    from shared.db import session_scope
    from shared.keys import hash_key
    from shared.models import ApiKey

    with session_scope() as session:
        rows = session.exec(select(ApiKey).where(col(ApiKey.revoked_at).is_(None))).all()
    if prefix:
        prefix = prefix.removesuffix("...")
        matches = [
            r
            for r in rows
            if r.key_hash == hash_key(prefix)
            or r.prefix.startswith(prefix)
            or (len(prefix) >= len(r.prefix) and prefix.startswith(r.prefix))
        ]
    else:
        matches = list(rows)
    if len(matches) == 1:
        return matches[0].id
    names = ", ".join(f"{r.prefix}... ({r.name})" for r in matches) or "none"
    what = f"matching {prefix!r}" if prefix else "in all"
    typer.secho(f"expected exactly one active key {what}, found: {names}; name one with its prefix", fg="red", err=True)
    raise typer.Exit(2)


def keys_budget(
    key_prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys create` printed it")],
    usd: Annotated[str, typer.Argument(help="The budget in USD, e.g. 25 or 12.50; 'none' removes the limit")],
) -> None:
    """Set how much a key may spend on model tokens; past it, run-task answers 402."""
    from shared import billing
    from shared.db import session_scope

    amount = parse_usd(usd)
    owner_id = find_key_id(key_prefix)
    with session_scope() as session:
        billing.set_budget(session, owner_id, amount)
        balance = billing.balance_credits(session, owner_id)
    shown = "no budget" if amount is None else f"a budget of ${amount:.2f}"
    typer.echo(f"key {key_prefix} now has {shown}; balance {balance} credits (1 credit = $0.01)")


def parse_usd(text: str) -> float | None:
    if text.strip().lower() in {"none", "unlimited", "off"}:
        return None
    try:
        amount = float(text)
    except ValueError:
        amount = -1.0
    if not amount >= 0 or amount == float("inf"):
        typer.secho(f"{text!r} is not an amount of USD: give e.g. 25 or 12.50, or 'none'", fg="red", err=True)
        raise typer.Exit(2)
    return amount


@webhook_app.command("set")
def webhook_set(
    url: Annotated[str, typer.Argument(help="Where events are POSTed, e.g. https://example.com/hooks/browserq")],
    key: KeyOption = None,
    secret: Annotated[str | None, typer.Option(help="The signing secret (default: one is made and shown once)")] = None,
) -> None:
    """Set the key's webhook URL; it first receives a {"type": "test"} event."""
    from shared.db import session_scope
    from shared.webhooks import config

    owner_id = find_key_id(key)
    try:
        with session_scope() as session:
            result = config.set_webhook(session, owner_id, url, secret)
    except config.WebhookRefused as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"webhook set to {result.webhook.url}; a test event is on its way")
    if result.generated_secret:
        typer.echo("signing secret (shown only once):")
        typer.echo(result.generated_secret)


@webhook_app.command("show")
def webhook_show(key: KeyOption = None) -> None:
    """The key's webhook URL and its recent deliveries."""
    from sqlmodel import col, select

    from shared.db import session_scope
    from shared.models import WebhookDelivery
    from shared.webhooks import config

    owner_id = find_key_id(key)
    with session_scope() as session:
        webhook = config.get_webhook(session, owner_id)
        rows = session.exec(
            select(WebhookDelivery)
            .where(col(WebhookDelivery.owner_id) == owner_id)
            .order_by(col(WebhookDelivery.created_at).desc())
            .limit(20)
        ).all()
    typer.echo(f"url: {webhook.url}" if webhook else "no webhook is set")
    for d in rows:
        what = d.event_type + (f" {d.task_status} task {d.task_id}" if d.task_id else "")
        code = d.status_code if d.status_code is not None else "-"
        typer.echo(
            f"{d.created_at:%Y-%m-%d %H:%M:%S} {d.state:9} attempts={d.attempts} http={code} {what}"
            + (f"  ({d.last_error})" if d.last_error and d.state != "delivered" else "")
        )


@webhook_app.command("remove")
def webhook_remove(key: KeyOption = None) -> None:
    """Remove the key's webhook; events not yet delivered are given up."""
    from shared.db import session_scope
    from shared.webhooks import config

    with session_scope() as session:
        removed = config.remove_webhook(session, find_key_id(key))
    typer.echo("webhook removed" if removed else "no webhook was set")


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
    from shared.models import ApiKey, utcnow

    key_id = find_key_id(key_prefix)
    with session_scope() as session:
        session.execute(update(ApiKey).where(col(ApiKey.id) == key_id).values(revoked_at=utcnow()))
    typer.echo(f"revoked key {key_prefix.removesuffix('...')}...; API processes refuse it within a second")


def register(app: typer.Typer, keys_app: typer.Typer) -> None:
    keys_app.command("budget")(keys_budget)
    app.add_typer(webhook_app, name="webhook")
    keys_app.command("list")(keys_list)
    keys_app.command("revoke")(keys_revoke)
