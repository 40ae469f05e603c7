"""Wire formats and answers of the platforms: one module per platform, one shared pipeline.

Knows no ORM and no request: callers pass a base URL and a token, and get back a
:class:`~messaging.providers.base.SendResult` or a :class:`~messaging.providers.base.ProviderError`.
"""

from __future__ import annotations

from messaging.providers.base import ProviderClient, ProviderError, SendResult
from messaging.providers.certainly import CertainlyClient
from messaging.providers.dlg import DlgClient

CLIENTS: dict[str, type[ProviderClient]] = {
    DlgClient.provider: DlgClient,
    CertainlyClient.provider: CertainlyClient,
}

__all__ = ["CLIENTS", "ProviderClient", "ProviderError", "SendResult", "client_class"]


def client_class(provider: str) -> type[ProviderClient]:
    try:
        return CLIENTS[provider]
    except KeyError:
        raise ValueError(f"No client for provider {provider!r}") from None
