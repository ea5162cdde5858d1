import pytest
from django.urls import reverse

from apps.policies.models import PolicyText
from apps.policies.selectors import policy_current_cache_refresh
from apps.policies.text import policy_clause_diff, policy_clauses, text_sha256
from tests.policies.factories import PolicyVersionFactory

pytestmark = pytest.mark.django_db

BODY = {
    "kk": "Құпиялылық\n\n1. ЖАЛПЫ ЕРЕЖЕЛЕР\n\n1.1. Бірінші тармақ.\n\n2.6. Келісімді қайтарып алу.",
    "ru": "1. ОБЩИЕ ПОЛОЖЕНИЯ\n\n1.1. Первый пункт.\n\n2.6. Отзыв согласия.",
    "en": "1. GENERAL PROVISIONS\n\n1.1. First clause.\n\n2.6. Withdrawing consent.",
}


def make_version(number, languages=("kk", "ru", "en"), bodies=BODY, published=True):
    version = PolicyVersionFactory(number=number, texts=[])
    for language in languages:
        PolicyText.objects.create(
            version=version,
            language=language,
            title=f"Title {language} {number}",
            summary=f"Summary {language} {number}",
            body=bodies[language],
            body_sha256=text_sha256(bodies[language]),
        )
    if published:
        from apps.policies.services import policy_version_publish

        version = policy_version_publish(version=version, actor=None)
    return version


def get(client, url, language="kk"):
    client.cookies["alilo_language"] = language
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_current_page_shows_the_text_in_the_visitors_language(client, language):
    make_version(1)
    response = get(client, reverse("policies:current"), language)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Title {language} 1" in page
    assert f"Summary {language} 1" in page
    assert BODY[language].split("2.6. ")[1] in page
    assert 'id="2.6"' in page and 'href="#2.6"' in page
    assert 'id="1"' in page
    assert "Kazakh text is shown" not in page
    assert reverse("policies:archive") in page


def test_missing_language_falls_back_to_kazakh_with_a_note(client):
    make_version(1, languages=("kk",))
    page = get(client, reverse("policies:current"), "en").content.decode()
    assert "Title kk 1" in page
    assert "not available in your language" in page


def test_current_page_links_to_the_diff_with_the_previous_version_and_shows_the_deadline(client):
    make_version(1)
    version = make_version(2)
    page = get(client, reverse("policies:current"), "en").content.decode()
    assert reverse("policies:diff", args=[1, 2]) in page
    assert "Continued use counts as acceptance from" in page
    assert version.implicit_acceptance_at.strftime("%Y") in page


def test_version_pages_are_permanent_and_drafts_are_hidden(client):
    make_version(1)
    make_version(2)
    make_version(3, published=False)
    old = get(client, reverse("policies:version", args=[1]), "en")
    assert old.status_code == 200
    assert "no longer in force" in old.content.decode()
    assert get(client, reverse("policies:version", args=[3])).status_code == 404
    assert get(client, reverse("policies:version", args=[99])).status_code == 404
    assert get(client, "/privacy_policy/v/abc/").status_code == 404


def test_no_published_version_gives_a_clear_page(client):
    make_version(1, published=False)
    response = get(client, reverse("policies:current"), "en")
    assert response.status_code == 404
    assert "No version of the privacy policy has been published yet." in response.content.decode()


def test_archive_lists_published_versions_with_diff_links(client):
    make_version(1)
    make_version(2)
    make_version(3, published=False)
    page = get(client, reverse("policies:archive"), "en").content.decode()
    assert reverse("policies:version", args=[1]) in page
    assert reverse("policies:version", args=[2]) in page
    assert reverse("policies:version", args=[3]) not in page
    assert reverse("policies:diff", args=[1, 2]) in page


def test_policy_body_cannot_inject_html(client):
    hostile = {
        **BODY,
        "kk": '1. <script>alert(1)</script>\n\n1.1. <img src=x onerror="alert(2)"> & "quotes"'
        "\n\nplain <b>x</b>",
    }
    make_version(1, languages=("kk",), bodies=hostile)
    page = get(client, reverse("policies:current")).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; &quot;quotes&quot;" in page
    assert "<b>x</b>" not in page


