"""How the studio shows what people wrote: a comment's @mentions stand out."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from projects.services.notifications import MENTION

register = template.Library()


@register.filter(is_safe=True)
def with_mentions(body: str) -> SafeString:
    """The text escaped, line breaks kept, each @name marked (the members
    told of it are the ones the server found; a page does not ask again)."""
    escaped = escape(body)
    marked = MENTION.sub(lambda m: f'<span class="mention">{m[0]}</span>', escaped)
    return mark_safe(marked.replace("\n", "<br>"))
