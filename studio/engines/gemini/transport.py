"""The connection to Gemini: which errors mean it failed (and whether the
request can have left), and the HTTP client downloads use."""

from __future__ import annotations

from collections.abc import Iterable

from google.genai import _interactions as genai_interactions

try:  # google-genai 3.x ships httpx2; older releases used httpx.
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

try:  # The SDK may raise either flavour, depending on its backend.
    import httpx as _httpx_classic
except ImportError:
    _httpx_classic = None  # type: ignore[assignment]


def _transport_error_types() -> tuple[type[BaseException], ...]:
    types_: list[type[BaseException]] = [
        httpx.TransportError,
        genai_interactions.APIConnectionError,
    ]
    if _httpx_classic is not None:
        types_.append(_httpx_classic.TransportError)
    return tuple(types_)


_TRANSPORT_ERRORS = _transport_error_types()
_NOT_SENT_NAMES = frozenset(
    {"ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol"}
)


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_transport_error(exc: BaseException) -> bool:
    return isinstance(exc, _TRANSPORT_ERRORS)


def is_timeout(exc: BaseException) -> bool:
    for item in _chain(exc):
        if isinstance(item, genai_interactions.APITimeoutError):
            return True
        if "Timeout" in type(item).__name__:
            return True
    return False


def never_sent(exc: BaseException) -> bool:
    """The request provably never left: the connection was not made."""
    if not is_transport_error(exc):
        return False
    return any(type(item).__name__ in _NOT_SENT_NAMES for item in _chain(exc))


def describe(exc: BaseException) -> str:
    for item in _chain(exc):
        if item is not exc and str(item):
            return f"{type(item).__name__}: {item}"
    return f"{type(exc).__name__}: {exc}"


def http_client(timeout: float) -> httpx.Client:
    """A client for downloads: redirects are followed by the caller, which
    decides where the API key may go."""
    limits = httpx.Timeout(timeout, connect=min(timeout, 10.0))
    return httpx.Client(timeout=limits, follow_redirects=False)


def reuse_sdk_models() -> None:
    """google-genai 3.4's generated Interactions client builds a new pydantic
    model class for every request it sends and every answer it reads
    (``serializers.create_model`` on each call): a seventh of a busy worker's
    time. The class depends only on its name and the type it wraps, so build
    each once. Does nothing when the SDK is laid out otherwise."""
    try:
        from google.genai._gaos.utils import serializers
    except ImportError:  # pragma: no cover - another SDK layout
        return
    build = getattr(serializers, "create_model", None)
    if build is None or getattr(build, "reused", False):
        return
    built: dict[tuple, object] = {}

    def create_model(name: str, /, **fields):
        try:
            key = (name, fields["body"][0])
            hash(key)
        except (KeyError, TypeError, IndexError):
            return build(name, **fields)
        if key not in built:
            built[key] = build(name, **fields)
        return built[key]

    create_model.reused = True  # type: ignore[attr-defined]
    serializers.create_model = create_model
