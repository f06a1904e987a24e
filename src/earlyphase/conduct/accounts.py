"""Users, sites and API tokens: who may do what, and at which site."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from earlyphase.conduct import audit
from earlyphase.conduct.common import (
    ConductError,
    PermissionDenied,
    ServiceBase,
    require,
    site_named,
    text_value,
)
from earlyphase.conduct.models import Site, User
from earlyphase.conduct.security import hash_password, new_token, token_hash, verify_password

ROLES = ("admin", "statistician", "investigator", "monitor")


class AccountsMixin(ServiceBase):
    def bootstrap_admin(self, username: str, full_name: str, password: str) -> None:
        with self._tx() as s:
            if s.execute(select(func.count(User.id))).scalar_one():
                raise ConductError("username: users already exist; ask an administrator")
            u = User(
                username=username,
                full_name=full_name,
                role="admin",
                password_hash=hash_password(password),
            )
            audit.created(s, username, u, new=f"{username} (admin)")

    def authenticate(self, username: str, password: str) -> User:
        def get(s: Session) -> User:
            u = s.execute(select(User).where(User.username == username)).scalar()
            if u is None or not verify_password(password, u.password_hash):
                raise PermissionDenied("password: unknown user or wrong password")
            return u

        return self.read(get)

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
                password_hash=hash_password(password),
            )
            audit.created(s, actor.username, u, new=f"{username} ({role})")
            return u
