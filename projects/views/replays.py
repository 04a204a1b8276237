"""Replaying an edit chain from the version page: the edits from one
version to this one, made again on another version as a new branch."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from projects.forms import posted_id
from projects.services import replays
from projects.services.errors import StudioError
from projects.views.common import redirect_to, refusal, version_of


@require_POST
def version_replay(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    """Replay the edits from ``first`` to this version onto ``base``; then
    show the first new version (it is on its way), or say why not."""
    version, membership = version_of(request, project_id, number)
    first, base = posted_id(request.POST.get("first")), posted_id(request.POST.get("base"))
    try:
        if first is None or base is None:
            raise StudioError("Give the first edit's and the base's version numbers.")
        chain = replays.chain_to(version)
        numbers = [v.number for v in chain]
        if first not in numbers:
            raise StudioError(
                f"v{first} is not one of the edits leading to {version.label} "
                f"({', '.join(f'v{n}' for n in numbers) or 'none'})."
            )
        replay = replays.replay_start(
            project=version.project,
            membership=membership,
            chain=numbers[numbers.index(first) :],
            base=base,
        )
    except PermissionDenied as refused:
        return refusal(str(refused), status=403)
    except StudioError as error:
        if request.htmx:
            return refusal(error.message, status=422)
        messages.error(request, error.message)
        return redirect_to(request, version.get_absolute_url())
    messages.success(
        request,
        f"Replaying {replay.summary}: each edit starts when the one before it is ready.",
    )
    return redirect_to(request, replay.current.get_absolute_url())
