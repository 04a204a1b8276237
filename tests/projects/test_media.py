import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from projects.media import MediaError, normalise_image
from studio.engines.video import VideoError, transcode_to_mp4
from tests.projects.conftest import image_bytes


def upload(content: bytes, name: str = "still.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def huge_png_header(width: int, height: int) -> bytes:
    """A tiny PNG that declares an enormous canvas: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def test_jpeg_png_and_webp_are_accepted():
    for fmt in ("JPEG", "PNG", "WEBP"):
        image = normalise_image(upload(image_bytes(fmt=fmt)))
        assert (image.width, image.height) == (800, 600)
        decoded = Image.open(io.BytesIO(image.content))
        assert decoded.size == (800, 600)


def test_html_named_jpg_is_refused_by_content():
    with pytest.raises(MediaError, match="not an image"):
        normalise_image(upload(b"<!doctype html><html><body>hi</body></html>"))


def test_empty_file_is_refused():
    with pytest.raises(MediaError, match="empty"):
        normalise_image(upload(b""))


def test_gif_is_refused_even_though_pillow_reads_it():
    buffer = io.BytesIO()
    Image.new("RGB", (600, 600)).save(buffer, "GIF")
    with pytest.raises(MediaError, match="JPEG, PNG or WebP"):
        normalise_image(upload(buffer.getvalue(), "still.gif"))


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(MediaError, match="megapixels"):
        normalise_image(upload(huge_png_header(60_000, 60_000), "bomb.png"))


def test_too_many_bytes_is_refused(settings):
    settings.STUDIO_MAX_IMAGE_BYTES = 1000
    with pytest.raises(MediaError, match="larger than"):
        normalise_image(upload(image_bytes()))


def test_exif_orientation_is_applied():
    # Orientation 6: the camera was turned; the stored 800×600 shows as 600×800.
    image = normalise_image(upload(image_bytes(fmt="JPEG", exif_orientation=6)))
    assert (image.width, image.height) == (600, 800)


def test_small_images_grow_and_large_ones_shrink_into_bounds():
    small = normalise_image(upload(image_bytes(size=(200, 100), fmt="PNG")))
    assert min(small.width, small.height) == 512
    large = normalise_image(upload(image_bytes(size=(5000, 1000), fmt="PNG")))
    assert max(large.width, large.height) == 4096


def test_transparency_is_kept_as_png():
    buffer = io.BytesIO()
    Image.new("RGBA", (600, 600), (0, 0, 0, 0)).save(buffer, "PNG")
    image = normalise_image(upload(buffer.getvalue(), "alpha.png", "image/png"))
    assert image.mime_type == "image/png"


def test_a_clip_that_cannot_be_read_is_refused_in_words(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    with pytest.raises(VideoError, match=r"^The file is not a video we can read\.$"):
        transcode_to_mp4(broken, tmp_path / "out.mp4")
