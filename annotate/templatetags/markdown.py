"""`{{ text|markdown }}`: prompts and model responses as sanitised HTML.

Model output and imported prompts are untrusted. markdown-it never passes raw HTML through (`html` off), and nh3
then keeps only an allow-list of tags, so a response can format text but never run script or load anything. Links
open in a new tab (the task stays where it was) with rel=noopener, so the opened page cannot reach back.
"""

import nh3
from django import template
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

register = template.Library()

_parser = MarkdownIt("commonmark", {"html": False}).enable("table")

ALLOWED_TAGS = {
    "p", "pre", "code", "table", "thead", "tbody", "tr", "th", "td", "ul", "ol", "li", "em", "strong", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "br", "hr",
}
LINK_SCHEMES = ("http://", "https://", "mailto:")


def _keep_safe_links(tag: str, attribute: str, value: str) -> str | None:
    # nh3 lets relative URLs through; only absolute web and mail links may stay.
    if tag == "a" and attribute == "href" and not value.strip().lower().startswith(LINK_SCHEMES):
        return None
    return value


def markdown_to_html(text: str) -> str:
    return nh3.clean(
        _parser.render(text or ""),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        attribute_filter=_keep_safe_links,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


@register.filter(name="markdown")
def markdown(text: str) -> str:
    return mark_safe(markdown_to_html(text))  # sanitised by nh3 above
