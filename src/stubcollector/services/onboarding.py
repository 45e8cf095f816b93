"""Seller onboarding: connected account, onboarding links, status, dashboard and balance,
and whether a user can buy and sell now (:func:`payment_compatibility`).

The account's state in our database follows the provider, never a redirect: the return
page and ``account.updated`` both re-read the account and apply it with :func:`sync_account`.
A lost ``account.updated`` is made good by :func:`refresh_stale_accounts`, a periodic sweep
that re-reads a few accounts per run whose stored state may be out of date.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from stubcollector.adapters.jobs import periodic
from stubcollector.adapters.payments.ports import (
    Balance,
    ConnectedAccount,
    OnboardingLink,
    PaymentError,
    PaymentProviderUnavailable,
)
from stubcollector.container import payment_gateway, settings
from stubcollector.domain.errors import Conflict, NotFound
from stubcollector.domain.statuses import StripeAccountStatus
from stubcollector.models import User, utcnow
from stubcollector.services import audit
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Onboarding:
    """A fresh onboarding link; ``account_created`` says whether this call made the account."""

    account_id: str
    url: str
    expires_at: datetime
    account_created: bool


def status_for(account: ConnectedAccount) -> StripeAccountStatus:
    reason = account.disabled_reason or ""
    if reason.startswith(("rejected", "platform_paused")):
        return StripeAccountStatus.DISABLED
    if account.charges_enabled and account.payouts_enabled:
        return StripeAccountStatus.ACTIVE
    if account.details_submitted or reason:
        return StripeAccountStatus.RESTRICTED
    return StripeAccountStatus.PENDING


def start_onboarding(user: User, *, return_url: str, refresh_url: str) -> Onboarding:
    """Create the seller's account if needed, then a fresh onboarding link.

    A second call for a seller who already has an account returns a new link.
    """
    created = False
    account_id = user.stripe_account_id
    if account_id is None:
        # Idempotent per user at the provider (key ``user:{id}:account``): two racing
        # calls get the same account.
        account = payment_gateway().create_seller_account(user_id=user.id, email=user.email)
        account_id = account.account_id
        payment_gateway().set_payout_delay(account_id, days=settings().stripe_payout_hold_days)
        with transaction() as session:
            fresh = session.get(User, user.id, populate_existing=True)
            assert fresh is not None
            if fresh.stripe_account_id is None:
                fresh.stripe_account_id = account_id
                fresh.is_seller = True
                created = True
                _apply(fresh, account)
                audit.record(
                    session,
                    action="seller.account_created",
                    object_type="user",
                    object_id=user.id,
                    actor=user,
                    after=fresh.stripe_account_status,
                    account_id=account_id,
                    payout_delay_days=settings().stripe_payout_hold_days,
                )
            elif fresh.stripe_account_id != account_id:
                raise Conflict("this user already has another connected account")
    link = _link(account_id, return_url=return_url, refresh_url=refresh_url)
    return Onboarding(account_id, link.url, link.expires_at, created)


def refresh_link(user: User, *, return_url: str, refresh_url: str) -> Onboarding:
    account_id = _require_account(user)
    link = _link(account_id, return_url=return_url, refresh_url=refresh_url)
    return Onboarding(account_id, link.url, link.expires_at, False)


def _link(account_id: str, *, return_url: str, refresh_url: str) -> OnboardingLink:
    return payment_gateway().onboarding_link(
        account_id, refresh_url=refresh_url, return_url=return_url
    )


def _require_account(user: User) -> str:
    if user.stripe_account_id is None:
        raise NotFound("you have no seller account yet; start onboarding first")
    return user.stripe_account_id


def _apply(user: User, account: ConnectedAccount) -> None:
    user.stripe_charges_enabled = account.charges_enabled
    user.stripe_payouts_enabled = account.payouts_enabled
    user.stripe_details_submitted = account.details_submitted
    user.stripe_requirements_due = list(account.requirements_due)
    user.stripe_disabled_reason = account.disabled_reason
    user.stripe_account_status = status_for(account).value
    user.stripe_onboarding_completed = account.details_submitted and not account.requirements_due
    user.stripe_account_synced_at = user.stripe_account_checked_at = utcnow()


def is_our_account(account_id: str) -> bool:
    with transaction() as session:
        found = session.scalar(select(User.id).where(User.stripe_account_id == account_id))
        return found is not None


def sync_account(account: ConnectedAccount, *, actor_kind: str = "webhook") -> int | None:
    """Apply the provider's view of an account to its user; returns the user id."""
    with transaction() as session:
        user = session.scalars(
            select(User).where(User.stripe_account_id == account.account_id).with_for_update()
        ).first()
        if user is None:
            return None
        before = user.stripe_account_status
        _apply(user, account)
        if before != user.stripe_account_status:
            audit.record(
                session,
                action="seller.account_status_changed",
                object_type="user",
                object_id=user.id,
                actor_kind=actor_kind,
                before=before,
                after=user.stripe_account_status,
                account_id=account.account_id,
            )
        return user.id