def test_diff_marks_inserted_and_deleted_words(client):
    make_version(1)
    changed = {**BODY, "en": BODY["en"].replace("First clause.", "Revised first clause.")}
    make_version(2, bodies=changed)
    response = get(client, reverse("policies:diff", args=[1, 2]), "en")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<ins>Revised first</ins>" in page or "<ins>Revised</ins>" in page
    assert "<del>First</del>" in page
    assert "Summary en 2" in page


def test_diff_escapes_text_and_handles_identical_versions_and_unknown_numbers(client):
    hostile = {**BODY, "en": "1. <i>x</i>"}
    make_version(1, bodies=hostile)
    make_version(2, bodies={**hostile, "en": "1. <i>y</i>"})
    page = get(client, reverse("policies:diff", args=[1, 2]), "en").content.decode()
    assert "<i>" not in page.split('class="policy-diff"')[1]
    same = get(client, reverse("policies:diff", args=[1, 1]), "en").content.decode()
    assert "identical" in same
    assert get(client, reverse("policies:diff", args=[1, 7])).status_code == 404


def test_diff_compares_kazakh_when_a_language_is_missing(client):
    make_version(1, languages=("kk",))
    make_version(2, bodies={**BODY, "kk": BODY["kk"] + " Жаңа."})
    page = get(client, reverse("policies:diff", args=[1, 2]), "en").content.decode()
    assert "Kazakh texts are compared" in page
    assert "<ins>Жаңа.</ins>" in page or "<ins> Жаңа.</ins>" in page


def test_nav_and_home_link_to_the_policy(client):
    page = get(client, reverse("home"), "en").content.decode()
    assert page.count(reverse("policies:current")) >= 2


def test_shipped_text_is_split_into_numbered_clauses():
    from pathlib import Path

    import apps.policies

    body = (Path(apps.policies.__file__).parent / "data" / "privacy_policy_kk.txt").read_text()
    clauses = policy_clauses(body=body)
    numbers = [c.number for c in clauses if c.number]
    assert {"1", "1.2", "2.6", "3.3", "4"} <= set(numbers)
    assert len(numbers) == len(set(numbers))
    assert next(c for c in clauses if c.number == "1").kind == "section"
    assert next(c for c in clauses if c.number == "2.6").kind == "clause"


def test_diff_shows_changed_and_added_clauses_and_folds_unchanged_ones(client):
    old = "1. A\n\n1.1. One two three.\n\n1.2. Same.\n\n1.3. Same too.\n\n2.6. Old clause."
    new = "1. A\n\n1.1. One 2 three.\n\n1.2. Same.\n\n1.3. Same too.\n\n2.6. Old clause.\n\n2.7. New clause."
    blocks = policy_clause_diff(old=old, new=new)
    assert [(b.status, b.number, b.unchanged) for b in blocks] == [
        ("unchanged", "", 1),
        ("changed", "1.1", 0),
        ("unchanged", "", 3),
        ("added", "2.7", 0),
    ]
    assert [(p.op, p.text) for p in blocks[1].parts] == [
        ("equal", "One "),
        ("delete", "two"),
        ("insert", "2"),
        ("equal", " three."),
    ]
    removed = policy_clause_diff(old=new, new=old)
    assert removed[-1].status == "removed" and removed[-1].number == "2.7"

    make_version(1, bodies={**BODY, "en": old})
    make_version(2, bodies={**BODY, "en": new})
    page = get(client, reverse("policies:diff", args=[1, 2]), "en").content.decode()
    assert f'href="{reverse("policies:version", args=[2])}#2.7"' in page
    assert "3 unchanged clauses" in page
    assert "Same too." not in page


def test_current_page_is_served_from_the_cache_without_queries(client, django_assert_num_queries):
    make_version(1)
    first = get(client, reverse("policies:current"), "en").content.decode()
    with django_assert_num_queries(0):
        again = get(client, reverse("policies:current"), "en").content.decode()
    article = first[first.index('<article class="policy">') : first.index("</article>")]
    assert article in again and "Title en 1" in again and 'id="2.6"' in again


def test_current_page_shows_a_newly_published_version_at_once(client):
    make_version(1)
    assert "Title kk 1" in get(client, reverse("policies:current")).content.decode()
    make_version(2, bodies={**BODY, "kk": BODY["kk"] + "\n\n2.7. Жаңа тармақ."})
    policy_current_cache_refresh()  # what publishing does once its transaction commits
    page = get(client, reverse("policies:current")).content.decode()
    assert "Title kk 2" in page and "Жаңа тармақ" in page and "Title kk 1" not in page
