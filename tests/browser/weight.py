"""Page weight in the browser tests: what a first load moves over the wire."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import Page, Response


@dataclass
class Transfer:
    """Bytes per response of one load: headers plus the body as sent (compressed when
    the server compressed it)."""

    responses: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.responses.values())

    def report(self) -> str:
        lines = [f"{size:>8,} B  {url}" for url, size in sorted(self.responses.items())]
        return "\n".join([*lines, f"{self.total:>8,} B  total"])


def transferred(page: Page, url: str) -> Transfer:
    """Open ``url`` in ``page`` (a fresh context: nothing cached) and count every response
    until the network is idle."""
    transfer = Transfer()
    seen: list[Response] = []

    def record(response: Response) -> None:
        seen.append(response)

    page.on("response", record)
    page.goto(url, wait_until="networkidle")
    page.remove_listener("response", record)
    for response in seen:
        sizes = response.request.sizes()
        transfer.responses[response.url] = sizes["responseHeadersSize"] + max(
            sizes["responseBodySize"], 0
        )
    return transfer
