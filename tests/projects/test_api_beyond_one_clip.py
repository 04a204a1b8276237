"""Issue #18's scenario through the API against the Gemini double: a 5 s
shot extended twice into 15 s (each extension an image-to-video from the
last frame), cut with two other versions into a sequence with a crossfade,
rendered and downloaded; then a branch's edits replayed onto that shot's
root, each step continuing the one before."""

import base64
import io

import av
import numpy as np
from PIL import Image

from tests.projects.conftest import completes
from tests.projects.test_api import Api, token_for
from tests.projects.test_gemini_studio import render


def test_extend_cut_render_and_replay_through_the_api(member, project, tasks, double, settings):
    settings.STUDIO_POLL_MAX_SECONDS = 0  # the double answers at once
    api = Api(token_for(member.user))
    base = f"/projects/{project.pk}"
    five, three = render(seconds=5), render(seconds=3)

    def made(response, number):
        assert response.status_code == 201, response.content
        tasks()
        version = api.get(f"{base}/versions/{number}").json()
        assert version["status"] == "ready", version["error"]
        return version

    shot = {
        "prompt": "Waves rolling onto a beach, slow pan right",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration_seconds": 5,
        "engine": "gemini",
    }
    completes(double, "int-shot", five)
    made(api.post(f"{base}/versions", shot), 1)
    completes(double, "int-more-1", five)
    v2 = made(api.post(f"{base}/versions/1/extend", {"seconds": 5, "instruction": "gulls"}), 2)
    completes(double, "int-more-2", five)
    v3 = made(api.post(f"{base}/versions/2/extend", {"seconds": 5}), 3)
    assert abs(v2["video_duration"] - 10) <= 1 / 24 and abs(v3["video_duration"] - 15) <= 1 / 24
    # Each extension was an image-to-video of the shot's last frame.
    extensions = [r.json for r in double.creates][1:3]
    sent_parts = []
    for sent in extensions:
        assert sent["generation_config"]["video_config"]["task"] == "image_to_video"
        assert "previous_interaction_id" not in sent
        [step] = sent["input"]
        image, text = step["content"]
        assert text["text"].startswith("Continue this shot: Waves rolling onto a beach")
        assert image["type"] == "image" and image["mime_type"] == "image/png"
        sent_parts.append((image, text))
    assert sent_parts[0][1]["text"].endswith("Gulls.")
    still = sent_parts[1][0]
    frame = np.asarray(Image.open(io.BytesIO(base64.b64decode(still["data"]))), dtype=float)
    assert frame.shape[:2] == (480, 852)

    # The first branch, on another root: an edit of an edit.
    completes(double, "int-root", three)
    made(
        api.post(
            f"{base}/versions", {**shot, "prompt": "A lighthouse at dusk", "duration_seconds": 3}
        ),
        4,
    )
    completes(double, "int-night", three)
    made(api.post(f"{base}/versions", {"parent": 4, "instruction": "Make it night"}), 5)
    completes(double, "int-slow", three)
    made(api.post(f"{base}/versions", {"parent": 5, "instruction": "Slow motion"}), 6)

    # The cut: the 15 s shot, crossfading into v6, then v5.
    sequence = api.post(
        f"{base}/sequences",
        {
            "title": "Coast cut",
            "resolution": "480p",
            "clips": [
                {"version": 3, "transition": "crossfade", "transition_seconds": 0.5},
                {"version": 6},
                {"version": 5},
            ],
        },
    )
    assert sequence.status_code == 201, sequence.content
    sequence_id = sequence.json()["id"]
    started = api.post(f"{base}/sequences/{sequence_id}/renders")
    assert started.status_code == 201, started.content
    tasks()
    cut = api.get(f"{base}/sequences/{sequence_id}/renders/1").json()
    assert cut["status"] == "ready", cut["error_message"]
    video = api.get(f"{base}/sequences/{sequence_id}/renders/1/video")
    assert video.status_code == 200
    data = b"".join(video.streaming_content) if video.streaming else video.content
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        seconds = stream.frames / float(stream.average_rate)
        assert container.streams.audio
        assert (stream.codec_context.width, stream.codec_context.height) == (852, 480)
    assert abs(seconds - (15 + 3 + 3 - 0.5)) <= 1 / 24 + 1e-6, seconds

    # The branch's edits replayed onto the 15 s shot's root.
    completes(double, "int-replay-1", five)
    completes(double, "int-replay-2", five)
    replay = api.post(f"{base}/replays", {"chain": [5, 6], "base": 1})
    assert replay.status_code == 201, replay.content
    tasks()
    done = api.get(f"{base}/replays/{replay.json()['id']}").json()
    assert done["status"] == "done", done["stopped_reason"]
    assert [s["version"] for s in done["steps"]] == [7, 8]
    replayed = [r.json for r in double.creates][-2:]
    assert [r.get("previous_interaction_id") for r in replayed] == ["int-shot", "int-replay-1"]
    v8 = api.get(f"{base}/versions/8").json()
    assert (v8["parent"], v8["instruction"], v8["status"]) == (7, "Slow motion", "ready")
