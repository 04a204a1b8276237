"""Downloading a finished video from Gemini: through redirects and Files
API resources to the bytes, with the API key sent only to the API's host."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin, urlsplit

from studio.engines.base import EngineError, ErrorKind
from studio.engines.gemini.failures import error_from_failure, failure_from_response, json_or_empty
from studio.engines.gemini.transport import httpx


def download(
    http: httpx.Client, *, uri: str, destination: Path, api_key: str, base_url: str
) -> None:
    """Stream uri to destination. The API key goes only to the API's own
    host (a redirect to signed storage must not carry it)."""
    api_host = urlsplit(base_url or "https://generativelanguage.googleapis.com").netloc
    url = uri
    for _hop in range(6):
        host = urlsplit(url).netloc
        headers = {"x-goog-api-key": api_key} if host == api_host else {}
        with http.stream("GET", url, headers=headers) as response:
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code != 200:
                response.read()
                raise error_from_failure(
                    failure_from_response(response.status_code, response), "download"
                )
            if response.headers.get("content-type", "").startswith("application/json"):
                # A Files API resource, not its bytes: follow it to them.
                response.read()
                meta = json_or_empty(response)
                meta = meta.get("file", meta) if isinstance(meta, dict) else {}
                next_url = meta.get("downloadUri") or meta.get("download_uri")
                url = next_url or f"{url.split('?')[0]}:download?alt=media"
                continue
            with destination.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
            if destination.stat().st_size == 0:
                raise EngineError(ErrorKind.UNAVAILABLE, "Gemini sent an empty video.")
            return
    raise EngineError(ErrorKind.UNAVAILABLE, "Too many redirects downloading the video.")
