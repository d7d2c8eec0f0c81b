"""Where the server listens and who reaches it: profile, address, public URL, proxies, TLS."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import NoDecode

from peerlane.config._values import comma_list
from peerlane.core.addresses import ProxyTrust


class NetworkOptions(BaseModel):
    """The network group of :class:`peerlane.config.Settings` (never used alone)."""

    profile: Literal["local", "lan", "internet"] = Field(
        "local",
        description="Where the server runs: local (this computer), lan (devices on the same "
        "network) or internet (anyone, behind a TLS proxy); --check-config and the start-up "
        "checks judge the other settings for it (docs/deployment.md).",
    )
    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 for the LAN).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on (0 = any free).")
    public_url: str | None = Field(
        None,
        description="Base URL used in invite links and QR codes "
        "(default: derived from each request's Host); an https URL also makes session "
        "cookies Secure and turns on HSTS.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra browser origins allowed to use session cookies "
        "(comma-separated; the server's own origin is always allowed).",
    )
    trust_proxy: bool = Field(
        False,
        description="Behind one proxy: the same as --trusted-proxy-hops 1 (kept for "
        "compatibility; ignored when trusted-proxy-hops or trusted-proxies is set).",
    )
    trusted_proxy_hops: int = Field(
        0,
        ge=0,
        le=16,
        description="Proxies in front of the server that append to X-Forwarded-For: the "
        "client is the address the outermost one saw (0: no proxy, the socket's peer).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or CIDR networks of your proxies (comma-separated): only a "
        "peer among them is believed, and the client is the right-most X-Forwarded-For "
        "entry outside them. Excludes trusted-proxy-hops.",
    )
    ipv6_prefix: int = Field(
        64,
        ge=16,
        le=128,
        description="Per-IP limits count an IPv6 client by this network prefix (a home or "
        "phone usually holds a whole /64).",
    )
    tls_cert: Path | None = Field(None, description="TLS certificate (PEM) for HTTPS/WSS.")
    tls_key: Path | None = Field(None, description="TLS private key (PEM) for HTTPS/WSS.")
    self_signed: bool = Field(
        False,
        description="Serve HTTPS with a self-signed certificate kept in the data directory "
        "(for LAN use); prints its fingerprint.",
    )

    # Validator names are unique across the groups: Settings inherits them all, and one
    # group's validator would hide another's of the same name.
    @field_validator("allowed_origins", "trusted_proxies", mode="before")
    @classmethod
    def _network_lists(cls, value: Any) -> Any:
        return comma_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"not an address or CIDR network: {item!r}") from None
        return value

    @model_validator(mode="after")
    def _one_proxy_rule(self) -> Self:
        if self.trusted_proxy_hops and self.trusted_proxies:
            raise ValueError(
                "trusted_proxy_hops and trusted_proxies exclude each other: give one of them"
            )
        return self

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        if self.self_signed and self.tls_cert is not None:
            raise ValueError("self_signed and tls_cert exclude each other")
        return self

    @property
    def proxy_trust(self) -> ProxyTrust:
        """Which proxies' X-Forwarded-For entries are believed (--trust-proxy is one hop)."""
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.trusted_proxies)
        hops = self.trusted_proxy_hops or (1 if self.trust_proxy and not networks else 0)
        return ProxyTrust(hops=hops, networks=networks)

    @property
    def tls(self) -> bool:
        return self.self_signed or self.tls_cert is not None

    @property
    def https_public(self) -> bool:
        """Browsers reach the server over HTTPS: it serves TLS itself, or its public URL
        is https (a TLS proxy in front). Cookies are then Secure and HSTS is sent,
        whether or not the proxy is trusted to say which scheme a request came in on."""
        return self.tls or (self.public_url or "").lower().startswith("https://")
