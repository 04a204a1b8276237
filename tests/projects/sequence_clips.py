"""Ready versions made by the local engine, for sequences to be made of."""

from __future__ import annotations

import io

import av

from projects.models import Version
from projects.services import versions


def ready_version(project, member, tasks, *, aspect_ratio="16:9", prompt="A red kite") -> Version:
    version = versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        kind=Version.Kind.TEXT_TO_VIDEO,
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        resolution="480p",
        duration_seconds=3,
        engine="local",
    )
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    return version


def decoded(field_file) -> dict:
    """What PyAV finds in a stored MP4: size, duration, frames and sound."""
    with field_file.open("rb") as handle, av.open(io.BytesIO(handle.read())) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        container.seek(0)
        audio = container.streams.audio
        samples = sum(f.samples for f in container.decode(audio[0])) if audio else 0
        return {
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "codec": video.codec_context.name,
            "fps": float(video.average_rate),
            "frames": frames,
            "seconds": frames / float(video.average_rate),
            "audio_codec": audio[0].codec_context.name if audio else "",
            "audio_seconds": samples / audio[0].sample_rate if audio else 0.0,
        }
