"""The GitHub adapter with real PyGithub against the local fake REST server."""

from __future__ import annotations

import threading
import time

import pytest

from bot.errors import GitHubError
from bot.gh import api as github

from ..fakegh import FakeGitHub

MARKER = "<!-- ttfb-lab:report -->"


@pytest.fixture
def fake():
    with FakeGitHub(owner="octo", repo="lab") as server:
        server.add_pull(5, head_sha="a" * 40, user="alice")
        yield server


def api(fake: FakeGitHub, **kw) -> github.GitHubAPI:
    gh = github.connect("t", base_url=fake.url, throttle=False, backoff_s=0.01, **kw)
    return github.GitHubAPI(gh, "octo/lab")


def test_first_run_creates_second_edits_the_same_comment(fake):
    a = api(fake)
    first_id, created = a.upsert_comment(5, f"{MARKER}\nrun 1", marker=MARKER)
    assert created
    second_id, created = a.upsert_comment(5, f"{MARKER}\nrun 2", marker=MARKER)
    assert not created and second_id == first_id
    (only,) = fake.comments(5)
    assert only["body"].endswith("run 2") and only["user"]["login"] == "github-actions[bot]"
    assert len(fake.find_calls("POST", r"/issues/5/comments$")) == 1
    assert len(fake.find_calls("PATCH", r"/issues/comments/")) == 1


def test_unchanged_body_is_not_rewritten(fake):
    a = api(fake)
    a.upsert_comment(5, f"{MARKER}\nsame", marker=MARKER)
    a.upsert_comment(5, f"{MARKER}\nsame", marker=MARKER)
    assert fake.find_calls("PATCH", r"/issues/comments/") == []


def test_marker_in_someone_elses_comment_is_not_touched(fake):
    theirs = fake.add_comment(5, f"quoting the bot: {MARKER}", user="mallory")
    a = api(fake)
    a.upsert_comment(5, f"{MARKER}\nreport", marker=MARKER)
    bodies = {c["user"]["login"]: c["body"] for c in fake.comments(5)}
    assert bodies["mallory"] == theirs["body"]
    assert bodies["github-actions[bot]"].endswith("report")


def test_two_racing_runs_leave_one_comment(fake):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            a = api(fake)
            a._ours(5, MARKER)  # warm up the connection and repo object
            barrier.wait()
            a.upsert_comment(5, f"{MARKER}\nrun {n}", marker=MARKER)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ours = [c for c in fake.comments(5) if MARKER in c["body"]]
    assert len(ours) == 1


def test_502_then_success_is_retried(fake):
    fake.fail_next("GET", r"/collaborators/bob/permission", status=502)
    fake.add_user("bob", permission="write")
    assert api(fake).can_write("bob")
    assert [c.status for c in fake.find_calls("GET", r"/collaborators/bob")] == [502, 200]


def test_persistent_5xx_is_a_one_line_error(fake):
    fake.fail_next("GET", r"/pulls/5$", status=503, times=10)
    with pytest.raises(GitHubError) as info:
        api(fake, retries=2).pull(5)
    assert str(info.value).startswith("GitHub API: GET pull #5:")
    assert "\n" not in str(info.value)


def test_secondary_rate_limit_retried_within_the_bound(fake):
    fake.rate_limit_next("GET", r"/pulls/5$", retry_after=1)
    started = time.monotonic()
    assert api(fake, max_wait_s=5).pull(5).head_sha == "a" * 40
    assert 0.9 < time.monotonic() - started < 5


def test_rate_limit_longer_than_the_bound_is_refused_not_slept(fake):
    fake.rate_limit_next("GET", r"/pulls/5$", retry_after=3600)
    started = time.monotonic()
    with pytest.raises(GitHubError, match="rate limited"):
        api(fake, max_wait_s=5).pull(5)
    assert time.monotonic() - started < 3


