"""The Gemini engine: Gemini Omni Flash through google-genai's Interactions API.

This is the only package in the project that imports ``google.genai``:
``engine`` (GeminiEngine), ``failures`` (what an error response or a failed
interaction means, as an ErrorKind) and ``transport`` (errors of the
connection itself, and the HTTP client for downloads). The wire
format it relies on was read from, and is pinned by tests/contract against,
google-genai 3.4.0:

- ``POST /{v}/interactions`` creates an interaction. We always send
  ``background=true`` and ``store=true`` (a stored interaction is what an edit
  continues), ``response_format`` ``{"type": "video", "aspect_ratio",
  "resolution", "duration": "<n>s", "delivery": "uri"}``,
  ``generation_config.video_config.task`` and, for edits,
  ``previous_interaction_id``. A list of content blocks passed as ``input`` is
  sent by the SDK as one ``{"type": "user_input", "content": [...]}`` step.
- ``GET /{v}/interactions/{id}`` polls; ``POST /{v}/interactions/{id}/cancel``
  cancels. ``status`` is one of queued, in_progress, requires_continuation,
  completed, failed, cancelled, incomplete, budget_exceeded, requires_action.
- The video is a ``{"type": "video", "data" | "uri", "mime_type"}`` block in
  a ``model_output`` step of ``steps``; the SDK surfaces the last one as
  ``Interaction.output_video``. Failures are listed in ``Interaction.errors``
  (``{"code": "safety", "message": ...}``, codes as in the Interactions API
  error reference) and in a step's ``error`` (``google.rpc.Status``).
- Error responses are ``{"error": {"code": "<string>", "message": ...}}``.
- Files API: ``POST /upload/{v}/files`` (resumable start, upload url in the
  ``x-goog-upload-url`` header), the bytes to that url, then
  ``GET /{v}/files/{id}`` until ``state`` is ACTIVE (or FAILED).

"""
