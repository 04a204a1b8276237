"""Engines make video: the only code that knows how. An engine declares what
it can make and turns a request into an interaction it can be polled for
(``base``). Engines never import Django: the studio builds them with their
options (``projects.services.engines``).

- ``base``: the Engine protocol, request and result types, the error kinds
- ``video``: probing, writing, transcoding, posters and reframing MP4s
- ``local``: the offline engine (scenes, edits, the edit-instruction grammar)
- ``gemini``: Gemini Omni Flash, the only code that imports ``google.genai``
"""
