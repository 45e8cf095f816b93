from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stubcollector.domain.statuses import PayoutScheduleStatus, StripeAccountStatus
from stubcollector.models.base import Base, TimestampMixin, one_of


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(TimestampMixin, Base):
    """A collector. Anyone may buy; a user with a Stripe account that can take charges may sell."""

    __tablename__ = "users"
    __table_args__ = (
        one_of("stripe_account_status", StripeAccountStatus, "stripe_account_status"),
        CheckConstraint(
            "stripe_payout_schedule_status IS NULL OR stripe_payout_schedule_status IN ("
            + ", ".join(f"'{status}'" for status in PayoutScheduleStatus)
            + ")",
            name="stripe_payout_schedule_status",
        ),
        CheckConstraint("length(username) >= 3", name="username_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-case so that "Alice" and "alice" cannot both register.
    username: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Flask-Login's session id. Rotated at logout so an old cookie stops working.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    display_name: Mapped[str | None] = mapped_column(String(80))
    seller_bio: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(120))

    is_admin: Mapped[bool] = mapped_column(default=False, index=True)
    is_seller: Mapped[bool] = mapped_column(default=False, index=True)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]

    # Connected account (Stripe Connect, or the sandbox's look-alike).
    stripe_account_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_account_status: Mapped[str] = mapped_column(
        String(20), default=StripeAccountStatus.PENDING.value, index=True
    )
    stripe_onboarding_completed: Mapped[bool] = mapped_column(default=False)
    stripe_charges_enabled: Mapped[bool] = mapped_column(default=False)
    stripe_payouts_enabled: Mapped[bool] = mapped_column(default=False)
    stripe_details_submitted: Mapped[bool] = mapped_column(default=False)
    # requirements.currently_due as a list of Stripe requirement names.
    stripe_requirements_due: Mapped[list[str]] = mapped_column(JSON, default=list)
    stripe_disabled_reason: Mapped[str | None] = mapped_column(String(255))
    # When the provider's view of the account was last applied (webhook or re-read).
    stripe_account_synced_at: Mapped[datetime | None]
    # When we last heard from or asked the provider about the account: every sync, and
    # every re-read attempt of the stale-account sweep, answered or not. The sweep takes
    # the oldest first, so one account the provider keeps refusing cannot starve the rest.
    stripe_account_checked_at: Mapped[datetime | None] = mapped_column(index=True)
    # The account's payout delay (``settings.payouts.schedule.delay_days``) as the provider
    # last reported it; our step of setting the hold, and why it was skipped or is pending.
    stripe_payout_delay_days: Mapped[int | None]
    stripe_payout_schedule_status: Mapped[str | None] = mapped_column(String(20))
    stripe_payout_schedule_note: Mapped[str | None] = mapped_column(Text)
    # When the seller disconnected their account from the platform
    # (``account.application.deauthorized``): we can no longer charge on it.
    stripe_account_deauthorized_at: Mapped[datetime | None]

    # Flask-Login protocol, spelled out rather than inherited from UserMixin so that the
    # session identifier is the rotating token, not the primary key.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    @property
    def can_accept_payments(self) -> bool:
        """Whether buyers can pay this seller now (direct charges need charges_enabled, and
        an account that left the platform takes no more charges from us)."""
        return bool(
            self.stripe_account_id
            and self.stripe_charges_enabled
            and self.stripe_account_deauthorized_at is None
        )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"
