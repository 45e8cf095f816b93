"""Disputes can be answered (issue 16 point 4): sellers and admins see open disputes with
their deadline, are told on every page, and send evidence (text and files) through the
gateway; the sandbox then lets the dispute be won or lost. Through the JSON API and the
pages, with the sandbox as the provider (its events reach our webhook endpoint signed).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from stubcollector.adapters.payments.sandbox.cards import CARD_DISPUTE
from stubcollector.adapters.payments.sandbox.models import SandboxFile, SandboxPaymentIntent
from stubcollector.domain import disputes as rules
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, StubDispute, StubOrder, User, utcnow
from stubcollector.services import admin, checkout
from tests.support.clients import client_for
from tests.support.factories import AdminFactory, UserFactory
from tests.support.pages import HTML, csrf_token
from tests.support.payments import listing_of, sandbox_pages, sandbox_seller

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Disputed:
    seller: User
    buyer: User
    order_id: int
    dispute_id: str

    def sandbox_pi(self) -> SandboxPaymentIntent:
        db.session.expire_all()
        return db.session.scalars(
            select(SandboxPaymentIntent).where(SandboxPaymentIntent.dispute_id == self.dispute_id)
        ).one()

    def row(self) -> StubDispute:
        db.session.expire_all()
        return db.session.scalars(
            select(StubDispute).where(StubDispute.dispute_id == self.dispute_id)
        ).one()


@pytest.fixture
def disputed(app: Flask) -> Disputed:
    seller = sandbox_seller(display_name="Vera Vinyl")
    buyer = UserFactory.create(display_name="Bob Buyer")
    started = checkout.create_payment_intent(buyer, listing_of(seller).id)
    sandbox_pages().confirm_payment(started.payment_intent_id, started.client_secret, CARD_DISPUTE)
    dispute = db.session.scalars(
        select(StubDispute).where(StubDispute.order_id == started.order_id)
    ).one()
    return Disputed(seller, buyer, started.order_id, dispute.dispute_id)


def _upload(client: FlaskClient, dispute_id: str, content: bytes, name: str, field: str) -> object:
    return client.post(
        f"/api/disputes/{dispute_id}/files",
        data={"field": field, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        headers={"X-Requested-With": "XMLHttpRequest"},
    )


def test_the_seller_sees_the_open_dispute_with_its_deadline(app: Flask, disputed: Disputed) -> None:
    seller = client_for(app, disputed.seller)
    listed = seller.get("/api/disputes").json
    assert listed["total"] == 1
    (summary,) = listed["disputes"]
    assert summary["dispute_id"] == disputed.dispute_id
    assert (summary["status"], summary["needs_response"]) == ("needs_response", True)
    assert summary["evidence_due_by"] is not None

    detail = seller.get(f"/api/disputes/{disputed.dispute_id}").json["dispute"]
    assert detail["can_answer"] is True
    # A first draft from what the app knows: the stub, and the buyer's public name.
    assert "ticket stub" in detail["evidence"]["product_description"]
    assert detail["evidence"]["customer_name"] == "Bob Buyer"
    assert "customer_email_address" not in detail["evidence"]

    # The buyer and other users do not see it at all; an admin sees every dispute.
    for stranger in (disputed.buyer, UserFactory.create()):
        as_stranger = client_for(app, stranger)
        assert as_stranger.get(f"/api/disputes/{disputed.dispute_id}").status_code == 404
        assert as_stranger.get("/api/disputes").json["total"] == 0
    as_admin = client_for(app, AdminFactory.create())
    assert as_admin.get("/api/disputes").json["total"] == 1


def test_the_seller_and_admins_are_told_on_every_page(app: Flask, disputed: Disputed) -> None:
    entry = db.session.scalars(
        select(AuditLogEntry).where(AuditLogEntry.action == "dispute.needs_response")
    ).one()
    assert entry.object_id == disputed.dispute_id
    assert entry.details["notify_user_id"] == disputed.seller.id
    assert entry.details["notify_admins"] is True

    page = client_for(app, disputed.seller).get("/selling", headers=HTML).get_data(as_text=True)
    assert "1 dispute needs your response" in page
    assert 'href="/disputes"' in page
    admin_page = client_for(app, AdminFactory.create()).get("/orders/", headers=HTML)
    assert "1 dispute needs your response" in admin_page.get_data(as_text=True)
    assert 'href="/admin/disputes?open=1"' in admin_page.get_data(as_text=True)
    buyer_page = client_for(app, disputed.buyer).get("/orders/", headers=HTML)
    assert "dispute-banner" not in buyer_page.get_data(as_text=True)


def test_evidence_is_staged_then_submitted_once_with_its_files(
    app: Flask, disputed: Disputed
) -> None:
    seller = client_for(app, disputed.seller)
    uploaded = _upload(seller, disputed.dispute_id, PDF, "../../receipt.pdf", "receipt")
    assert uploaded.status_code == 201, uploaded.json  # type: ignore[attr-defined]
    file = uploaded.json["file"]  # type: ignore[attr-defined]
    assert (file["field"], file["filename"], file["file_type"]) == (
        "receipt",
        "receipt.pdf",
        "pdf",
    )
    stored = db.session.get(SandboxFile, file["file_id"])
    assert stored is not None
    assert (stored.account_id, stored.purpose, stored.size) == (
        disputed.sandbox_pi().account_id,
        "dispute_evidence",
        len(PDF),
    )

    staged = seller.post(
        f"/api/disputes/{disputed.dispute_id}/evidence",
        json={"product_description": "Springsteen, Giants Stadium 1985, as listed"},
    )
    assert staged.status_code == 200, staged.json
    assert staged.json["dispute"]["status"] == "needs_response"
    assert staged.json["dispute"]["has_evidence"] is True
    at_provider = disputed.sandbox_pi()
    assert at_provider.dispute_evidence == {
        "product_description": "Springsteen, Giants Stadium 1985, as listed",
        "receipt": file["file_id"],
        # Added by the app; never shown to the seller.
        "customer_email_address": disputed.buyer.email,
    }
    assert at_provider.dispute_submission_count == 0

    submitted = seller.post(
        f"/api/disputes/{disputed.dispute_id}/evidence",
        json={"product_description": "Springsteen, Giants Stadium 1985, as listed", "submit": True},
    )
    assert submitted.status_code == 200, submitted.json
    shown = submitted.json["dispute"]
    assert (shown["status"], shown["submission_count"], shown["can_answer"]) == (
        "under_review",
        1,
        False,
    )
    assert "customer_email_address" not in shown["evidence"]
    assert disputed.sandbox_pi().dispute_submission_count == 1
    row = disputed.row()
    assert (row.evidence_submitted_by_id, row.status) == (disputed.seller.id, "under_review")

    # Once: a second submission, a new file or a changed draft are refused, saying why.
    again = seller.post(
        f"/api/disputes/{disputed.dispute_id}/evidence", json={"uncategorized_text": "more"}
    )
    assert again.status_code == 409
    assert "under review" in again.json["message"]
    late_file = _upload(seller, disputed.dispute_id, PNG, "photo.png", "shipping_documentation")
    assert late_file.status_code == 409  # type: ignore[attr-defined]
    assert disputed.sandbox_pi().dispute_submission_count == 1


def test_countering_costs_a_fee_that_a_won_dispute_gives_back(
    app: Flask, disputed: Disputed
) -> None:
    seller = client_for(app, disputed.seller)
    response = seller.post(
        f"/api/disputes/{disputed.dispute_id}/evidence",
        json={"uncategorized_text": "Shipped with tracking; the buyer wrote to thank me.",
              "submit": True},
    )  # fmt: skip
    assert response.status_code == 200, response.json
    today = utcnow().date()
    assert admin.totals_over(admin.platform_totals(today, today)).dispute_fees_cents == 3000

    sandbox_pages().close_dispute(disputed.dispute_id, won=True)

    assert disputed.row().status == "won"
    order = db.session.get(StubOrder, disputed.order_id)
    assert order is not None
    assert order.order_status == "payment_completed"
    # The received fee stays with Stripe; the countered fee came back.
    assert admin.totals_over(admin.platform_totals(today, today)).dispute_fees_cents == 1500


def test_a_lost_dispute_after_evidence_is_counted(app: Flask, disputed: Disputed) -> None:
    seller = client_for(app, disputed.seller)
    seller.post(
        f"/api/disputes/{disputed.dispute_id}/evidence",
        json={"uncategorized_text": "Delivered.", "submit": True},
    )
    sandbox_pages().close_dispute(disputed.dispute_id, won=False)
    today = utcnow().date()
    total = admin.totals_over(admin.platform_totals(today, today))
    assert (total.disputes_lost_count, total.disputes_lost_cents) == (1, 2500)
    assert total.dispute_fees_cents == 3000
    assert disputed.row().status == "lost"


@pytest.mark.parametrize(
    ("content", "name", "field", "status", "words"),
    [
        (b"GIF89a" + b"\x00" * 10, "a.gif", "receipt", 415, "PDF, JPEG or PNG"),
        (PDF + b"\x00" * 100_000, "big.pdf", "receipt", 413, "5 MB"),
        (PDF, "a.pdf", "passport", 422, "must be one of"),
        (b"", "empty.pdf", "receipt", 422, "empty"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_uploaded(
    app: Flask,
    disputed: Disputed,
    content: bytes,
    name: str,
    field: str,
    status: int,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stripe's limit is 5 MB; a smaller one here keeps the test client's upload in memory.
    monkeypatch.setattr(rules, "FILE_MAX_BYTES", 100_000)
    response = _upload(client_for(app, disputed.seller), disputed.dispute_id, content, name, field)
    assert response.status_code == status, response.json  # type: ignore[attr-defined]
    assert words in response.json["message"]  # type: ignore[attr-defined]
    assert db.session.scalars(select(SandboxFile)).all() == []


def test_bad_evidence_is_refused(app: Flask, disputed: Disputed) -> None:
    seller = client_for(app, disputed.seller)
    url = f"/api/disputes/{disputed.dispute_id}/evidence"
    assert seller.post(url, json={"customer_email_address": "x@y.z"}).status_code == 422
    too_long = seller.post(url, json={"uncategorized_text": "x" * 20_001})
    assert too_long.status_code == 422
    assert "uncategorized_text" in too_long.json["errors"]
    empty = seller.post(url, json={"submit": True})
    assert empty.status_code == 422
    assert disputed.sandbox_pi().dispute_submission_count == 0
    assert seller.get("/api/disputes/dp_not%00real").status_code == 404
    assert seller.get("/api/disputes/" + "d" * 300).status_code == 404


def test_past_the_deadline_the_evidence_is_refused(app: Flask, disputed: Disputed) -> None:
    db.session.execute(
        update(StubDispute)
        .where(StubDispute.dispute_id == disputed.dispute_id)
        .values(evidence_due_by=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    seller = client_for(app, disputed.seller)
    response = seller.post(
        f"/api/disputes/{disputed.dispute_id}/evidence",
        json={"uncategorized_text": "late", "submit": True},
    )
    assert response.status_code == 409
    assert "deadline" in response.json["message"]
    assert seller.get("/api/disputes").json["disputes"][0]["needs_response"] is False


def test_an_admin_answering_a_sellers_dispute_is_an_admin_action(
    app: Flask, disputed: Disputed
) -> None:
    staff = AdminFactory.create()
    response = client_for(app, staff).post(
        f"/api/disputes/{disputed.dispute_id}/evidence",
        json={"uncategorized_text": "Platform records show delivery."},
    )
    assert response.status_code == 200, response.json
    actions = {
        entry.action: entry.actor_user_id
        for entry in db.session.scalars(
            select(AuditLogEntry).where(AuditLogEntry.object_id == disputed.dispute_id)
        )
    }
    assert actions["dispute.evidence_staged"] == staff.id
    assert actions["admin.dispute_evidence_staged"] == staff.id


# --- the pages ---------------------------------------------------------------------------


def test_the_dispute_pages_list_show_and_send_evidence(app: Flask, disputed: Disputed) -> None:
    seller = client_for(app, disputed.seller)
    listing = seller.get("/disputes", headers=HTML).get_data(as_text=True)
    assert f'data-dispute-id="{disputed.dispute_id}"' in listing
    assert "Respond" in listing

    url = f"/disputes/{disputed.dispute_id}"
    page = seller.get(url, headers=HTML).get_data(as_text=True)
    assert 'id="dispute-deadline"' in page
    assert "ticket stub" in page  # the prefilled description
    assert disputed.buyer.email not in page

    token = csrf_token(seller, url)
    uploaded = seller.post(
        f"{url}/files",
        data={"csrf_token": token, "field": "customer_communication",
              "file": (io.BytesIO(PNG), "chat.png")},
        content_type="multipart/form-data",
        headers=HTML,
    )  # fmt: skip
    assert uploaded.status_code == 303
    refused = seller.post(
        f"{url}/files",
        data={"csrf_token": token, "field": "receipt", "file": (io.BytesIO(b"nope"), "a.txt")},
        content_type="multipart/form-data",
        headers=HTML,
    )
    assert refused.status_code == 422
    assert "PDF, JPEG or PNG" in refused.get_data(as_text=True)

    sent = seller.post(
        f"{url}/evidence",
        data={"csrf_token": token, "action": "submit",
              "product_description": "Springsteen 1985", "uncategorized_text": "Delivered."},
        headers=HTML,
    )  # fmt: skip
    assert sent.status_code == 303
    after = seller.get(url, headers=HTML).get_data(as_text=True)
    assert 'id="dispute-closed"' in after
    assert "under review" in after
    assert "Springsteen 1985" in after
    assert "chat.png" in after
    assert disputed.sandbox_pi().dispute_evidence["customer_communication"].startswith("file_")

    stranger = client_for(app, UserFactory.create())
    assert stranger.get(url, headers=HTML).status_code == 404


def test_going_back_to_an_earlier_draft_or_file_reaches_the_provider(
    app: Flask, disputed: Disputed
) -> None:
    """Keys come from the content (a retry is one request), and from what was sent before
    it: an earlier draft sent again after another one is a new request, not a replay of the
    old answer that would leave the provider with the later draft."""
    seller = client_for(app, disputed.seller)
    url = f"/api/disputes/{disputed.dispute_id}/evidence"
    for text in ("first draft", "second draft", "first draft"):
        assert seller.post(url, json={"uncategorized_text": text}).status_code == 200
    assert disputed.sandbox_pi().dispute_evidence["uncategorized_text"] == "first draft"

    other = PDF.replace(b"1.4", b"1.7")
    ids = [
        _upload(seller, disputed.dispute_id, content, "r.pdf", "receipt").json["file"]["file_id"]  # type: ignore[attr-defined]
        for content in (PDF, other, PDF)
    ]
    assert ids[0] == ids[2] != ids[1]  # the same file is one upload
    shown = seller.get(f"/api/disputes/{disputed.dispute_id}").json["dispute"]["files"]
    assert [(f["field"], f["file_id"]) for f in shown] == [("receipt", ids[0])]
    assert seller.post(url, json={"uncategorized_text": "x"}).status_code == 200
    assert disputed.sandbox_pi().dispute_evidence["receipt"] == ids[0]