def test_permission_levels_use_the_role_not_the_legacy_field(fake):
    """The legacy ``permission`` field reads triage as read: the role name tells them apart."""
    for login, role in (("writer", "write"), ("maint", "maintain"), ("tri", "triage")):
        fake.add_user(login, permission=role)
    fake.add_user("reader", permission="read")
    a = api(fake)
    assert a.can_write("writer") and a.can_write("maint")
    assert not a.can_write("reader") and not a.can_write("stranger") and not a.can_write("tri")
    assert a.can_triage("tri") and a.can_triage("maint")
    assert not a.can_triage("reader") and not a.can_triage("stranger")
    assert a.role("tri") == "triage" and a.role("stranger") == "none"


def test_status_dispatch_reaction_and_lookups(fake):
    fake.add_workflow("ttfb-pr.yml", id=42)
    fake.add_commit("b" * 40, pulls=(5,), author="carol")
    a = api(fake)
    a.set_status("a" * 40, state="failure", context=github.STATUS_PR, description="x" * 300)
    (status,) = fake.statuses("a" * 40)
    assert status["context"] == "ttfb/pr" and status["state"] == "failure"
    assert len(status["description"]) <= 140
    a.dispatch("ttfb-pr.yml", ref="main", inputs={"pr": "5"})
    assert fake.dispatches[0]["ref"] == "main" and fake.dispatches[0]["inputs"] == {"pr": "5"}
    comment = fake.add_comment(5, "/ttfb rerun", user="alice")
    a.react(5, comment["id"], "eyes")
    assert [r["content"] for r in fake.reactions(comment["id"])] == ["eyes"]
    assert a.pulls_for_commit("b" * 40) == [5]
    assert a.commit_author("b" * 40) == "carol"
    assert a.pull(5).author == "alice"


def test_the_open_pull_for_a_head_must_match_sha_repository_and_state(fake):
    fake.add_pull(9, head_sha="c" * 40, head_ref="fix", head_owner="forker")
    fake.add_pull(10, head_sha="d" * 40, head_ref="gone", head_owner="forker", state="closed")
    a = api(fake)
    found = a.open_pull_for_head(head_sha="c" * 40, head_repo="forker/lab", head_branch="fix")
    assert found is not None and found.number == 9 and found.head_repo == "forker/lab"
    # the same commit claimed from another repository, another sha, or a closed PR: none
    assert a.open_pull_for_head(head_sha="c" * 40, head_repo="octo/lab", head_branch="fix") is None
    assert (
        a.open_pull_for_head(head_sha="e" * 40, head_repo="forker/lab", head_branch="fix") is None
    )
    assert (
        a.open_pull_for_head(head_sha="d" * 40, head_repo="forker/lab", head_branch="gone") is None
    )


def test_bot_login_falls_back_when_user_endpoint_is_forbidden(fake):
    assert api(fake).bot_login == "github-actions[bot]"


def test_issue_opened_once(fake):
    a = api(fake)
    n1, created1 = a.open_issue_once(title="t", body=f"{MARKER}\nx", marker=MARKER)
    n2, created2 = a.open_issue_once(title="t", body=f"{MARKER}\ny", marker=MARKER)
    assert created1 and not created2 and n1 == n2
    assert len(fake.issues) == 1


def test_dry_run_writes_nothing(fake, capsys):
    gh = github.connect("t", base_url=fake.url, throttle=False)
    a = github.GitHubAPI(gh, "octo/lab", dry_run=True)
    a.upsert_comment(5, f"{MARKER}\nx", marker=MARKER)
    a.set_status("a" * 40, state="success", context="ttfb/pr", description="ok")
    assert fake.comments(5) == [] and fake.statuses("a" * 40) == []
    err = capsys.readouterr().err
    assert "dry-run: would POST comment on #5" in err and "would POST status ttfb/pr" in err


def test_missing_environment_is_a_clear_error():
    with pytest.raises(GitHubError, match="GITHUB_REPOSITORY"):
        github.from_environment({})
    with pytest.raises(GitHubError, match="GITHUB_TOKEN"):
        github.from_environment({"GITHUB_REPOSITORY": "o/r"})
