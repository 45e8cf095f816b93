"""Seller onboarding: connected account, onboarding links, status, dashboard and balance,
and whether a user can buy and sell now (:func:`payment_compatibility`).

The account's state in our database follows the provider, never a redirect: the return
page, ``account.updated`` and ``capability.updated`` all re-read the account and apply it
with :func:`sync_account`. A lost event is made good by :func:`refresh_stale_accounts`, a
periodic sweep that re-reads a few accounts per run whose stored state may be out of date.

Making an account is two steps, so that a failure can never make a second one: the
account is created (one idempotency key per user) and its id stored at once; then its
payout hold is set (:func:`apply_payout_hold`), a step of its own that the sweep retries
until the provider answers, and that is *skipped*, with the provider's reason kept for the
seller, when the provider refuses it (Stripe lets a platform set ``delay_days`` only where
it carries the account's losses).

A seller may disconnect their account from the platform at the provider
(``account.application.deauthorized``, :func:`apply_deauthorization`): we can no longer
charge on it, their listings stop being buyable (with the reason), and they may connect a
new account.
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
from stubcollector.domain.statuses import PayoutScheduleStatus, StripeAccountStatus
from stubcollector.models import User, utcnow
from stubcollector.services import audit, idempotency
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

    A second call for a seller who already has an account returns a new link (after
    trying again to set a payout hold the provider has not answered yet). A seller whose
    account was disconnected from the platform gets a new account.
    """
    created = False
    account_id = None if user.stripe_account_deauthorized_at else user.stripe_account_id
    if account_id is None:
        account_id, created = _create_account(user)
    apply_payout_hold(user.id)
    link = _link(account_id, return_url=return_url, refresh_url=refresh_url)
    return Onboarding(account_id, link.url, link.expires_at, created)


def _account_key(user: User) -> str:
    """One key per user's account: two racing calls, or a repeat after an answer that got
    lost, get the same account. After a disconnection the next account has its own key."""
    if user.stripe_account_deauthorized_at and user.stripe_account_id:
        return idempotency.key("user", user.id, "account", "after", user.stripe_account_id)
    return idempotency.key("user", user.id, "account")


def _create_account(user: User) -> tuple[str, bool]:
    """The new account's id, stored before anything else is asked of the provider."""
    replaced = user.stripe_account_id if user.stripe_account_deauthorized_at else None
    account = payment_gateway().create_seller_account(
        user_id=user.id, email=user.email, idempotency_key=_account_key(user)
    )
    account_id = account.account_id
    with transaction() as session:
        fresh = session.get(User, user.id, populate_existing=True, with_for_update=True)
        assert fresh is not None
        if fresh.stripe_account_id == account_id:
            return account_id, False  # a concurrent call stored it first
        if fresh.stripe_account_id not in (None, replaced):
            raise Conflict("this user already has another connected account")
        fresh.stripe_account_id = account_id
        fresh.is_seller = True
        fresh.stripe_account_deauthorized_at = None
        fresh.stripe_payout_delay_days = None
        fresh.stripe_payout_schedule_status = PayoutScheduleStatus.PENDING.value
        fresh.stripe_payout_schedule_note = None
        _apply(fresh, account)
        audit.record(
            session,
            action="seller.account_created",
            object_type="user",
            object_id=user.id,
            actor=user,
            after=fresh.stripe_account_status,
            account_id=account_id,
            replaces=replaced,
        )
    return account_id, True


