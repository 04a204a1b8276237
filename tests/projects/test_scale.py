"""Pages make a flat number of queries however large or bushy the tree: the
same count at two sizes, for every shape and every endpoint that reads a
tree, with reviews, comments and decisions present."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.services.tokens import api_token_create
from tests.projects.trees import SHAPES, build_tree

SIZES = (60, 400)


def endpoints(project) -> dict[str, tuple[str, dict]]:
    """name: (url, extra request headers)."""
    middle = project.last_version_number // 2
    some = project.versions.get(number=middle)
    return {
        "page": (project.get_absolute_url(), {}),
        "version page": (reverse("version_detail", args=[project.pk, middle]), {}),
        "panel": (
            reverse("version_detail", args=[project.pk, middle]),
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "version-panel"},
        ),
        "compare": (reverse("compare", args=[project.pk]) + f"?a=1&b={middle}", {}),
        "polling": (reverse("project_updates", args=[project.pk]) + "?since=0", {}),
        "polling, a few changes": (
            reverse("project_updates", args=[project.pk])
            + f"?since={project.event_seq - 5}&selected={middle}",
            {},
        ),
        "children": (reverse("tree_children", args=[project.pk]) + "?parent=" + str(some.pk), {}),
        "roots": (reverse("tree_children", args=[project.pk]), {}),
        "branches": (reverse("branch_list", args=[project.pk]) + "?offset=10", {}),
        "find": (reverse("version_find", args=[project.pk]) + "?q=warmer", {}),
        "provenance": (reverse("version_provenance", args=[project.pk, 30]), {}),
        "api list": (f"/api/v1/projects/{project.pk}/versions?limit=50", {}),
    }


def count_queries(client, url: str, headers: dict) -> int:
    # Once first, so what is written once a minute (a token's last use) is
    # not counted; the estimates' cache is emptied, so they are.
    client.get(url, **headers)
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries.captured_queries)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_endpoint_makes_the_same_queries_at_any_size(client, member, shape):
    client.force_login(member.user)
    _, token = api_token_create(user=member.user, name="scale")
    counts: dict[str, list[int]] = {}
    for size in SIZES:
        project = build_tree(member, shape=shape, size=size)
        for name, (url, headers) in endpoints(project).items():
            if name == "api list":
                headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            counts.setdefault(name, []).append(count_queries(client, url, headers))
    # Provenance reads its lineage in batches of 500: flat below that depth.
    uneven = {name: found for name, found in counts.items() if len(set(found)) != 1}
    assert not uneven, (uneven, counts)
    assert counts["page"][0] <= 15, counts["page"]
