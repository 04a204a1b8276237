import math

from django.db import migrations, models


def number_the_frames(apps, schema_editor):
    """Comments written before frames were counted get theirs from their
    seconds, at their version's frame rate."""
    Comment = apps.get_model("projects", "Comment")
    timed = Comment.objects.filter(start_seconds__isnull=False).select_related("version")
    for comment in timed.iterator(chunk_size=500):
        fps = comment.version.fps
        comment.start_frame = math.floor(comment.start_seconds * fps + 0.02)
        if comment.end_seconds is not None:
            comment.end_frame = math.floor(comment.end_seconds * fps + 0.02)
        comment.save(update_fields=["start_frame", "end_frame"])


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0011_quota_use"),
    ]

    operations = [
        migrations.AddField(
            model_name="comment",
            name="end_frame",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="comment",
            name="start_frame",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(number_the_frames, migrations.RunPython.noop),
    ]
