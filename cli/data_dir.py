"""Where the commands find the data folder, its database and its secret key: the
admin commands (`keys ...`, `migrate`) and `api` take `--data-dir` like `dev`
does (or read BROWSERQ_DATA_DIR; default `.browserq`, as `dev`), and say in one
line what is missing instead of a driver's traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from shared.settings import get_settings, reset_settings_cache

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The data folder `browserq dev --data-dir` uses (default: BROWSERQ_DATA_DIR, else .browserq)",
        show_default=False,
    ),
]

SECRET_KEY_FILE = "secret.key"


def use_data_dir(data_dir: Path | None) -> None:
    """Make `data_dir` (when given) the data folder of this process and its children."""
    if data_dir is not None:
        os.environ["BROWSERQ_DATA_DIR"] = str(data_dir.resolve())
        reset_settings_cache()


def data_dir_configured() -> bool:
    return bool(os.environ.get("BROWSERQ_DATA_DIR"))


def fail(message: str) -> typer.Exit:
    """One line on stderr and exit status 1 (raise what this returns)."""
    typer.secho(message, fg="red", err=True)
    return typer.Exit(1)


def require_database() -> None:
    """Exit with one line when the database is not there or not migrated yet."""
    settings = get_settings()
    hint = f"--data-dir {settings.data_dir}" if not settings.database_url else ""
    if not settings.database_url:
        path = (settings.data_dir / "browserq.db").resolve()
        if not path.exists():
            raise fail(
                f"no browserq database at {path}: pass the --data-dir that `browserq dev` uses, "
                f"or create it with `browserq migrate {hint}`".rstrip()
            )
    from shared.db import get_engine

    where = settings.resolved_database_url.split("@")[-1]
    try:
        migrated = inspect(get_engine()).has_table("api_keys")
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise fail(f"cannot open the database {where}: {first}") from None
    if not migrated:
        raise fail(
            f"the database {where} has no browserq tables yet: run `browserq migrate {hint}`".rstrip() + " first"
        )


def kept_secret_key(data_dir: Path) -> str:
    """The data folder's own secret key, made on first use and kept (0600) so
    secrets stored before a restart still decrypt after it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / SECRET_KEY_FILE
    if not key_file.exists():
        from shared.crypto import new_secret_key

        key_file.write_text(new_secret_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def ensure_secret_key() -> None:
    """`api` needs a secret key (task secrets, signed file URLs). Without
    BROWSERQ_SECRET_KEY it keeps one in the data folder when a data folder was
    given (as `dev` does); otherwise it refuses to start, saying what to set."""
    if get_settings().secret_key:
        return
    if not data_dir_configured():
        raise fail(
            "BROWSERQ_SECRET_KEY is not set: set it to a Fernet key (make one with `python -c 'from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`; every API and worker "
            "process needs the same one), or pass --data-dir to keep one in that folder."
        )
    os.environ["BROWSERQ_SECRET_KEY"] = kept_secret_key(get_settings().data_dir)
    reset_settings_cache()
