"""Who may do what to which playlist (CONTRACT §8): signed tokens, three roles.

Off by default: :class:`AllowAll` grants everything, so the embedded demo stays
open. With a secret, :class:`TokenAuthorizer` accepts JWTs (HS256, PyJWT) whose
claims are ``sub`` (who), ``exp``, ``playlist`` (a name, or ``*`` for every
playlist) and ``role`` (``read`` < ``write`` < ``admin``, each role including
the ones before it). The surfaces take the token from where their clients can
put it (a ``Bearer`` header, ``?token=``) and ask the authorizer; no web
framework here.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Protocol

import jwt

from crdt.names import is_playlist_name

ALGORITHM = "HS256"
ANY_PLAYLIST = "*"
REQUIRED_CLAIMS = ("sub", "exp", "playlist", "role")


class Role(enum.IntEnum):
    """Ordered: a role may do everything the roles below it may."""

    READ = 1  # GET, the event stream, Yjs sync and awareness
    WRITE = 2  # also every REST write and Yjs document updates
    ADMIN = 3  # also the admin page and API (§11)

    @classmethod
    def named(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r}: read, write or admin") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Unauthenticated(Exception):
    """No token, or one that is malformed, badly signed or expired (401, close 4401)."""


class Forbidden(Exception):
    """A valid token that does not reach this playlist or action (403, close 4403)."""


@dataclass(frozen=True)
class Grant:
    """What one token allows: ``role`` on ``playlist`` (a name or ``*``), for ``subject``.

    ``subject`` is None when auth is off: nobody in particular. ``expires_at``
    (the token's ``exp``, Unix seconds) is None when nothing expires.
    """

    subject: str | None
    role: Role
    playlist: str
    expires_at: float | None = None

    def seconds_left(self, now: float | None = None) -> float | None:
        """Until the token expires (a long-lived connection ends then); None: never."""
        if self.expires_at is None:
            return None
        return max(0.0, self.expires_at - (time.time() if now is None else now))

    def can(self, action: Role, playlist: str | None) -> bool:
        """Whether this grant allows ``action`` on ``playlist``.

        ``playlist=None`` is what belongs to no one playlist (the track library,
        the list of playlists): any grant may read it; changing it takes ``*``.
        """
        if self.role < action:
            return False
        if self.playlist == ANY_PLAYLIST:
            return True
        if playlist is None:
            return action == Role.READ
        return self.playlist == playlist

    def require(self, action: Role, playlist: str | None) -> Grant:
        """This grant, or :class:`Forbidden` naming what is missing."""
        if not self.can(action, playlist):
            target = f"playlist {playlist!r}" if playlist is not None else "this resource"
            raise Forbidden(f"this token does not allow {action.label} access to {target}")
        return self


OPEN = Grant(subject=None, role=Role.ADMIN, playlist=ANY_PLAYLIST)


class Authorizer(Protocol):
    """The seam every surface checks through."""

    enabled: bool

    def grant(self, token: str | None) -> Grant:
        """The grant of ``token``; raises :class:`Unauthenticated` if there is none."""
        ...


class AllowAll:
    """Auth off (no secret): everyone may do everything, as nobody in particular."""

    enabled = False

    def grant(self, token: str | None) -> Grant:
        return OPEN


class TokenAuthorizer:
    """Auth on: every request needs a token signed with ``secret``."""

    enabled = True

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("an auth secret must not be empty")
        self._secret = secret

    def grant(self, token: str | None) -> Grant:
        if not token:
            raise Unauthenticated("a token is required")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        return _grant_from(claims)


def _grant_from(claims: dict) -> Grant:
    subject, playlist, role = claims["sub"], claims["playlist"], claims["role"]
    if not isinstance(subject, str) or not subject or not _encodable(subject):
        raise Unauthenticated("invalid token: sub must be a non-empty string")
    if not isinstance(playlist, str) or not (
        playlist == ANY_PLAYLIST or is_playlist_name(playlist)
    ):
        raise Unauthenticated("invalid token: playlist must be a playlist name or '*'")
    if not isinstance(role, str):
        raise Unauthenticated("invalid token: role must be read, write or admin")
    try:
        return Grant(
            subject=subject,
            role=Role.named(role),
            playlist=playlist,
            expires_at=float(claims["exp"]),
        )
    except ValueError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None


def _encodable(text: str) -> bool:
    """JSON can carry a lone surrogate, which pycrdt cannot store (FIELD-NOTES)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def authorizer_for(secret: str | None) -> Authorizer:
    """Token checks when a secret is set, else everything open."""
    return TokenAuthorizer(secret) if secret else AllowAll()


def mint(
    secret: str,
    *,
    playlist: str,
    role: Role | str,
    subject: str,
    ttl_seconds: float,
    now: float | None = None,
) -> str:
    """A signed token: ``role`` on ``playlist`` (or ``*``) for ``subject``, for ``ttl_seconds``."""
    if not secret:
        raise ValueError("an auth secret is required to mint a token")
    if not (playlist == ANY_PLAYLIST or is_playlist_name(playlist)):
        raise ValueError(f"invalid playlist {playlist!r}: a playlist name or '*'")
    if not subject:
        raise ValueError("a subject is required")
    if ttl_seconds <= 0:
        raise ValueError("the time to live must be positive")
    role = role if isinstance(role, Role) else Role.named(role)
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": subject,
        "playlist": playlist,
        "role": role.label,
        "iat": issued,
        "exp": issued + int(ttl_seconds),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> int:
    """``90``, ``90s``, ``15m``, ``1h``, ``7d`` → seconds."""
    text = text.strip().lower()
    unit = _TTL_UNITS.get(text[-1:])
    number = text[:-1] if unit else text
    try:
        value = int(number)
    except ValueError:
        raise ValueError(f"invalid ttl {text!r}: a number with s, m, h or d") from None
    if value <= 0:
        raise ValueError("the time to live must be positive")
    return value * (unit or 1)
