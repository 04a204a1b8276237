from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm

from projects.media import MediaError, check_image
from projects.models import (
    MAX_ID,
    Membership,
    Project,
    Review,
    Version,
    WebhookEndpoint,
    Workspace,
)
from projects.services import composer, extend
from projects.services.annotations import COLORS as DRAW_COLORS
from projects.services.annotations import region_from_json, region_words
from projects.services.engines import capabilities_of, engine_names
from projects.services.errors import StudioError
from projects.services.prompts import (
    PROMPT_FIELD_MAX_CHARS,
    PROMPT_FIELDS,
    TASK_TEMPLATES,
    prompt_from_fields,
)
from projects.services.review import COMMENT_MAX_CHARS, REVIEW_NOTE_MAX_CHARS
from studio.engines.base import Task


def posted_id(value: str | None) -> int | None:
    """An id sent in a form: None unless it is a number some row could have,
    so a lookup with it finds nothing rather than overflowing the database."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        help_text="For a welcome, and a link if you ever forget your password."
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["title"]
        widgets = {"title": forms.TextInput(attrs={"autocomplete": "off"})}


def _engine_choices(names: list[str]) -> list[tuple[str, str]]:
    return [(name, capabilities_of(name).label) for name in names]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class GenerateForm(forms.Form):
    class Mode:
        TEXT = "text"
        IMAGE = "image"
        REFERENCE = "reference"

    MODES = {
        Mode.TEXT: ("From a prompt", Task.TEXT_TO_VIDEO),
        Mode.IMAGE: ("From a still", Task.IMAGE_TO_VIDEO),
        Mode.REFERENCE: ("From references", Task.REFERENCE_TO_VIDEO),
    }

    mode = forms.ChoiceField(
        choices=[(Mode.TEXT, "From a prompt"), (Mode.IMAGE, "From a still")],
        initial=Mode.TEXT,
        widget=forms.RadioSelect,
    )
    template = forms.ChoiceField(required=False, label="Start from a template")
    engine = forms.ChoiceField()
    subject = forms.CharField(required=False, max_length=PROMPT_FIELD_MAX_CHARS)
    action = forms.CharField(required=False, max_length=PROMPT_FIELD_MAX_CHARS)
    camera = forms.CharField(required=False, max_length=PROMPT_FIELD_MAX_CHARS)
    scene = forms.CharField(required=False, max_length=PROMPT_FIELD_MAX_CHARS)
    lighting = forms.CharField(required=False, max_length=PROMPT_FIELD_MAX_CHARS)
    style = forms.CharField(required=False, max_length=PROMPT_FIELD_MAX_CHARS)
    preserve = forms.CharField(required=False, max_length=PROMPT_FIELD_MAX_CHARS)
    exclude = forms.CharField(required=False, max_length=PROMPT_FIELD_MAX_CHARS, label="Exclude")
    prompt = forms.CharField(
        required=False,
        max_length=settings.STUDIO_MAX_PROMPT_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Assembled from the fields above; edit it freely.",
    )
    image = forms.FileField(
        required=False,
        label="Still (JPEG, PNG or WebP)",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    references = MultipleFileField(
        required=False,
        label="References (images and clips)",
        widget=MultipleFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,video/mp4,video/quicktime,video/webm"}
        ),
    )
    confirm_no_minors = forms.BooleanField(
        required=False, label="I confirm these images do not depict anyone under 18"
    )
    aspect_ratio = forms.ChoiceField()
    resolution = forms.ChoiceField()
    duration_seconds = forms.TypedChoiceField(coerce=int, label="Duration")
    # Left out: the default rate (24 fps).
    fps = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Frame rate")
    variations = forms.TypedChoiceField(
        coerce=int,
        choices=[(n, str(n)) for n in range(1, composer.MAX_VARIATIONS + 1)],
        initial=1,
        required=False,
        empty_value=1,
        label="Versions",
        help_text="More than one: variations side by side, each with its own seed.",
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        # Offer only what the chosen engine can do, with the same defaults
        # the API gives.
        chosen = (self.data if self.is_bound else self.initial).get("engine")
        defaults = composer.generation_defaults(project=project, engine=chosen)
        self.capabilities = caps = defaults.capabilities
        self.fields["engine"].choices = _engine_choices(engine_names())
        self.fields["engine"].initial = caps.name
        self.fields["template"].choices = [("", "None")] + [
            (t.key, t.label) for t in TASK_TEMPLATES.values() if t.mode in {"text", "image"}
        ]
        self.fields["aspect_ratio"].choices = [(r, r) for r in caps.aspect_ratios]
        self.fields["aspect_ratio"].initial = defaults.aspect_ratio
        self.fields["resolution"].choices = [(r, r) for r in caps.resolutions]
        self.fields["resolution"].initial = defaults.resolution
        self.fields["duration_seconds"].choices = [(d, f"{d} s") for d in caps.durations]
        self.fields["duration_seconds"].initial = defaults.duration_seconds
        self.fields["duration_seconds"].error_messages["invalid_choice"] = (
            f"Duration must be {caps.min_duration} to {caps.max_duration} seconds."
        )
        self.fields["fps"].choices = [(r, f"{r} fps") for r in caps.frame_rates]
        self.fields["fps"].initial = defaults.fps
        self.fields["fps"].error_messages["invalid_choice"] = (
            f"{caps.label} makes {', '.join(map(str, caps.frame_rates))} fps."
        )
        self.fields["mode"].choices = [
            (mode, label) for mode, (label, task) in self.MODES.items() if task in caps.tasks
        ]
        self.asks_about_minors = project.workspace.restricts_minors_and_uploaded_video

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if upload:
            try:
                # The header only: the still is decoded once, when it is kept.
                check_image(upload)
            except MediaError as error:
                raise forms.ValidationError(str(error)) from error
        return upload

    def clean(self):
        cleaned = super().clean()
        fields = {name: cleaned.get(name, "") for name in PROMPT_FIELDS}
        if not (cleaned.get("prompt") or "").strip() and "prompt" not in self.errors:
            assembled = prompt_from_fields(fields)
            if not assembled:
                self.add_error("prompt", "Write a prompt, or fill in at least the subject.")
            cleaned["prompt"] = assembled
        if (
            cleaned.get("mode") == self.Mode.IMAGE
            and not cleaned.get("image")
            and "image" not in self.errors
        ):
            self.add_error("image", "Choose a still to animate.")
        cleaned["prompt_fields"] = fields
        return cleaned

    @property
    def kind(self) -> str:
        return Version.Kind(self.MODES[self.cleaned_data["mode"]][1])


class UploadForm(forms.Form):
    clip = forms.FileField(
        label="Clip (MP4, MOV or WebM)",
        widget=forms.ClearableFileInput(attrs={"accept": "video/mp4,video/quicktime,video/webm"}),
        error_messages={"required": "Choose a clip to upload."},
    )


class WorkspaceForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name", "region", "monthly_budget"]
        help_texts = {
            "region": "Where your team works. The model's policies differ by region: in the "
            "EEA, Switzerland and the UK it cannot edit uploaded videos, and images must not "
            "depict minors.",
            "monthly_budget": "What all projects together may spend on paid generations in a "
            "calendar month. Leave it empty for no cap.",
        }
        widgets = {"monthly_budget": forms.NumberInput(attrs={"min": 0, "step": "0.01"})}

    def clean_monthly_budget(self):
        value = self.cleaned_data["monthly_budget"]
        if value is not None and value < 0:
            raise forms.ValidationError("A budget cannot be negative.")
        return value


class ProjectBudgetForm(forms.Form):
    monthly_budget = forms.DecimalField(
        required=False, min_value=0, max_digits=10, decimal_places=2, label="Monthly budget ($)"
    )


class EditForm(forms.Form):
    instruction = forms.CharField(
        max_length=settings.STUDIO_MAX_PROMPT_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Edit",
        error_messages={"required": "Say what to change."},
    )
    keep_rest_same = forms.BooleanField(
        required=False, initial=True, label="Keep everything else the same"
    )
    preserve = forms.CharField(required=False, max_length=PROMPT_FIELD_MAX_CHARS, label="Preserve")
    engine = forms.ChoiceField()
    addresses = forms.CharField(required=False, widget=forms.HiddenInput)
    section_start = forms.FloatField(required=False, min_value=0, label="Edit from (s)")
    fps = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Frame rate")
    # Where the edit applies: the box drawn on a comment it was made from (JSON).
    region = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def __init__(self, *args, parent: Version, **kwargs):
        super().__init__(*args, **kwargs)
        names = composer.edit_engine_names()
        chosen = self.data.get("engine") if self.is_bound else None
        self.capabilities = capabilities_of(
            chosen if chosen in names else composer.edit_engine_default(parent)
        )
        self.fields["engine"].choices = _engine_choices(names)
        self.fields["engine"].initial = self.capabilities.name
        # What the parent was told to keep is kept again, unless changed.
        self.fields["preserve"].initial = (parent.prompt_fields or {}).get("preserve", "")
        self.templates = [t for t in TASK_TEMPLATES.values() if t.mode == "edit"]
        # What the chosen engine makes of this parent, and what that costs.
        self.plan = composer.edit_plan(parent=parent, capabilities=self.capabilities)
        # Empty keeps the parent's rate (or the nearest the engine makes).
        self.fields["fps"].choices = [("", f"Same as {parent.label} ({parent.fps:g} fps)")] + [
            (r, f"{r} fps") for r in self.capabilities.frame_rates if r != round(parent.fps)
        ]
        self.fields["fps"].error_messages["invalid_choice"] = (
            f"{self.capabilities.label} makes "
            f"{', '.join(map(str, self.capabilities.frame_rates))} fps."
        )
        self.estimate = composer.cost_estimate(
            engine=self.capabilities.name,
            resolution=self.plan.resolution,
            duration_seconds=self.plan.duration_seconds,
            fps=self.plan.fps,
        )

    def clean_region(self) -> dict | None:
        try:
            return region_from_json(self.cleaned_data.get("region") or "")
        except StudioError as error:
            raise forms.ValidationError(error.message) from error

    @property
    def region_said(self) -> str:
        """Where the edit applies, in words, when the form carries a region."""
        raw = self["region"].value()
        try:
            region = region_from_json(raw) if isinstance(raw, str) else raw
        except StudioError:
            return ""
        return region_words(region) if region else ""

    def clean_addresses(self) -> list[int]:
        raw = self.cleaned_data.get("addresses") or ""
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        ids = [posted_id(part) for part in parts]
        if None in ids:
            raise forms.ValidationError("Those comments could not be found.")
        return ids


class ExtendForm(forms.Form):
    """Extend by N s: the seconds (what the engine makes), an optional
    instruction and the engine; the estimate is per choice of seconds."""

    seconds = forms.TypedChoiceField(coerce=int, label="Extend by")
    instruction = forms.CharField(
        required=False,
        max_length=settings.STUDIO_MAX_PROMPT_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="What happens next (optional)",
    )
    engine = forms.ChoiceField()

    def __init__(self, *args, parent: Version, **kwargs):
        super().__init__(*args, **kwargs)
        names = extend.extend_engine_names()
        chosen = self.data.get("engine") if self.is_bound else None
        self.plan = extend.extend_plan(parent=parent, engine=chosen if chosen in names else None)
        capabilities = self.plan.capabilities
        self.fields["engine"].choices = _engine_choices(names)
        self.fields["engine"].initial = capabilities.name
        # Every length the engine makes is accepted here; one that would
        # take the whole past the limit is refused by the service, in words.
        self.fields["seconds"].choices = [(n, f"{n} s") for n in capabilities.durations]
        self.fields["seconds"].error_messages["invalid_choice"] = (
            f"Extend by {capabilities.min_duration} to {capabilities.max_duration} seconds."
        )
        # The lengths that fit, each with what it would cost.
        self.offers = [(n, self.plan.estimate(n)) for n in self.plan.seconds_choices]
        fitting = [n for n, _ in self.offers]
        self.fields["seconds"].initial = 5 if 5 in fitting else (fitting or [None])[-1]


class CommentForm(forms.Form):
    body = forms.CharField(
        max_length=COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Comment",
        error_messages={"required": "Write a comment."},
    )
    start_seconds = forms.FloatField(required=False, min_value=0, label="At (s)")
    end_seconds = forms.FloatField(required=False, min_value=0, label="Until (s)")
    parent = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )
    # The drawing on the frame, as the page's drawing tools write it (JSON).
    annotation = forms.CharField(required=False, max_length=64_000, widget=forms.HiddenInput)

    draw_tools = (("pin", "Pin"), ("box", "Box"), ("stroke", "Freehand"))
    draw_colors = DRAW_COLORS


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=Review.Decision.choices)
    note = forms.CharField(
        required=False, max_length=REVIEW_NOTE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2})
    )


class InvitationForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.EDITOR)
    email = forms.EmailField(
        required=False, label="Email (optional)", help_text="We send the link there too."
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class ReconcileForm(forms.Form):
    decision = forms.ChoiceField(choices=[("resubmit", "Submit again"), ("cancel", "Cancel")])


class GuestLinkForm(forms.Form):
    days = forms.TypedChoiceField(
        coerce=int,
        choices=[(1, "1 day"), (7, "7 days"), (30, "30 days")],
        initial=7,
        label="Open for",
    )
    password = forms.CharField(
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
        label="Password (optional)",
        help_text="At least 8 characters; tell it to your guests yourself.",
    )
    label = forms.CharField(required=False, max_length=100, label="For (optional)")
    also = forms.CharField(
        required=False,
        max_length=300,
        label="Also share (version numbers)",
        help_text="For example: 2, 5, 7.",
    )

    def clean_also(self) -> list[int]:
        raw = self.cleaned_data.get("also") or ""
        parts = [p.strip().lstrip("vV") for p in raw.replace(";", ",").split(",") if p.strip()]
        if not all(p.isdigit() and len(p) < 10 for p in parts):
            raise forms.ValidationError("Write version numbers, separated by commas.")
        return [int(p) for p in parts]


class GuestNameForm(forms.Form):
    name = forms.CharField(max_length=80, label="Your name")
    password = forms.CharField(
        required=False, max_length=128, widget=forms.PasswordInput, label="The link's password"
    )

    def __init__(self, *args, needs_password: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_password = needs_password
        if not needs_password:
            del self.fields["password"]


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        max_length=500,
        label="URL",
        help_text="Where the studio POSTs each event (https, to a public address).",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/studio-hooks"}),
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(max_length=100, required=False, label="Description (optional)")