def apply_payout_hold(user_id: int, *, actor_kind: str = "user") -> PayoutScheduleStatus | None:
    """Set the seller's payout hold (``STRIPE_PAYOUT_HOLD_DAYS``) if it is still pending.

    Never raises for the provider: without an answer the step stays ``pending`` (the
    account sweep and the seller's next visit try again with the same key); a refusal
    skips it for good, keeping the provider's reason for the seller page. Returns the
    step's status (None without a usable account).
    """
    with transaction() as session:
        user = session.get(User, user_id, populate_existing=True)
        if user is None or user.stripe_account_id is None or user.stripe_account_deauthorized_at:
            return None
        status = PayoutScheduleStatus(
            user.stripe_payout_schedule_status or PayoutScheduleStatus.PENDING
        )
        account_id = user.stripe_account_id
    if status is not PayoutScheduleStatus.PENDING:
        return status
    days = settings().stripe_payout_hold_days
    try:
        payment_gateway().set_payout_delay(
            account_id,
            days=days,
            idempotency_key=idempotency.key("account", account_id, "payout_schedule", days),
        )
    except PaymentProviderUnavailable as exc:
        log.warning(
            "payout hold of %s not set yet (will retry): %s",
            account_id,
            exc.message,
            extra={"account_id": account_id},
        )
        _record_payout_hold(
            user_id, account_id, PayoutScheduleStatus.PENDING, exc.message, actor_kind=actor_kind
        )
        return PayoutScheduleStatus.PENDING
    except PaymentError as exc:
        reason = exc.provider_message or exc.message
        log.warning(
            "payout hold of %s refused by the provider; skipped: %s",
            account_id,
            reason,
            extra={"account_id": account_id, "code": exc.code},
        )
        _record_payout_hold(
            user_id, account_id, PayoutScheduleStatus.SKIPPED, reason, actor_kind=actor_kind
        )
        return PayoutScheduleStatus.SKIPPED
    _record_payout_hold(
        user_id, account_id, PayoutScheduleStatus.SET, None, days=days, actor_kind=actor_kind
    )
    return PayoutScheduleStatus.SET


def _record_payout_hold(
    user_id: int,
    account_id: str,
    status: PayoutScheduleStatus,
    note: str | None,
    *,
    actor_kind: str,
    days: int | None = None,
) -> None:
    with transaction() as session:
        user = session.get(User, user_id, populate_existing=True, with_for_update=True)
        if user is None or user.stripe_account_id != account_id:
            return  # the account was replaced meanwhile
        before = user.stripe_payout_schedule_status
        if before != PayoutScheduleStatus.PENDING:
            return  # settled meanwhile (a concurrent try, or a sync that saw the hold)
        user.stripe_payout_schedule_status = status.value
        user.stripe_payout_schedule_note = note
        if days is not None:
            user.stripe_payout_delay_days = days
        if status is not PayoutScheduleStatus.PENDING:
            audit.record(
                session,
                action=f"seller.payout_hold_{status.value}",
                object_type="user",
                object_id=user_id,
                actor_kind=actor_kind,
                before=before,
                after=status.value,
                account_id=account_id,
                payout_delay_days=settings().stripe_payout_hold_days,
                reason=note,
            )


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
    if account.payout_delay_days is not None:
        user.stripe_payout_delay_days = account.payout_delay_days
        if (
            user.stripe_payout_schedule_status == PayoutScheduleStatus.PENDING
            and account.payout_delay_days == settings().stripe_payout_hold_days
        ):
            # Our request reached the provider although its answer did not.
            user.stripe_payout_schedule_status = PayoutScheduleStatus.SET.value
            user.stripe_payout_schedule_note = None
    user.stripe_charges_enabled = account.charges_enabled
    user.stripe_payouts_enabled = account.payouts_enabled
    user.stripe_details_submitted = account.details_submitted
    user.stripe_requirements_due = list(account.requirements_due)
    user.stripe_disabled_reason = account.disabled_reason
    user.stripe_account_status = status_for(account).value
    user.stripe_onboarding_completed = account.details_submitted and not account.requirements_due
    user.stripe_account_synced_at = user.stripe_account_checked_at = utcnow()


def is_our_account(account_id: str) -> bool:
    """Whether ``account_id`` is a seller's account we may still read (not disconnected)."""
    with transaction() as session:
        found = session.scalar(
            select(User.id).where(
                User.stripe_account_id == account_id,
                User.stripe_account_deauthorized_at.is_(None),
            )
        )
        return found is not None


def sync_account(account: ConnectedAccount, *, actor_kind: str = "webhook") -> int | None:
    """Apply the provider's view of an account to its user; returns the user id.

    An account disconnected from the platform stays as it was left: nothing it reports
    later can make it payable again (a new account can).
    """
    with transaction() as session:
        user = session.scalars(
            select(User).where(User.stripe_account_id == account.account_id).with_for_update()
        ).first()
        if user is None or user.stripe_account_deauthorized_at is not None:
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


