"""Prompts: assembled from the composer's structured fields in the order the
model's guide recommends, edit prompts with "keep everything else the same",
and the task templates the composer starts from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEEP_REST_SAME = "Keep everything else the same."
# The longest a structured field (and an edit's preserve list) may be.
PROMPT_FIELD_MAX_CHARS = 300
PROMPT_FIELDS = ("subject", "action", "camera", "scene", "lighting", "style", "preserve", "exclude")
_FIELD_LABELS = {
    "camera": "Camera",
    "scene": "Scene",
    "lighting": "Lighting",
    "style": "Style",
    "preserve": "Preserve",
    "exclude": "Avoid",
}


def prompt_from_fields(fields: dict[str, str]) -> str:
    """One prompt from the composer's structured fields, in the order the
    model's guide recommends: subject and action, then the shot."""
    subject = fields.get("subject", "").strip()
    action = fields.get("action", "").strip()
    parts = []
    if subject or action:
        parts.append(sentence(" ".join(p for p in (subject, action) if p)))
    for key, label in _FIELD_LABELS.items():
        if value := fields.get(key, "").strip():
            parts.append(sentence(f"{label}: {value}"))
    return " ".join(parts)


def edit_prompt(*, instruction: str, keep_rest_same: bool, preserve: str = "") -> str:
    parts = [sentence(instruction.strip())]
    if keep_rest_same:
        parts.append(KEEP_REST_SAME)
        if preserve.strip():
            parts.append(sentence(f"Preserve {preserve.strip()}"))
    return " ".join(parts)


def extend_prompt(*, shot: str, instruction: str = "") -> str:
    """What an extension asks for: the parent's shot carried on from its last
    frame (sent as the image), then what should happen next."""
    parts = [f"Continue this shot: {sentence(shot)}"]
    if instruction := instruction.strip():
        parts.append(sentence(instruction[0].upper() + instruction[1:]))
    return " ".join(parts)


def sentence(text: str) -> str:
    """Text ending as a sentence, so instructions joined after it stay apart."""
    text = text.strip()
    return text if re.search(r"[.!?][\"'\u201d\u2019]?$", text) else f"{text}."


@dataclass(frozen=True)
class TaskTemplate:
    key: str
    label: str
    # "text", "image" or "edit": where the template applies.
    mode: str
    fields: dict[str, str] = field(default_factory=dict)
    instruction: str = ""


TASK_TEMPLATES = {
    template.key: template
    for template in [
        TaskTemplate(
            "short_ad",
            "Short ad",
            "text",
            {
                "subject": "A sleek product on a pedestal",
                "action": "turns slowly to show every side",
                "camera": "slow push in, single continuous shot",
                "scene": "clean studio backdrop",
                "lighting": "soft key light with a warm rim",
                "style": "polished commercial",
                "exclude": "extra text or logos",
            },
        ),
        TaskTemplate(
            "animate_still",
            "Animate a product still",
            "image",
            {
                "subject": "The product in the photo",
                "action": "comes gently alive",
                "camera": "gentle push in",
                "preserve": "the product's shape, colours and branding",
            },
        ),
        TaskTemplate(
            "relight", "Replace background or lighting", "edit", instruction="Make it night"
        ),
        TaskTemplate(
            "reframe_portrait",
            "Reframe landscape to portrait",
            "edit",
            instruction="Reframe to 9:16",
        ),
        TaskTemplate(
            "onscreen_text",
            "Add on-screen text",
            "edit",
            instruction='Add on-screen text "LAUNCH DAY" at the top from 1s to 3s',
        ),
    ]
}
