"""gunicorn's logs as JSON lines, scrubbed like the application's (``config.logs``).

Every access line is one JSON object: time, client address, method, path and query with
pay-link tokens and personal data cut out (``config.logs.scrub``), status, bytes, duration,
the request id the application returned (``X-Request-ID``) and the user agent; never the
``Authorization`` or ``Cookie`` headers. The atoms any ``access_log_format`` could use are
scrubbed the same way, so a custom format cannot leak a token either. gunicorn's error log
goes through the same filter and formatter.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from gunicorn import glogging

from config.logs import JsonLineFormatter, PersonalDataFilter, scrub

_NEVER_LOGGED = {
    "{authorization}i",
    "{cookie}i",
    "{set-cookie}o",
    "{http_authorization}e",
    "{http_cookie}e",
}


class JsonLogger(glogging.Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.addFilter(PersonalDataFilter())
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonLineFormatter())
        for handler in self.access_log.handlers:
            handler.setFormatter(logging.Formatter("%(message)s"))

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any
    ) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name, value in list(atoms.items()):
            if name.lower() in _NEVER_LOGGED:
                atoms[name] = "-"
            elif isinstance(value, str):
                atoms[name] = scrub(value)
        return atoms

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "remote": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"] or "",
            "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
            "bytes": atoms["B"],
            "duration_ms": round(atoms["D"] / 1000, 1),
            "request_id": atoms.get("{x-request-id}o", ""),
            "user_agent": atoms["a"],
            "pid": atoms["p"],
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:
            self.exception("access log line not written")
