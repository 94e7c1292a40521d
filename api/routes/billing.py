"""The caller's balance: its budget minus what its tasks have cost."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import OwnerId, SessionDep
from shared import billing

router = APIRouter(tags=["account"])


class Balance(BaseModel):
    balance: str = Field(
        description="whole credits left (1 credit = 0.01 USD): the key's budget minus its spend, never below 0; "
        "a key without a budget shows 1000000000 (no limit)"
    )


@router.get("/balance", response_model=Balance)
def balance(session: SessionDep, owner_id: OwnerId) -> Balance:
    """Whole credits (1 credit = 0.01 USD), as a string a client may `int()`."""
    return Balance(balance=billing.balance_credits(session, owner_id))
