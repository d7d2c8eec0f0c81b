"""TURN providers and the ICE configuration a peer gets in ``welcome``.

Credentials are either static (``username``/``credential``) or time-limited in the scheme
of draft-uberti-behave-turn-rest-00 §2.2, which coturn's ``use-auth-secret`` implements:
the username is ``<expiry timestamp>:<user>`` and the password is
``base64(HMAC-SHA1(shared secret, username))``. The TURN server checks both without
talking to peerlane; the credentials stop working at the expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Iterable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from peerlane.core.protocol import IceServer
from peerlane.core.stun import IceUrl

DEFAULT_TTL = 12 * 3600.0


def turn_credentials(secret: str, user: str, *, now: float, ttl: float) -> tuple[str, str]:
    username = f"{int(now + ttl)}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


class TurnProvider(BaseModel):
    """One TURN service: its URLs, its rank, and how its credentials are made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    urls: list[str] = Field(min_length=1)
    # Lower comes first in the list a peer gets (browsers try servers in list order).
    priority: int = 0
    # Secrets: never in a repr or a log line.
    secret: SecretStr | None = Field(None, min_length=1)
    username: str | None = None
    credential: SecretStr | None = None

    @field_validator("urls")
    @classmethod
    def _turn_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("turn:", "turns:")):
                raise ValueError(f"not a turn: or turns: URL: {url!r}")
            IceUrl.parse(url)  # the health check reads it: refuse what it cannot
        return urls

    @model_validator(mode="after")
    def _one_kind_of_credentials(self) -> TurnProvider:
        static = self.username is not None or self.credential is not None
        if self.secret is not None and static:
            raise ValueError(f"TURN provider {self.name!r}: give a secret or username/credential")
        if self.secret is None and (self.username is None or self.credential is None):
            raise ValueError(
                f"TURN provider {self.name!r} needs a secret, or both username and credential"
            )
        return self

    def credentials(self, user: str, *, now: float, ttl: float) -> tuple[str, str]:
        """The username and password a peer (or the health check) signs in with."""
        if self.secret is not None:
            return turn_credentials(self.secret.get_secret_value(), user, now=now, ttl=ttl)
        assert self.username is not None  # the validator's rule
        assert self.credential is not None
        return self.username, self.credential.get_secret_value()


def check_unique_names(providers: Iterable[TurnProvider]) -> None:
    seen: set[str] = set()
    for provider in providers:
        if provider.name in seen:
            raise ValueError(f"two TURN providers are named {provider.name!r}")
        seen.add(provider.name)


def ice_servers(
    static: list[dict[str, object]],
    stun_urls: list[str],
    providers: Iterable[TurnProvider],
    *,
    user: str,
    now: float,
    ttl: float = DEFAULT_TTL,
    down: Collection[str] = (),
) -> list[IceServer]:
    """The ICE configuration of one peer: configured servers, STUN, then the TURN
    providers in priority order, leaving out those the health check found ``down``
    while another one is up. When every provider is down, all are handed out: the
    check runs from the server's network, and a client may still reach one (a relay
    that fails costs the client a few candidates; none at all costs it every relay)."""
    servers = [IceServer.model_validate(s) for s in static]
    if stun_urls:
        servers.append(IceServer(urls=list(stun_urls)))
    ordered = sorted(providers, key=lambda p: p.priority)
    if all(provider.name in down for provider in ordered):
        down = ()
    for provider in ordered:
        if provider.name in down:
            continue
        username, credential = provider.credentials(user, now=now, ttl=ttl)
        servers.append(IceServer(urls=provider.urls, username=username, credential=credential))
    return servers
