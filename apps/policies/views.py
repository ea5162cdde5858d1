from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from .models import PolicyVersion
from .selectors import (
    CurrentPolicy,
    policy_current_cached,
    policy_text_for,
    policy_texts_for_diff,
    policy_version_current,
    policy_version_previous,
    policy_version_published_get,
    policy_versions_published,
)
from .text import policy_clause_diff


def version_page_context(*, version: PolicyVersion, language: str, preview: bool = False) -> dict:
    """Return what the policy page shows; the admin preview uses it too, so both look the same."""
    text, fell_back = policy_text_for(version=version, language=language)
    previous = policy_version_previous(version=version) if version.is_published else None
    return {
        "version": version,
        "text": text,
        "fell_back": fell_back,
        "previous": previous,
        "preview": preview,
    }


ARTICLE_CACHE_SECONDS = 60 * 60 * 24
# The articles this process rendered or read lately, by cache key (their content never changes).
_articles: dict[str, dict] = {}
ARTICLES_KEPT = 16


def _current_article(current: CurrentPolicy, language: str) -> dict:
    """The rendered text of the version in force in `language`, cached: a published text never changes.

    The key names the version and its publication moment, the language and the portal's release (whose
    translations the page uses), so a new version or a new release is rendered afresh. Besides the shared
    cache, each process keeps the few articles it served last.
    """
    key = (
        f"policies:article:v1:{current.id}:{current.published_at.timestamp():.6f}:{language}:"
        f"{settings.PORTAL_VERSION}"
    )
    article = _articles.get(key)
    if article is not None:
        return article
    article = cache.get(key)
    if article is None:
        version = PolicyVersion.objects.prefetch_related("texts").get(pk=current.id)
        context = {**version_page_context(version=version, language=language), "is_current": True}
        text = context["text"]
        article = {
            "title": text.title if text else "",
            "html": render_to_string("policies/_article.html", context),
        }
        cache.set(key, article, timeout=ARTICLE_CACHE_SECONDS)
    if len(_articles) >= ARTICLES_KEPT:
        _articles.clear()
    _articles[key] = article
    return article


def current(request: HttpRequest) -> HttpResponse:
    """The version in force: two cache reads in the steady state, no query and no rendering of the text."""
    in_force = policy_current_cached()
    if in_force is None:
        return render(request, "policies/version.html", {"version": None}, status=404)
    article = _current_article(in_force, get_language())
    return render(
        request,
        "policies/version.html",
        {"version": in_force, "title": article["title"], "article_html": mark_safe(article["html"])},  # noqa: S308
    )


def version(request: HttpRequest, number: int) -> HttpResponse:
    found = policy_version_published_get(number=number)
    if found is None:
        raise Http404
    current_version = policy_version_current()
    return render(
        request,
        "policies/version.html",
        {
            **version_page_context(version=found, language=get_language()),
            "is_current": current_version is not None and current_version.pk == found.pk,
            "current_version": current_version,
        },
    )


def archive(request: HttpRequest) -> HttpResponse:
    versions = list(policy_versions_published())
    rows = [
        (version, versions[index + 1] if index + 1 < len(versions) else None)
        for index, version in enumerate(versions)
    ]
    return render(request, "policies/archive.html", {"rows": rows})


def diff(request: HttpRequest, a: int, b: int) -> HttpResponse:
    old = policy_version_published_get(number=a)
    new = policy_version_published_get(number=b)
    if old is None or new is None:
        raise Http404
    old_text, new_text, fell_back = policy_texts_for_diff(old=old, new=new, language=get_language())
    blocks = policy_clause_diff(old=old_text.body if old_text else "", new=new_text.body if new_text else "")
    return render(
        request,
        "policies/diff.html",
        {
            "old": old,
            "new": new,
            "old_text": old_text,
            "new_text": new_text,
            "blocks": blocks,
            "clause_link": reverse("policies:version", args=[new.number]),
            "changed": any(block.status != "unchanged" for block in blocks),
            "fell_back": fell_back,
            "versions": policy_versions_published(),
        },
    )
