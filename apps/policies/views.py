from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language

from .models import PolicyVersion
from .selectors import (
    policy_clause_diff,
    policy_text_for,
    policy_texts_for_diff,
    policy_version_current,
    policy_version_previous,
    policy_version_published_get,
    policy_versions_published,
)


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


def current(request: HttpRequest) -> HttpResponse:
    version = policy_version_current()
    if version is None:
        return render(request, "policies/version.html", {"version": None}, status=404)
    return render(
        request,
        "policies/version.html",
        {**version_page_context(version=version, language=get_language()), "is_current": True},
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
