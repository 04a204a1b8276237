"""The local engine: offline, deterministic, real MP4s.

It makes no AI video. It renders something honest and watchable instead, so the
studio can be developed, tested and demoed without a network or a budget:

- ``engine``: LocalEngine, what the studio calls.
- ``scenes``: new videos. A title card for text to video; a still moved by a
  camera for image to video; the soft chord under both.
- ``grammar``: reads an edit instruction into ``operations``.
- ``edits``: plans and renders those operations on the parent MP4, with
  ``looks`` (colour) and ``text`` (on-screen text and subtitles).

Files are written by ``studio.engines.video``. Nothing here imports Django.
"""
