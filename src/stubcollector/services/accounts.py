"""Accounts: registration, login, profile, public seller profile.

Profiles leave as frozen dataclasses (:class:`PrivateProfile`, :class:`PublicProfile`) with
real values (``member_since`` is a datetime); the API writes them as its JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from stubcollector.domain.errors import AuthenticationFailed, Conflict, NotFound, ValidationFailed
from stubcollector.domain.statuses import ListingStatus, OrderStatus
from stubcollector.extensions import db
from stubcollector.models import StubListing, StubOrder, User, utcnow
from stubcollector.models.user import new_session_token
from stubcollector.services import audit
from stubcollector.services.transaction import transaction

USERNAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]{1,30})[a-z0-9]$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# Checked when the username or email is unknown, so a failed login costs the same time
# whether or not the account exists (no user enumeration by timing).
_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password")
_COMMON_PASSWORDS = frozenset(
    {
        "password123",
        "password1234",
        "1234567890",
        "qwertyuiop",
        "letmein123",
        "iloveyou12",
        "welcome123",
        "admin12345",
        "0123456789",
        "passw0rd12",
    }
)


def normalize_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise ValidationFailed(
            "username",
            "must be 3-32 characters: letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
        )
    return username


def normalize_email(raw: str) -> str:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("email", str(exc)) from None
    return result.normalized.lower()


def check_password_strength(password: str, *, username: str = "", field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(field, f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(field, f"must be at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS or len(set(password)) < 4:
        raise ValidationFailed(field, "is too easy to guess")
    if username and username.lower() in lowered:
        raise ValidationFailed(field, "must not contain the username")


def hash_password(password: str) -> str:
    # werkzeug's default method is scrypt (n=2**15, r=8, p=1) with a random salt.
    return generate_password_hash(password)


def register(username: str, email: str, password: str, *, ip_address: str | None = None) -> User:
    """Create an account; ``ValidationFailed`` or ``Conflict`` name the offending field."""
    username = normalize_username(username)
    email = normalize_email(email)
    check_password_strength(password, username=username)
    with transaction() as session:
        # Checked first for a message that names the field; the unique constraints below
        # still decide the race between two simultaneous registrations.
        taken = session.execute(
            select(User.username, User.email).where(
                (User.username == username) | (User.email == email)
            )
        ).first()
        if taken is not None:
            field = "username" if taken.username == username else "email"
            raise _taken(field)
        user = User(username=username, email=email, password_hash=hash_password(password))
        session.add(user)
        try:
            session.flush()
        except IntegrityError as exc:
            raise _taken("username" if "username" in str(exc.orig) else "email") from None
        audit.record(
            session,
            action="user.registered",
            object_type="user",
            object_id=user.id,
            actor=user,
            ip_address=ip_address,
        )
    return user


def _taken(field: str) -> Conflict:
    return Conflict(f"{field} is already taken", field=field)


def authenticate(identifier: str, password: str) -> User:
    """Log in by username or email. One vague error for every failure."""
    key = identifier.strip().lower()
    failure = AuthenticationFailed("invalid username/email or password")
    if not key or not password:
        raise failure
    with transaction() as session:
        column = User.email if "@" in key else User.username
        user = session.scalars(select(User).where(column == key)).first()
        if user is None:
            check_password_hash(_DUMMY_HASH, password)
            raise failure
        if not check_password_hash(user.password_hash, password) or not user.is_active_account:
            raise failure
        user.last_login_at = utcnow()
    return user


def load_by_session_token(token: str) -> User | None:
    """Flask-Login's user loader: the session holds the rotating token, not the user id."""
    if not token:
        return None
    return db.session.scalars(select(User).where(User.session_token == token)).first()


def end_sessions(user: User) -> None:
    """Invalidate every session of ``user`` (logout): old cookies no longer load a user."""
    with transaction() as session:
        session.merge(user).session_token = new_session_token()


@dataclass(frozen=True)
class ProfileChanges:
    display_name: str | None = None
    seller_bio: str | None = None
    location: str | None = None
    email: str | None = None
    new_password: str | None = None
    current_password: str | None = None


def update_profile(user: User, changes: ProfileChanges) -> User:
    """Edit one's own profile. Changing email or password needs the current password."""
    with transaction() as session:
        user = session.merge(user)
        sensitive = changes.email is not None or changes.new_password is not None
        if sensitive and not (
            changes.current_password
            and check_password_hash(user.password_hash, changes.current_password)
        ):
            raise ValidationFailed("current_password", "is required and must be correct")
        if changes.display_name is not None:
            user.display_name = changes.display_name.strip() or None
        if changes.seller_bio is not None:
            user.seller_bio = changes.seller_bio.strip() or None
        if changes.location is not None:
            user.location = changes.location.strip() or None
        if changes.email is not None:
            email = normalize_email(changes.email)
            if email != user.email:
                exists = session.scalar(select(User.id).where(User.email == email))
                if exists is not None:
                    raise _taken("email")
                user.email = email
        if changes.new_password is not None:
            check_password_strength(
                changes.new_password, username=user.username, field="new_password"
            )
            user.password_hash = hash_password(changes.new_password)
            # A new password ends the other sessions too; the caller logs this one in again.
            user.session_token = new_session_token()
            audit.record(
                session,
                action="user.password_changed",
                object_type="user",
                object_id=user.id,
                actor=user,
            )
        try:
            session.flush()
        except IntegrityError:
            raise _taken("email") from None
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


