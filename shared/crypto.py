"""Encryption at rest for what users hand us in confidence (task secrets)."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken

from shared.settings import get_settings


class SecretKeyMissing(RuntimeError):
    pass


def _fernet() -> Fernet:
    key = get_settings().secret_key
    if not key:
        raise SecretKeyMissing(
            "BROWSERQ_SECRET_KEY is not set: generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        )
    return Fernet(key.encode())


def new_secret_key() -> str:
    return Fernet.generate_key().decode()


def encrypt_json(value: object) -> str:
    return _fernet().encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str) -> object:
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretKeyMissing("stored secrets cannot be decrypted: BROWSERQ_SECRET_KEY changed") from None
