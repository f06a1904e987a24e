"""Users, sites and API tokens: who may do what, and at which site; sign-in with rate limiting
and lockout, server-side browser sessions, password changes.

Sign-in (NIST SP 800-63B 5.2.2, OWASP Authentication Cheat Sheet):

- :data:`LOCKOUT_FAILURES` (5) failed sign-ins for one username within
  :data:`LOCKOUT_WINDOW` (15 minutes) lock that username for :data:`LOCKOUT_DURATION`
  (15 minutes from the last of them); a successful sign-in clears the count. Unknown usernames
  are counted and locked the same way, so a lockout does not tell whether the user exists.
- :data:`ADDRESS_FAILURES` (20) failed sign-ins from one client address within 15 minutes,
  whatever the usernames, lock that address for 15 minutes (password spraying).
- While locked, the password is not checked: the attempt is refused (and recorded as such).
- Every failure is an audit entry (``login_failed``), every lockout too (``login_locked``);
  an unknown username is recorded against table ``user``, record 0.
- An unknown username costs the same scrypt work as a wrong password, and both get the same
  message.

Browser sessions (OWASP Session Management Cheat Sheet): a random 256-bit identifier, of which
only the SHA-256 is stored; it expires after :data:`SESSION_IDLE` (30 minutes) without a
request and :data:`SESSION_ABSOLUTE` (8 hours) after sign-in, and is revoked by sign-out, a
password change, or an administrator (:meth:`AccountsMixin.revoke_sessions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from earlyphase.conduct import audit
from earlyphase.conduct.common import (
    ConductError,
    PermissionDenied,
    ServiceBase,
    as_utc,
    require,
    site_named,
    text_value,
)
from earlyphase.conduct.models import LoginAttempt, Site, User, WebSession, utcnow
from earlyphase.conduct.security import (
    hash_password,
    new_token,
    token_hash,
    verify_dummy,
    verify_password,
)

ROLES = ("admin", "statistician", "investigator", "monitor")

#: Failed sign-ins for one username within the window that lock it (NIST SP 800-63B 5.2.2
#: allows at most 100; OWASP suggests a handful).
LOCKOUT_FAILURES = 5
#: Failed sign-ins from one client address within the window that lock the address.
ADDRESS_FAILURES = 20
LOCKOUT_WINDOW = dt.timedelta(minutes=15)
LOCKOUT_DURATION = dt.timedelta(minutes=15)
#: A session ends after this long without a request (OWASP: 15-30 minutes for
#: high-value applications) ...
SESSION_IDLE = dt.timedelta(minutes=30)
#: ... and this long after sign-in, whatever the activity.
SESSION_ABSOLUTE = dt.timedelta(hours=8)
#: A session's last request is written at most this often (one write per minute, not per page).
SESSION_TOUCH = dt.timedelta(seconds=60)
#: Sign-in attempts, and ended sessions, are deleted after this long (the failures stay in
#: the audit trail).
BOOKKEEPING_KEPT = dt.timedelta(days=1)

_WRONG = "password: unknown user or wrong password"


class TooManyAttempts(PermissionDenied):
    """Sign-in refused without checking the password: the username or the client address is
    locked out after too many failures."""

    def __init__(self, until: dt.datetime) -> None:
        self.retry_after = max(1, int((until - utcnow()).total_seconds()) + 1)
        minutes = -(-self.retry_after // 60)
        super().__init__(
            f"password: too many failed sign-ins; try again in {minutes} minute"
            + ("s" if minutes != 1 else "")
        )


def _locked_from(times: list[dt.datetime], threshold: int) -> dt.datetime | None:
    """The end of the latest lockout that ``times`` (failures, ascending) set off: any
    ``threshold`` of them within :data:`LOCKOUT_WINDOW` lock for :data:`LOCKOUT_DURATION`
    from the last."""
    until = None
    for i in range(threshold - 1, len(times)):
        if times[i] - times[i - threshold + 1] <= LOCKOUT_WINDOW:
            end = times[i] + LOCKOUT_DURATION
            until = end if until is None or end > until else until
    return until


def _clip(value: str, limit: int) -> str:
    return value[:limit]


def _new_hash(password: str, username: str) -> str:
    """The stored form of a new password, refused (naming the field) if the rules of
    :func:`earlyphase.conduct.security.check_password` are not met."""
    try:
        return hash_password(password, username)
    except ValueError as exc:
        raise ConductError(str(exc)) from None


class AccountsMixin(ServiceBase):
    @contextmanager
    def _bookkeeping(self) -> Iterator[Session]:
        """A short write transaction for sign-in bookkeeping (sessions, attempts): tables
        outside the audit trail, so the trail's lock is not taken."""
        with self.sessions() as s, s.begin():
            yield s

    def bootstrap_admin(self, username: str, full_name: str, password: str) -> None:
        with self._tx() as s:
            if s.execute(select(func.count(User.id))).scalar_one():
                raise ConductError("username: users already exist; ask an administrator")
            u = User(
                username=username,
                full_name=full_name,
                role="admin",
                password_hash=_new_hash(password, username),
            )
            audit.created(s, username, u, new=f"{username} (admin)")

    # --- sign-in -----------------------------------------------------------------------------

    def _lockout(
        self, s: Session, username: str, address: str, now: dt.datetime
    ) -> tuple[dt.datetime | None, dt.datetime | None]:
        """When the username's and the address's lockouts end (None: not locked), as the
        recorded attempts stand."""
        since = now - LOCKOUT_WINDOW - LOCKOUT_DURATION
        last_ok = s.execute(
            select(func.max(LoginAttempt.at)).where(
                LoginAttempt.username == username, LoginAttempt.outcome == "ok"
            )
        ).scalar()
        if last_ok is not None and as_utc(last_ok) > since:
            since = as_utc(last_ok)
        by_user = [
            as_utc(t)
            for t in s.execute(
                select(LoginAttempt.at)
                .where(
                    LoginAttempt.username == username,
                    LoginAttempt.outcome == "failed",
                    LoginAttempt.at > since,
                )
                .order_by(LoginAttempt.at)
            ).scalars()
        ]
        by_address = [
            as_utc(t)
            for t in s.execute(
                select(LoginAttempt.at)
                .where(
                    LoginAttempt.address == address,
                    LoginAttempt.outcome == "failed",
                    LoginAttempt.at > now - LOCKOUT_WINDOW - LOCKOUT_DURATION,
                )
                .order_by(LoginAttempt.at)
            ).scalars()
        ]
        user_until = _locked_from(by_user, LOCKOUT_FAILURES)
        address_until = _locked_from(by_address, ADDRESS_FAILURES)
        return (
            user_until if user_until is not None and user_until > now else None,
            address_until if address_until is not None and address_until > now else None,
        )

    def authenticate(self, username: str, password: str, address: str = "local") -> User:
        """The user whose password this is, or :class:`PermissionDenied` (the same message
        whether the user is unknown or the password wrong), or :class:`TooManyAttempts`.
        ``address`` is the client's (the web service passes it; scripts are "local")."""
        name, addr = _clip(username, 80), _clip(address, 64)

        def look(s: Session) -> tuple[User | None, dt.datetime | None]:
            u = s.execute(select(User).where(User.username == username)).scalar()
            locks = [t for t in self._lockout(s, name, addr, utcnow()) if t is not None]
            return u, max(locks) if locks else None

        user, until = self.read(look)
        if until is not None:
            with self._bookkeeping() as s:
                s.add(LoginAttempt(at=utcnow(), username=name, address=addr, outcome="refused"))
            raise TooManyAttempts(until)
        # the same scrypt work whether or not the user exists
        ok = verify_password(password, user.password_hash) if user else verify_dummy(password)
        table, record_id = ("user_account", user.id) if user else ("user", 0)
        with self._tx() as s:
            now = utcnow()
            before = self._lockout(s, name, addr, now)
            if before != (None, None):
                # attempts made meanwhile (other workers) locked it: refused, even if right
                s.add(LoginAttempt(at=now, username=name, address=addr, outcome="refused"))
                until = max(t for t in before if t is not None)
            elif ok:
                s.add(LoginAttempt(at=now, username=name, address=addr, outcome="ok"))
                s.execute(delete(LoginAttempt).where(LoginAttempt.at < now - BOOKKEEPING_KEPT))
            else:
                s.add(LoginAttempt(at=now, username=name, address=addr, outcome="failed"))
                why = "wrong password" if user else "unknown username"
                audit.record(
                    s, name, "login_failed", table, record_id, new=f"from {addr}", reason=why
                )
                s.flush()
                user_until, address_until = self._lockout(s, name, addr, now)
                if user_until is not None:
                    audit.record(
                        s,
                        name,
                        "login_locked",
                        table,
                        record_id,
                        new=f"until {user_until:%Y-%m-%d %H:%M} UTC",
                        reason=f"{LOCKOUT_FAILURES} failed sign-ins within "
                        f"{LOCKOUT_WINDOW.seconds // 60} minutes (last from {addr})",
                    )
                if address_until is not None:
                    audit.record(
                        s,
                        name,
                        "login_locked",
                        "user",
                        0,
                        field="address",
                        new=f"{addr} until {address_until:%Y-%m-%d %H:%M} UTC",
                        reason=f"{ADDRESS_FAILURES} failed sign-ins from one address within "
                        f"{LOCKOUT_WINDOW.seconds // 60} minutes",
                    )
        if until is not None:
            raise TooManyAttempts(until)
        if not ok or user is None:
            raise PermissionDenied(_WRONG)
        return user

    def change_password(
        self,
        actor: User,
        username: str,
        new_password: str,
        current_password: str | None = None,
        address: str = "local",
    ) -> int:
        """Set ``username``'s password: one's own with the current password (checked, and
        throttled, as a sign-in), or anyone's by an administrator. Every session of the user
        and the API token are revoked (OWASP: re-authenticate after a credential change).
        Returns the number of sessions ended."""
        if actor.username == username:
            # OWASP ASVS 4.0.3 V2.1.6: a password change needs the current password
            self.authenticate(username, current_password or "", address)
        elif actor.role != "admin":
            raise PermissionDenied("role: only an admin sets another user's password")
        new_hash = _new_hash(new_password, username)
        with self._tx() as s:
            u = s.execute(select(User).where(User.username == username)).scalar()
            if u is None:
                raise ConductError(f"username: no user {username!r}")
            u.password_hash = new_hash
            audit.record(
                s,
                actor.username,
                "change",
                "user_account",
                u.id,
                "password_hash",
                None,
                "changed",
                "password changed" if actor.id == u.id else f"password reset by {actor.username}",
            )
            return self._revoke(s, actor, u, "password changed")

    def _revoke(self, s: Session, actor: User, u: User, reason: str) -> int:
        """End every session of ``u`` and withdraw the API token, in the caller's
        transaction; the API token's withdrawal is audited."""
        live = (WebSession.user_id == u.id, WebSession.revoked_at.is_(None))
        ended = s.execute(select(func.count(WebSession.id)).where(*live)).scalar_one()
        s.execute(
            update(WebSession)
            .where(*live)
            .values(revoked_at=utcnow(), revoked_reason=_clip(reason, 120))
        )
        if u.api_token_hash is not None:
            u.api_token_hash = None
            audit.record(
                s,
                actor.username,
                "change",
                "user_account",
                u.id,
                "api_token",
                "issued",
                None,
                f"API token revoked ({reason})",
            )
        return int(ended or 0)

    def revoke_sessions(self, actor: User, username: str, reason: str = "") -> int:
        """End every browser session of ``username`` and withdraw the API token (an admin's
        act on anyone, or a user's on themself, e.g. after a lost laptop); audited. Returns
        the number of sessions ended."""
        if actor.role != "admin" and actor.username != username:
            raise PermissionDenied("role: only an admin revokes another user's sessions")
        with self._tx() as s:
            u = s.execute(select(User).where(User.username == username)).scalar()
            if u is None:
                raise ConductError(f"username: no user {username!r}")
            why = f"revoked by {actor.username}" + (f": {reason}" if reason else "")
            n = self._revoke(s, actor, u, why)
            audit.record(
                s,
                actor.username,
                "revoke",
                "user_account",
                u.id,
                "sessions",
                None,
                f"{n} ended",
                reason or "sessions revoked",
            )
            return n

    # --- browser sessions --------------------------------------------------------------------

    def start_session(self, user: User, address: str = "local") -> str:
        """A new session for ``user``: returns its identifier (for the cookie; only its hash
        is stored). Sessions that ended a day ago or more are deleted on the way."""
        token, hashed = new_token()
        now = utcnow()
        with self._bookkeeping() as s:
            s.add(
                WebSession(
                    token_hash=hashed,
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + SESSION_ABSOLUTE,
                    address=_clip(address, 64),
                )
            )
            s.execute(
                delete(WebSession).where(
                    (WebSession.expires_at < now - BOOKKEEPING_KEPT)
                    | (WebSession.last_seen_at < now - SESSION_IDLE - BOOKKEEPING_KEPT)
                    | (WebSession.revoked_at < now - BOOKKEEPING_KEPT)
                )
            )
        return token

    def reauthenticate(self, actor: User, password: str) -> None:
        """The password re-entered for an electronic signature (21 CFR 11.200(a)(1)),
        checked as a sign-in is: guesses at the signature prompt count towards the same
        lockout and are audited like guesses at the sign-in page (11.300(d)), so a stolen
        session or token cannot be used to try passwords without limit."""
        try:
            user = self.authenticate(actor.username, password)
        except TooManyAttempts:
            raise
        except PermissionDenied:
            raise PermissionDenied("password: unknown user or wrong password") from None
        if user.id != actor.id:
            raise PermissionDenied("password: unknown user or wrong password")

    def session_user(self, token: str) -> User | None:
        """The user of a live session (None if unknown, revoked, idle too long or past its
        absolute limit); the session's last request time is brought forward."""
        hashed = token_hash(token)

        def get(s: Session) -> tuple[WebSession, User] | None:
            # one round trip: this runs before every page a signed-in user opens
            row = s.execute(
                select(WebSession, User)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.token_hash == hashed)
            ).first()
            return None if row is None else (row[0], row[1])

        found = self.read(get)
        if found is None:
            return None
        ws, user = found
        now = utcnow()
        if (
            ws.revoked_at is not None
            or as_utc(ws.expires_at) <= now
            or as_utc(ws.last_seen_at) + SESSION_IDLE <= now
        ):
            return None
        if as_utc(ws.last_seen_at) + SESSION_TOUCH <= now:
            with self._bookkeeping() as s:
                s.execute(update(WebSession).where(WebSession.id == ws.id).values(last_seen_at=now))
        return user

    def end_session(self, token: str, reason: str = "sign-out") -> None:
        """Revoke one session (sign-out); an unknown identifier is ignored."""
        with self._bookkeeping() as s:
            s.execute(
                update(WebSession)
                .where(WebSession.token_hash == token_hash(token), WebSession.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason=_clip(reason, 120))
            )

    # --- tokens, sites, users ------------------------------------------------------------------

    def user_from_token(self, token: str) -> User:
        def get(s: Session) -> User:
            u = s.execute(select(User).where(User.api_token_hash == token_hash(token))).scalar()
            if u is None:
                raise PermissionDenied("token: not a valid API token")
            return u

        return self.read(get)

    def issue_token(self, actor: User) -> str:
        token, hashed = new_token()
        with self._tx() as s:
            u = s.get(User, actor.id)
            assert u is not None
            u.api_token_hash = hashed
            audit.record(
                s,
                actor.username,
                "change",
                "user_account",
                u.id,
                "api_token",
                None,
                "issued",
                "API token issued",
            )
        return token

    def create_site(self, actor: User, name: str) -> Site:
        require(actor, "admin")
        name = text_value(name, "name")
        with self._tx() as s:
            if s.execute(select(Site).where(Site.name == name)).scalar():
                raise ConductError(f"name: site {name!r} exists")
            site = Site(name=name)
            audit.created(s, actor.username, site, new=name)
            return site

    def create_user(
        self,
        actor: User,
        username: str,
        full_name: str,
        role: str,
        password: str,
        site: str | None = None,
    ) -> User:
        require(actor, "admin")
        if role not in ROLES:
            raise ConductError(f"role: must be one of {list(ROLES)}")
        username = text_value(username, "username")
        with self._tx() as s:
            if s.execute(select(User).where(User.username == username)).scalar():
                raise ConductError(f"username: {username!r} is taken")
            site_id = None
            if role == "investigator":
                if site is None:
                    raise ConductError("site: an investigator belongs to a site")
                site_id = site_named(s, site).id
            u = User(
                username=username,
                full_name=text_value(full_name, "full_name"),
                role=role,
                site_id=site_id,
                password_hash=_new_hash(password, username),
            )
            audit.created(s, actor.username, u, new=f"{username} ({role})")
            return u