def apply_deauthorization(account_id: str, *, actor_kind: str = "webhook") -> int | None:
    """The seller disconnected ``account_id`` from the platform: it can no longer be paid.

    Charges and payouts read as off from now on and the account is ``disabled``; the
    seller's listings stay listed but cannot be bought, with the reason
    (``services.marketplace.views``), until they connect a new account. Idempotent.
    Returns the user id (None for an account that is not a seller's).
    """
    with transaction() as session:
        user = session.scalars(
            select(User).where(User.stripe_account_id == account_id).with_for_update()
        ).first()
        if user is None:
            return None
        if user.stripe_account_deauthorized_at is not None:
            return user.id
        before = user.stripe_account_status
        user.stripe_account_deauthorized_at = utcnow()
        user.stripe_charges_enabled = False
        user.stripe_payouts_enabled = False
        user.stripe_account_status = StripeAccountStatus.DISABLED.value
        audit.record(
            session,
            action="seller.account_deauthorized",
            object_type="user",
            object_id=user.id,
            actor_kind=actor_kind,
            before=before,
            after=user.stripe_account_status,
            account_id=account_id,
        )
        log.warning(
            "seller %s disconnected account %s from the platform; their listings cannot be bought",
            user.id,
            account_id,
            extra={"user_id": user.id, "account_id": account_id},
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
    # Our step of setting the payout hold: pending, set or skipped (None without an
    # account), and why it was skipped (the provider's words) or is still pending.
    payout_schedule_status: str | None
    payout_schedule_note: str | None
    # When the seller disconnected the account from the platform (None: connected).
    deauthorized_at: datetime | None


def refresh_status(user: User) -> SellerAccount:
    """Re-read the account from the provider (the return page, the status page), and try
    again to set a payout hold still pending.

    A disconnected account is not read (the provider no longer shows it to us): what we
    stored is the answer.
    """
    account_id = _require_account(user)
    if user.stripe_account_deauthorized_at is None:
        account = payment_gateway().retrieve_account(account_id)
        sync_account(account, actor_kind="user")
        apply_payout_hold(user.id)
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
        payout_schedule_days=payout_hold_days(user),
        synced_at=user.stripe_account_synced_at,
        payout_schedule_status=user.stripe_payout_schedule_status,
        payout_schedule_note=user.stripe_payout_schedule_note,
        deauthorized_at=user.stripe_account_deauthorized_at,
    )


def payout_hold_days(user: User) -> int:
    """The days a sale's money is held before payout for this seller: the account's delay
    as the provider last reported it, else the configured hold."""
    if user.stripe_payout_delay_days is not None:
        return user.stripe_payout_delay_days
    return settings().stripe_payout_hold_days


def seller_readiness_problems(user: User) -> list[str]:
    """What stands between ``user`` and taking card payments, in words for the user."""
    missing: list[str] = []
    if not user.stripe_account_id:
        return ["connect a Stripe account (start seller onboarding)"]
    if user.stripe_account_deauthorized_at is not None:
        return [
            "your Stripe account was disconnected from Stub Collector; connect a Stripe "
            "account again (start seller onboarding)"
        ]
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
    # Payout holds the sweep tried to set again, and what came of it.
    payout_holds_set: int = 0
    payout_holds_skipped: int = 0
    payout_holds_pending: int = 0
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
            .where(
                User.stripe_account_id.is_not(None),
                # The provider no longer shows a disconnected account to us.
                User.stripe_account_deauthorized_at.is_(None),
                due,
            )
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
    _retry_payout_holds(report, limit=limit)
    return report


def payout_holds_pending(*, limit: int = ACCOUNT_SWEEP_BATCH) -> list[int]:
    """Sellers whose payout hold is still to be set, least recently checked first."""
    with transaction() as session:
        return list(
            session.scalars(
                select(User.id)
                .where(
                    User.stripe_account_id.is_not(None),
                    User.stripe_account_deauthorized_at.is_(None),
                    User.stripe_payout_schedule_status == PayoutScheduleStatus.PENDING.value,
                )
                .order_by(User.stripe_account_checked_at.asc().nulls_first(), User.id)
                .limit(limit)
            ).all()
        )


def _retry_payout_holds(report: AccountSweepReport, *, limit: int) -> None:
    for user_id in payout_holds_pending(limit=limit):
        outcome = apply_payout_hold(user_id, actor_kind="system")
        if outcome is PayoutScheduleStatus.SET:
            report.payout_holds_set += 1
        elif outcome is PayoutScheduleStatus.SKIPPED:
            report.payout_holds_skipped += 1
        elif outcome is PayoutScheduleStatus.PENDING:
            report.payout_holds_pending += 1
            report.errors.append(f"payout hold of user {user_id}: still not set")
            break  # the provider is not answering: leave the rest for the next run


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