@dataclass(frozen=True)
class PublicProfile:
    """What anyone may see of a user, as shown with each of their listings."""

    id: int
    username: str
    display_name: str
    bio: str | None
    location: str | None
    member_since: datetime
    is_verified_seller: bool


@dataclass(frozen=True)
class ProfileStats:
    active_listings: int
    total_listings: int
    completed_sales: int


@dataclass(frozen=True)
class PublicProfileWithStats(PublicProfile):
    """The public profile page: the public face plus the seller's listing and sale counts."""

    stats: ProfileStats


def public_profile(user_id: int) -> PublicProfileWithStats:
    """A seller's public face with listing and sale counts, in one query."""
    sold_statuses = (OrderStatus.PAYMENT_COMPLETED, OrderStatus.COMPLETED)
    active_listings = (
        select(func.count(StubListing.id))
        .where(StubListing.seller_id == User.id, StubListing.status == ListingStatus.ACTIVE)
        .correlate(User)
        .scalar_subquery()
    )
    total_listings = (
        select(func.count(StubListing.id))
        .where(StubListing.seller_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    completed_sales = (
        select(func.count(StubOrder.id))
        .where(StubOrder.seller_id == User.id, StubOrder.order_status.in_(sold_statuses))
        .correlate(User)
        .scalar_subquery()
    )
    row = db.session.execute(
        select(
            User.id,
            User.username,
            User.display_name,
            User.seller_bio,
            User.location,
            User.created_at,
            User.stripe_account_id,
            User.stripe_charges_enabled,
            active_listings.label("active_listings"),
            total_listings.label("total_listings"),
            completed_sales.label("completed_sales"),
        ).where(User.id == user_id, User.is_active_account.is_(True))
    ).first()
    if row is None:
        raise NotFound("user not found")
    return PublicProfileWithStats(
        id=row.id,
        username=row.username,
        display_name=row.display_name or row.username,
        bio=row.seller_bio,
        location=row.location,
        member_since=row.created_at,
        is_verified_seller=bool(row.stripe_account_id and row.stripe_charges_enabled),
        stats=ProfileStats(
            active_listings=row.active_listings,
            total_listings=row.total_listings,
            completed_sales=row.completed_sales,
        ),
    )


def build_public_profile(
    *,
    user_id: int,
    username: str,
    display_name: str | None,
    bio: str | None,
    location: str | None,
    member_since: datetime,
    can_sell: bool,
) -> PublicProfile:
    """A user's public face from their columns (the marketplace reads them with a listing)."""
    return PublicProfile(
        id=user_id,
        username=username,
        display_name=display_name or username,
        bio=bio,
        location=location,
        member_since=member_since,
        is_verified_seller=can_sell,
    )


@dataclass(frozen=True)
class PrivateProfile:
    """What the user sees about themselves (``/auth/me``)."""

    id: int
    username: str
    email: str
    display_name: str
    bio: str | None
    location: str | None
    is_admin: bool
    is_seller: bool
    member_since: datetime
    stripe_account_id: str | None
    stripe_account_status: str
    stripe_onboarding_completed: bool
    charges_enabled: bool
    payouts_enabled: bool
    requirements_due: tuple[str, ...]


def private_profile(user: User) -> PrivateProfile:
    return PrivateProfile(
        id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name or user.username,
        bio=user.seller_bio,
        location=user.location,
        is_admin=user.is_admin,
        is_seller=user.is_seller,
        member_since=user.created_at,
        stripe_account_id=user.stripe_account_id,
        stripe_account_status=user.stripe_account_status,
        stripe_onboarding_completed=user.stripe_onboarding_completed,
        charges_enabled=user.stripe_charges_enabled,
        payouts_enabled=user.stripe_payouts_enabled,
        requirements_due=tuple(user.stripe_requirements_due or ()),
    )


def create_admin(username: str, email: str, password: str) -> User:
    """CLI helper: create an admin, or promote an existing user with that username."""
    username_key = normalize_username(username)
    with transaction() as session:
        existing = session.scalars(select(User).where(User.username == username_key)).first()
        if existing is not None:
            before = "admin" if existing.is_admin else "user"
            existing.is_admin = True
            audit.record(
                session,
                action="user.promoted_admin",
                object_type="user",
                object_id=existing.id,
                actor_kind="system",
                before=before,
                after="admin",
            )
            return existing
    user = register(username, email, password)
    with transaction() as session:
        user = session.merge(user)
        user.is_admin = True
        audit.record(
            session,
            action="user.promoted_admin",
            object_type="user",
            object_id=user.id,
            actor_kind="system",
            before="user",
            after="admin",
        )
    return user