@dataclass(frozen=True)
class SellerAccount:
    """The seller's connected account as we last stored it; fields in the API's order."""

    account_id: str | None
    account_status: str
    onboarding_completed: bool
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: tuple[str, ...]
    disabled_reason: str | None
    can_accept_payments: bool
    payout_schedule_days: int
    synced_at: datetime | None


def refresh_status(user: User) -> SellerAccount:
    """Re-read the account from the provider (the return page, the status page)."""
    account_id = _require_account(user)
    account = payment_gateway().retrieve_account(account_id)
    sync_account(account, actor_kind="user")
    with transaction() as session:
        fresh = session.get(User, user.id, populate_existing=True)
        assert fresh is not None
        return seller_account(fresh)


def seller_account(user: User) -> SellerAccount:
    """What we last stored about ``user``'s account, without asking the provider."""
    return SellerAccount(
        account_id=user.stripe_account_id,
        account_status=user.stripe_account_status,
        onboarding_completed=user.stripe_onboarding_completed,
        charges_enabled=user.stripe_charges_enabled,
        payouts_enabled=user.stripe_payouts_enabled,
        details_submitted=user.stripe_details_submitted,
        requirements_due=tuple(user.stripe_requirements_due or ()),
        disabled_reason=user.stripe_disabled_reason,
        can_accept_payments=user.can_accept_payments,
        payout_schedule_days=settings().stripe_payout_hold_days,
        synced_at=user.stripe_account_synced_at,
    )


def seller_readiness_problems(user: User) -> list[str]:
    """What stands between ``user`` and taking card payments, in words for the user."""
    missing: list[str] = []
    if not user.stripe_account_id:
        return ["connect a Stripe account (start seller onboarding)"]
    if not user.stripe_details_submitted:
        missing.append("finish Stripe onboarding")
    missing += [f"Stripe needs: {item}" for item in user.stripe_requirements_due or []]
    if user.stripe_disabled_reason:
        missing.append(f"Stripe disabled the account: {user.stripe_disabled_reason}")
    if not user.stripe_charges_enabled and not missing:
        missing.append("wait until Stripe enables card payments on your account")
    return missing


@dataclass(frozen=True)
class PaymentCompatibility:
    """Whether a user can buy and sell now, and what is missing to sell (the selling pages
    and ``GET /api/marketplace/payment-compatibility``); fields in the API's order."""

    can_buy: bool
    can_sell: bool
    missing: tuple[str, ...]
    stripe_account_id: str | None
    stripe_account_status: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: tuple[str, ...]
    disabled_reason: str | None


def payment_compatibility(user: User) -> PaymentCompatibility:
    """Whether ``user`` can buy and sell now, and what is missing to sell."""
    can_buy = user.is_active_account
    can_sell = can_buy and user.can_accept_payments
    missing = [] if can_sell else seller_readiness_problems(user)
    if not user.is_active_account:
        missing.insert(0, "your account is deactivated; contact support")
    return PaymentCompatibility(
        can_buy=can_buy,
        can_sell=can_sell,
        missing=tuple(missing),
        stripe_account_id=user.stripe_account_id,
        stripe_account_status=user.stripe_account_status,
        charges_enabled=user.stripe_charges_enabled,
        payouts_enabled=user.stripe_payouts_enabled,
        details_submitted=user.stripe_details_submitted,
        requirements_due=tuple(user.stripe_requirements_due or ()),
        disabled_reason=user.stripe_disabled_reason,
    )


