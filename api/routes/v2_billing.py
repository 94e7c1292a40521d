"""v2's `GET /billing/account` (`billing.account()` in browser-use-sdk 3.x): the
caller's key as an account. Its balance is the key's budget left (v1's
/balance in USD); a key without a budget shows v1's "no limit" figure."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from api.deps import OwnerV2, SessionDep
from api.v2_schemas import AccountViewV2, PlanInfoV2
from shared import billing
from shared.models import ApiKey
from shared.running_cap import running_count
from shared.settings import get_settings

router = APIRouter(prefix="/api/v2", tags=["v2"])


@router.get("/billing/account", response_model=AccountViewV2)
def account_v2(session: SessionDep, owner_id: OwnerV2) -> AccountViewV2:
    key = session.get(ApiKey, owner_id)
    usd = float(Decimal(billing.balance_credits(session, owner_id)) / billing.CREDITS_PER_USD)
    cap = get_settings().max_running_tasks_per_key
    return AccountViewV2(
        name=key.name if key else None,
        total_credits_balance_usd=usd,
        monthly_credits_balance_usd=0.0,
        additional_credits_balance_usd=usd,
        rate_limit=cap,
        concurrent_session_limit=cap,
        active_session_count=running_count(session, owner_id),
        plan_info=PlanInfoV2(plan_name="self-hosted"),
        project_id=owner_id,
        api_key_id=owner_id,
    )
