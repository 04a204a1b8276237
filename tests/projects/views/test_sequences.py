"""The sequence pages: made from the branches' picks, arranged on the
timeline by buttons and forms, rendered (the old render kept), played,
downloaded, commented on at a time and exported with provenance; refusals
in words, changing nothing."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.models import Comment, Membership, Sequence, SequenceRender
from projects.services import sequences
from tests.factories import MembershipFactory, VersionFactory
from tests.projects.sequence_clips import ready_version


@pytest.fixture
def made(project, member, tasks):
    """A sequence of two versions made by the local engine, from the page."""
    ready_version(project, member, tasks, prompt="A red kite")
    ready_version(project, member, tasks, prompt="A green field")
    return project


def url(name, sequence, *extra):
    return reverse(name, args=[sequence.project_id, sequence.pk, *extra])


def create(client, project, **data) -> Sequence:
    response = client.post(
        reverse("sequence_create", args=[project.pk]),
        {"title": "Teaser", "aspect_ratio": "9:16", "resolution": "480p", **data},
    )
    sequence = Sequence.objects.get()
    assert response.status_code == 302 and response.url == sequence.get_absolute_url()
    return sequence


def test_the_project_page_links_the_sequences_and_a_new_one_takes_the_branches(logged_in, made):
    page = logged_in.get(reverse("project_detail", args=[made.pk]))
    assert reverse("sequence_list", args=[made.pk]) in page.text
    listing = logged_in.get(reverse("sequence_list", args=[made.pk]))
    assert "New sequence" in listing.text and "centre-cropped" in listing.text
    sequence = create(logged_in, made, start="picks")
    page = logged_in.get(sequence.get_absolute_url())
    assert page.status_code == 200
    text = page.text
    assert text.count('class="timeline-clip"') == 2
    assert reverse("version_poster", args=[made.pk, 1]) in text
    assert "Move clip 1 (v1) earlier" in text and "Move clip 2 (v2) later" in text
    assert "Remove clip 2 (v2)" in text and "Add version" in text and ">Render<" in text
    assert "Teaser" in logged_in.get(reverse("sequence_list", args=[made.pk])).text


def test_the_timeline_is_arranged_by_its_forms(logged_in, made):
    sequence = create(logged_in, made, start="empty")
    assert not sequence.clips.exists()
    logged_in.post(url("sequence_clip_add", sequence), {"number": "v2"})
    logged_in.post(url("sequence_clip_add", sequence), {"number": "1"})
    logged_in.post(url("sequence_clip_move", sequence), {"position": "1", "direction": "earlier"})
    assert [c.version.number for c in sequences.clips_of(sequence)] == [1, 2]
    # A drag posts the place it was dropped on.
    logged_in.post(url("sequence_clip_move", sequence), {"position": "0", "to": "1"})
    assert [c.version.number for c in sequences.clips_of(sequence)] == [2, 1]
    refused = logged_in.post(url("sequence_clip_move", sequence), {"position": "0", "to": "x"})
    assert refused.status_code == 302
    assert [c.version.number for c in sequences.clips_of(sequence)] == [2, 1]
    logged_in.post(url("sequence_clip_move", sequence), {"position": "1", "to": "0"})
    logged_in.post(
        url("sequence_clip_change", sequence),
        {
            "position": "0",
            "in_seconds": "0.5",
            "out_seconds": "2,5",
            "transition": "crossfade",
            "transition_seconds": "0.5",
        },
    )
    first = sequences.clips_of(sequence)[0]
    assert (first.in_seconds, first.out_seconds, first.transition_seconds) == (0.5, 2.5, 0.5)

    before = sequences.specs_of(sequence)
    refused = logged_in.post(
        url("sequence_clip_change", sequence),
        {"position": "0", "in_seconds": "2", "out_seconds": "1", "transition": "cut"},
        follow=True,
    )
    assert "must be after the in point" in refused.text
    refused = logged_in.post(
        url("sequence_clip_change", sequence),
        {"position": "0", "in_seconds": "0", "out_seconds": "9", "transition": "cut"},
        follow=True,
    )
    assert "past the end of v1" in refused.text
    refused = logged_in.post(url("sequence_clip_add", sequence), {"number": "v9"}, follow=True)
    assert "There is no v9 in this project" in refused.text
    refused = logged_in.post(
        url("sequence_clip_change", sequence),
        {"position": "0", "in_seconds": "soon", "out_seconds": "1"},
        follow=True,
    )
    assert "in seconds" in refused.text
    assert sequences.specs_of(sequence) == before

    logged_in.post(url("sequence_clip_remove", sequence), {"position": "1"})
    assert [c.version.number for c in sequences.clips_of(sequence)] == [1]
    logged_in.post(
        url("sequence_settings", sequence),
        {"title": "Teaser, square", "aspect_ratio": "1:1", "resolution": "480p", "fps": "30"},
    )
    sequence.refresh_from_db()
    assert (sequence.title, sequence.aspect_ratio, sequence.fps) == ("Teaser, square", "1:1", 30)


def test_a_render_is_followed_played_downloaded_reviewed_and_exported(logged_in, made, tasks):
    sequence = create(logged_in, made, start="picks")
    logged_in.post(url("sequence_render", sequence))
    render = SequenceRender.objects.get()
    page = logged_in.get(sequence.get_absolute_url())
    # Followed live: the page's socket, and "rendering" while the socket is down.
    assert 'data-sequence-socket="/ws/projects/' in page.text
    assert '<section id="renders" aria-labelledby="renders-heading" data-rendering>' in page.text
    assert "Queued" in page.text
    tasks()
    poll = logged_in.get(
        sequence.get_absolute_url(), headers={"HX-Request": "true", "HX-Target": "renders"}
    )
    assert poll.text.lstrip().startswith('<section id="renders"')
    assert "data-rendering" not in poll.text and "Download MP4" in poll.text
    video = url("sequence_render_video", sequence, 1)
    assert f'src="{video}"' in poll.text

    played = logged_in.get(video, headers={"Range": "bytes=0-99"})
    assert played.status_code == 206 and played["Content-Type"] == "video/mp4"
    download = logged_in.get(video, {"download": "1"})
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert b"".join(download.streaming_content)[4:8] == b"ftyp"

    # Clip 1 (v1, 3 s) is cut to clip 2 (v2) at 3 s.
    logged_in.post(
        url("sequence_render_comment", sequence, 1), {"seconds": "4", "body": "Too dark"}
    )
    comment = Comment.objects.get()
    assert (comment.version.number, comment.start_seconds) == (2, 1.0)
    assert comment.body == "Too dark (from sequence Teaser r1 at 0:04)"

    # The render's form has the drawing tools of its player; a box drawn on
    # the portrait render lands in the middle strip of the landscape v1
    # (x in v1 = 0.3413 + 0.3174 × x on the render).
    page = logged_in.get(sequence.get_absolute_url())
    assert f'class="draw-tools" data-player="render-player-{render.pk}"' in page.text
    box = {"kind": "box", "color": "blue", "x": 0.1, "y": 0.1, "w": 0.25, "h": 0.5}
    drawn = logged_in.post(
        url("sequence_render_comment", sequence, 1),
        {"seconds": "1", "body": "Logo", "annotation": json.dumps([box])},
        follow=True,
    )
    assert "Comment added to v1 at 0:01 with its drawing." in drawn.text
    comment = Comment.objects.get(body__startswith="Logo")
    assert (comment.version.number, comment.start_seconds) == (1, 1.0)
    assert comment.annotation == [{**box, "x": 0.373, "w": 0.0793}]

    exported = logged_in.get(url("sequence_render_provenance", sequence, 1))
    assert "attachment" in exported["Content-Disposition"]
    document = json.loads(exported.content)
    assert document["render"] == 1 and [c["version"] for c in document["clips"]] == [1, 2]
    assert document["clips"][1]["lineage"][-1]["prompt"].startswith("A green field")

    logged_in.post(url("sequence_clip_move", sequence), {"position": "0", "direction": "later"})
    logged_in.post(url("sequence_render", sequence))
    tasks()
    page = logged_in.get(sequence.get_absolute_url())
    assert page.text.count("Download MP4") == 2  # r1 stays playable beside r2
    render.refresh_from_db()
    assert render.status == SequenceRender.Status.READY


def test_the_page_previews_the_cut_and_lets_editors_drag_its_clips(client, logged_in, member, made):
    sequence = create(logged_in, made, start="picks")
    logged_in.post(
        url("sequence_clip_change", sequence),
        {
            "position": "0",
            "in_seconds": "0.5",
            "out_seconds": "2",
            "transition": "crossfade",
            "transition_seconds": "0.5",
        },
    )
    page = logged_in.get(sequence.get_absolute_url())
    assert 'data-reorder="clip-drop-form"' in page.text and 'id="clip-drop-form"' in page.text
    preview = json.loads(
        page.text.split('id="sequence-preview-clips" type="application/json">')[1].split("<")[0]
    )
    assert preview == [
        {
            "label": "v1",
            "src": reverse("version_video", args=[made.pk, 1]),
            "in": 0.5,
            "out": 2.0,
            "crossfade": 0.5,
        },
        {
            "label": "v2",
            "src": reverse("version_video", args=[made.pk, 2]),
            "in": 0.0,
            "out": sequence.clips.get(position=1).out_seconds,
            "crossfade": 0,
        },
    ]
    viewer = MembershipFactory(workspace=member.workspace, role=Membership.Role.VIEWER)
    client.force_login(viewer.user)
    page = client.get(sequence.get_absolute_url())
    assert "sequence-preview-clips" in page.text
    assert "data-reorder" not in page.text and "clip-drop-form" not in page.text


def test_roles_and_outsiders_are_refused_in_words(client, member, made, outsider):
    sequence = sequences.sequence_create(
        project=made, membership=member, title="Cut", from_picks=True
    )
    viewer = MembershipFactory(workspace=member.workspace, role=Membership.Role.VIEWER)
    client.force_login(viewer.user)
    assert client.get(sequence.get_absolute_url()).status_code == 200
    refused = client.post(url("sequence_render", sequence))
    assert refused.status_code == 403 and "owners and editors" in refused.text
    assert client.post(url("sequence_clip_remove", sequence), {"position": "0"}).status_code == 403
    assert (
        client.post(reverse("sequence_create", args=[made.pk]), {"title": "x"}).status_code == 403
    )
    assert not SequenceRender.objects.exists() and sequence.clips.count() == 2
    client.force_login(outsider)
    assert client.get(sequence.get_absolute_url()).status_code == 404
    assert client.get(url("sequence_render_video", sequence, 1)).status_code == 404
    assert client.get(reverse("sequence_list", args=[made.pk])).status_code == 404


def test_the_sequence_page_reads_the_same_queries_however_many_renders(logged_in, member, made):
    sequence = sequences.sequence_create(
        project=made, membership=member, title="Cut", from_picks=True
    )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert logged_in.get(sequence.get_absolute_url()).status_code == 200
        return len(captured)

    sequences.sequence_render(sequence=sequence, membership=member)
    few = queries()
    for _ in range(5):
        sequences.sequence_render(sequence=sequence, membership=member)
    assert queries() == few


HOSTILE = ["", "abc", "-1", "0", "9" * 25, "1e309", "nan", "inf", "１２", "1\x00", "<b>1</b>"]


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_no_sequence_form_answers_500_or_changes_anything_from_hostile_values(
    client, project, member, role
):
    for number in (1, 2):
        VersionFactory(project=project, number=number, video=f"v/{number}.mp4", video_duration=3.0)
    sequence = sequences.sequence_create(
        project=project,
        membership=member,
        title="Cut",
        clips=[sequences.ClipSpec(1, 0, 3, "crossfade", 1), sequences.ClipSpec(2)],
    )
    render = SequenceRender.objects.create(
        sequence=sequence,
        number=1,
        clips=[
            {"version": c.version_id, "number": c.version.number, "in": 0.0, "out": 3.0}
            | {"transition": "cut", "transition_seconds": 0.0, "starts_at": 3.0 * i, "frames": 72}
            for i, c in enumerate(sequences.clips_of(sequence))
        ],
        aspect_ratio="16:9",
        width=852,
        height=480,
        fps=24,
        status=SequenceRender.Status.READY,
        duration_seconds=6.0,
    )
    someone = MembershipFactory(workspace=project.workspace, role=role)
    client.force_login(someone.user)
    clip = {"position": "0", "in_seconds": "0", "out_seconds": "2", "transition": "cut"}
    forms = [
        (
            reverse("sequence_create", args=[project.pk]),
            {"title": "T", "aspect_ratio": "16:9", "resolution": "480p", "start": "empty"},
            ["title", "aspect_ratio", "resolution"],
        ),
        (
            url("sequence_settings", sequence),
            {"title": "T", "aspect_ratio": "16:9", "resolution": "480p", "fps": "24"},
            ["title", "aspect_ratio", "resolution", "fps"],
        ),
        (url("sequence_clip_add", sequence), {"number": "1"}, ["number"]),
        (
            url("sequence_clip_move", sequence),
            {"position": "0", "direction": "later"},
            ["position", "direction"],
        ),
        (url("sequence_clip_move", sequence), {"position": "0", "to": "1"}, ["position", "to"]),
        (url("sequence_clip_remove", sequence), {"position": "0"}, ["position"]),
        (
            url("sequence_clip_change", sequence),
            clip,
            ["position", "in_seconds", "out_seconds", "transition", "transition_seconds"],
        ),
        (
            url("sequence_render_comment", sequence, render.number),
            {"body": "Nice", "seconds": "1"},
            ["body", "seconds", "annotation"],
        ),
    ]

    def state():
        sequence.refresh_from_db()
        return (
            Sequence.objects.count(),
            (sequence.title, sequence.aspect_ratio, sequence.resolution, sequence.fps),
            sequences.specs_of(sequence),
            Comment.objects.count(),
            SequenceRender.objects.count(),
        )

    changed = set()
    for address, body, fields in forms:
        for field in fields:
            for value in HOSTILE:
                before = state()
                response = client.post(address, {**body, field: value})
                assert response.status_code < 500, (address, field, value)
                if state() != before:
                    changed.add((address.rstrip("/").rsplit("/", 1)[-1], field, value))
    # Only valid values change anything: the first clip's position, a number
    # in other digits, plain text, a crossfade field a cut ignores.
    allowed = {("new", "title", v) for v in ("abc", "-1", "0", "9" * 25, "1e309", "nan")}
    allowed |= {("new", "title", v) for v in ("inf", "１２", "<b>1</b>")}
    allowed |= {("settings", "title", v) for v in ("abc", "-1", "0", "1e309", "nan", "inf")}
    allowed |= {("settings", "title", v) for v in ("１２", "<b>1</b>", "9" * 25)}
    allowed |= {("add", "number", v) for v in ("１２",)}
    allowed |= {(form, "position", "0") for form in ("change", "move", "remove")}
    allowed |= {("change", "transition_seconds", v) for v in HOSTILE}
    allowed |= {("change", "out_seconds", v) for v in ("１２",)}
    allowed |= {("comments", "body", v) for v in ("abc", "-1", "0", "9" * 25, "1e309", "nan")}
    allowed |= {("comments", "body", v) for v in ("inf", "１２", "<b>1</b>")}
    allowed |= {("comments", "seconds", v) for v in ("", "0")}
    allowed |= {("comments", "annotation", "")}  # no drawing
    assert changed <= (allowed if role == "owner" else set()), sorted(changed - allowed)