def dashboard_link(user: User) -> str:
    """A fresh login link, made when the seller clicks (links are single-use)."""
    return payment_gateway().dashboard_link(_require_account(user))


def balance(user: User) -> Balance:
    return payment_gateway().balance(_require_account(user))


# --- the stale-account sweep -------------------------------------------------------------
# ``account.updated`` is the only push we get about a seller's account. Reconciliation lists
# undelivered events only for accounts with open orders, so a lost event for a seller with
# nothing open (typically: onboarding finished, nothing listed yet) would leave them unable
# to sell until they opened their seller page. This sweep re-reads such accounts.
ACCOUNT_SWEEP_EVERY_SECONDS = 600
# Accounts re-read per run: at most 6 a minute on average, far below Stripe's limits.
ACCOUNT_SWEEP_BATCH = 10
# An account that cannot take charges and payouts yet (or has onboarding to finish) may
# change at any time at the provider; re-read it at most this often.
INCOMPLETE_RECHECK_AFTER = timedelta(minutes=30)
# Any other account (ready, or rejected by the provider) is re-read at least this often.
STALE_AFTER = timedelta(hours=24)


@dataclass
class AccountSweepReport:
    checked: int = 0
    status_changed: int = 0
    errors: list[str] = field(default_factory=list)


def accounts_due_for_refresh(*, limit: int = ACCOUNT_SWEEP_BATCH) -> list[str]:
    """Connected accounts whose stored state may be stale, least recently checked first."""
    now = utcnow()
    incomplete = and_(
        or_(
            User.stripe_onboarding_completed.is_(False),
            User.stripe_charges_enabled.is_(False),
            User.stripe_payouts_enabled.is_(False),
        ),
        User.stripe_account_status != StripeAccountStatus.DISABLED.value,
    )
    due = or_(
        User.stripe_account_checked_at.is_(None),
        User.stripe_account_checked_at < now - STALE_AFTER,
        and_(incomplete, User.stripe_account_checked_at < now - INCOMPLETE_RECHECK_AFTER),
    )
    with transaction() as session:
        found = session.scalars(
            select(User.stripe_account_id)
            .where(User.stripe_account_id.is_not(None), due)
            .order_by(User.stripe_account_checked_at.asc().nulls_first(), User.id)
            .limit(limit)
        ).all()
    return [account_id for account_id in found if account_id is not None]


def _mark_checked(account_id: str) -> None:
    with transaction() as session:
        session.execute(
            update(User)
            .where(User.stripe_account_id == account_id)
            .values(stripe_account_checked_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def refresh_stale_accounts(*, limit: int = ACCOUNT_SWEEP_BATCH) -> AccountSweepReport:
    """Re-read up to ``limit`` possibly stale accounts from the provider and apply them.

    Safe to run any time: applying the provider's current view is what ``account.updated``
    does. An account the provider refuses to show is marked checked anyway (it goes to the
    back of the line); an unreachable provider ends the run, leaving the rest for the next.
    """
    report = AccountSweepReport()
    for account_id in accounts_due_for_refresh(limit=limit):
        with transaction() as session:
            before = session.scalar(
                select(User.stripe_account_status).where(User.stripe_account_id == account_id)
            )
        try:
            account = payment_gateway().retrieve_account(account_id)
        except PaymentProviderUnavailable as exc:
            report.errors.append(f"reading account {account_id}: {exc.message}")
            break
        except PaymentError as exc:
            _mark_checked(account_id)
            report.errors.append(f"reading account {account_id}: {exc.message}")
            continue
        report.checked += 1
        sync_account(account, actor_kind="system")
        with transaction() as session:
            after = session.scalar(
                select(User.stripe_account_status).where(User.stripe_account_id == account_id)
            )
        if after != before:
            report.status_changed += 1
    return report


# Named after its command, ``flask payments refresh-accounts`` (docs/JOBS.md).
@periodic(
    "payments.refresh_accounts",
    every=ACCOUNT_SWEEP_EVERY_SECONDS,
    formerly=("seller.refresh_accounts",),
)
def refresh_stale_accounts_periodically() -> dict[str, Any]:
    """The scheduler's run of :func:`refresh_stale_accounts`, errors to the log."""
    report = refresh_stale_accounts()
    for error in report.errors:
        log.warning("account sweep: %s", error)
    return asdict(report)
