"""The registration services the pages use, called directly: the organisers' groups,
giving up one's own place, and the decline link. On SQLite and PostgreSQL."""
from __future__ import annotations

from flask_login import AnonymousUserMixin

from tests.factories import make_org, make_run, make_user
from workshops.models import LIVE, SEATED, RegistrationStatus
from workshops.services import notifications
from workshops.services import registration as booking

S = RegistrationStatus


def test_the_status_sets():
    assert [s.value for s in S] == ["pending", "confirmed", "waitlisted", "cancelled", "rejected"]
    assert SEATED == (S.CONFIRMED,) and set(LIVE) == {S.PENDING, S.CONFIRMED, S.WAITLISTED}


def test_registrations_by_status(ctx):
    eo, sme = make_org(ctx), make_org(ctx, kind="sme")
    run = make_run(ctx, capacity=1, host=eo)
    a, b, c = make_user(ctx, org=sme), make_user(ctx), make_user(ctx)
    booking.register(ctx, run.id, a)
    booking.register(ctx, run.id, b)
    booking.cancel(ctx, booking.register(ctx, run.id, c).id)
    page = booking.registrations_by_status(ctx, run)
    assert list(page.groups) == list(S)
    assert [r.user_id for r in page.groups[S.CONFIRMED]] == [a.id]
    assert [r.user_id for r in page.groups[S.WAITLISTED]] == [b.id]
    assert [r.user_id for r in page.groups[S.CANCELLED]] == [c.id]
    assert page.groups[S.PENDING] == [] and page.orgs == {sme.id: sme} and page.seats_left == 0


def test_withdraw_gives_the_seat_to_the_queue(ctx):
    run = make_run(ctx, capacity=1)
    first, second, stranger = make_user(ctx), make_user(ctx), make_user(ctx)
    booking.register(ctx, run.id, first)
    queued = booking.register(ctx, run.id, second)
    assert booking.withdraw(ctx, run, stranger) == (None, False)
    assert booking.withdraw(ctx, run, AnonymousUserMixin()) == (None, False)
    mine, cancelled = booking.withdraw(ctx, run, first)
    assert cancelled and mine.status == S.CANCELLED
    ctx.refresh(queued)
    assert queued.status == S.CONFIRMED
    assert booking.withdraw(ctx, run, first) == (mine, False)


def test_decline_link(ctx):
    run = make_run(ctx, capacity=1)
    first, second = make_user(ctx), make_user(ctx)
    booking.register(ctx, run.id, first)
    promoted = booking.register(ctx, run.id, second)
    token = notifications.decline_token(promoted)
    assert notifications.registration_from_decline_token(ctx, token) is promoted
    assert notifications.registration_from_decline_token(ctx, token + "x") is None
    assert notifications.registration_from_decline_token(ctx, "not-a-token") is None
    assert booking.decline(ctx, promoted) and promoted.status == S.CANCELLED
    assert not booking.decline(ctx, promoted)
    # A new place has a new secret: the old link no longer names it.
    again = booking.register(ctx, run.id, second)
    assert again.id == promoted.id and notifications.registration_from_decline_token(ctx, token) is None
