"""The GitHub fake works with real PyGithub: state, pagination, recording, failure injection."""

from __future__ import annotations

import gc
import socket
import threading
import warnings
from collections.abc import Iterator

import github
import pytest
import requests

from ..fakegh import SECONDARY_RATE_LIMIT_MESSAGE, FakeGitHub

SHA = "a" * 40
OTHER_SHA = "b" * 40


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """A started fake, stopped after the test."""
    with FakeGitHub() as server:
        yield server


@pytest.fixture
def gh(fake: FakeGitHub) -> Iterator[github.Github]:
    """A PyGithub client on the fake: no throttling, no retries."""
    with fake.client() as client:
        yield client


@pytest.fixture
def repo(gh: github.Github) -> github.Repository.Repository:
    """The fake's repository, fetched through PyGithub."""
    return gh.get_repo("octo/lab")


def _get(url: str, **params: str) -> requests.Response:
    """A plain GET, with the session closed afterwards."""
    with requests.Session() as session:
        return session.get(url, params=params, timeout=5)


def test_repository_object(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    assert repo.full_name == "octo/lab"
    assert repo.owner.login == "octo"
    assert repo.default_branch == "main"
    assert repo.url == f"{fake.url}/repos/octo/lab"
    assert [c.path for c in fake.calls] == ["/repos/octo/lab"]


def test_comments_paginate_create_and_edit(
    fake: FakeGitHub, repo: github.Repository.Repository
) -> None:
    fake.add_pull(7, head_sha=SHA)
    for i in range(74):
        fake.add_comment(7, f"old {i}", user="alice")
    issue = repo.get_issue(7)
    created = issue.create_comment("fresh")
    assert created.user.login == "github-actions[bot]"
    assert created.user.type == "Bot"

    fake.clear_calls()
    seen = list(issue.get_comments())
    assert len(seen) == 75
    assert [c.body for c in seen[:2]] == ["old 0", "old 1"]
    assert seen[-1].id == created.id
    pages = [c.query.get("page") for c in fake.find_calls("GET", r"/issues/7/comments$")]
    assert pages == [None, "2", "3"]

    seen[-1].edit("edited")
    assert seen[-1].body == "edited"
    assert fake.comments(7)[-1]["body"] == "edited"
    assert issue.get_comment(created.id).body == "edited"


def test_total_count_and_client_page_size(fake: FakeGitHub) -> None:
    fake.add_issue(3)
    for i in range(75):
        fake.add_comment(3, f"c{i}", user="bob")
    with fake.client(per_page=50) as client:
        comments = client.get_repo("octo/lab").get_issue(3).get_comments()
        assert comments.totalCount == 75
        assert len(list(comments)) == 75
    queries = [c.query for c in fake.find_calls("GET", r"/issues/3/comments$")]
    assert queries[0] == {"per_page": "1"}  # totalCount reads page= of rel="last"
    assert [q.get("page") for q in queries[1:]] == [None, "2"]
    assert {q.get("per_page") for q in queries[1:]} == {"50"}


def test_link_header_is_github_shaped(fake: FakeGitHub) -> None:
    fake.add_issue(1)
    for i in range(75):
        fake.add_comment(1, str(i), user="alice")
    base = f"{fake.url}/repos/octo/lab/issues/1/comments"
    response = _get(base, page="2")
    assert response.status_code == 200
    assert [c["body"] for c in response.json()] == [str(i) for i in range(30, 60)]
    assert response.headers["Link"] == (
        f'<{base}?page=1>; rel="prev", <{base}?page=1>; rel="first", '
        f'<{base}?page=3>; rel="next", <{base}?page=3>; rel="last"'
    )
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    for name in ("Limit", "Remaining", "Reset", "Used", "Resource"):
        assert f"X-RateLimit-{name}" in response.headers
    assert "Link" not in _get(base, per_page="100").headers


def test_reactions(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_issue(2)
    comment_id = fake.add_comment(2, "/ttfb compare", user="alice")["id"]
    comment = repo.get_issue(2).get_comment(comment_id)
    first = comment.create_reaction("eyes")
    again = comment.create_reaction("eyes")
    assert first.id == again.id
    assert first.content == "eyes"
    assert [c.status for c in fake.find_calls("POST", "/reactions$")] == [201, 200]
    assert [r["content"] for r in fake.reactions(comment_id)] == ["eyes"]
    assert fake.comments(2)[0]["reactions"]["eyes"] == 1
    with pytest.raises(github.GithubException) as info:
        comment.create_reaction("nope")
    assert info.value.status == 422


def test_collaborator_permission(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_user("ada", permission="admin")
    fake.add_user("max", permission="maintain")
    fake.add_user("tia", permission="triage")
    assert repo.get_collaborator_permission("ada") == "admin"
    assert repo.get_collaborator_permission("max") == "write"  # GitHub's legacy field
    assert repo.get_collaborator_role_name("max") == "maintain"
    assert repo.get_collaborator_permission("tia") == "read"
    assert repo.get_collaborator_permission("stranger") == "none"
    assert repo.get_collaborator_permission("github-actions[bot]") == "none"
    assert fake.calls[-1].path == "/repos/octo/lab/collaborators/github-actions[bot]/permission"


def test_statuses(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_commit(SHA)
    commit = repo.get_commit(SHA)
    commit.create_status("pending", context="ttfb", description="measuring")
    made = commit.create_status(
        "success", target_url="https://example.test/run", description="ok", context="ttfb"
    )
    commit.create_status("failure", context="lint")
    assert made.state == "success"
    assert made.creator.login == "github-actions[bot]"
    assert [s["state"] for s in fake.statuses(SHA)] == ["pending", "success", "failure"]
    assert [s.state for s in commit.get_statuses()] == ["failure", "success", "pending"]
    combined = commit.get_combined_status()
    assert combined.state == "failure"
    assert {s.context: s.state for s in combined.statuses} == {"ttfb": "success", "lint": "failure"}
    with pytest.raises(github.GithubException) as info:
        commit.create_status("success", description="x" * 141)
    assert info.value.status == 422
    with pytest.raises(github.GithubException) as info:
        repo.get_commit(OTHER_SHA)
    assert info.value.status == 422


def test_check_runs(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_commit(SHA)
    run = repo.create_check_run("ttfb", SHA, status="in_progress")
    assert run.status == "in_progress"
    run.edit(conclusion="success", output={"title": "TTFB", "summary": "fine"})
    assert (run.status, run.conclusion, run.output.title) == ("completed", "success", "TTFB")
    assert [(r["name"], r["conclusion"]) for r in fake.check_runs()] == [("ttfb", "success")]
    assert [r.id for r in repo.get_commit(SHA).get_check_runs()] == [run.id]


def test_workflow_dispatch(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_workflow("ttfb-pr.yml", id=42)
    workflow = repo.get_workflow("ttfb-pr.yml")
    assert workflow.create_dispatch("main", {"a": "b"}) is True
    assert fake.dispatches == [
        {"workflow_id": 42, "workflow": "ttfb-pr.yml", "ref": "main", "inputs": {"a": "b"}}
    ]
    # PyGithub fetches the workflow and then posts to its url, which names it by id
    get, post = fake.calls[-2:]
    assert (get.method, get.path) == ("GET", "/repos/octo/lab/actions/workflows/ttfb-pr.yml")
    assert (post.method, post.path) == ("POST", "/repos/octo/lab/actions/workflows/42/dispatches")
    assert post.status == 204
    assert post.body == {"ref": "main", "inputs": {"a": "b"}}
    assert (workflow.id, workflow.path, workflow.state) == (
        42,
        ".github/workflows/ttfb-pr.yml",
        "active",
    )
    assert repo.get_workflow(42).name == "ttfb-pr"
    with pytest.raises(github.UnknownObjectException):
        repo.get_workflow("missing.yml")


def test_pull_lookups(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_pull(1, head_sha=SHA, head_ref="feature")
    fake.add_pull(2, head_sha=OTHER_SHA, head_ref="feature", head_owner="forker", user="eve")
    fake.add_pull(3, head_sha="c" * 40, head_ref="old", state="closed")
    fake.add_commit("d" * 40, pulls=(3,))

    pull = repo.get_pull(2)
    assert (pull.head.label, pull.head.repo.full_name, pull.base.ref) == (
        "forker:feature",
        "forker/lab",
        "main",
    )
    assert pull.user.login == "eve"
    assert [p.number for p in repo.get_pulls(head="octo:feature")] == [1]
    assert [p.number for p in repo.get_pulls(head="forker:feature")] == [2]
    assert [p.number for p in repo.get_pulls()] == [2, 1]
    assert [p.number for p in repo.get_pulls(state="all", base="main")] == [3, 2, 1]
    assert [p.number for p in repo.get_pulls(state="closed")] == [3]
    assert [p.number for p in repo.get_commit(SHA).get_pulls()] == [1]
    assert [p.number for p in repo.get_commit("d" * 40).get_pulls()] == [3]
    assert repo.get_issue(1).pull_request is not None
    with pytest.raises(github.UnknownObjectException):
        repo.get_pull(99)


def test_issues(fake: FakeGitHub, gh: github.Github, repo: github.Repository.Repository) -> None:
    fake.add_issue(1, title="old", user="alice")
    fake.add_pull(2, head_sha=SHA)
    made = repo.create_issue("TTFB regression", body="slower", labels=["ttfb", "perf"])
    assert made.number == 3
    assert [label.name for label in made.labels] == ["ttfb", "perf"]
    assert made.user.login == "github-actions[bot]"
    assert [i.number for i in repo.get_issues()] == [3, 2, 1]
    assert [i.number for i in repo.get_issues(labels=["ttfb"])] == [3]
    assert [i.number for i in repo.get_issues(creator=gh.get_user("alice"), direction="asc")] == [
        1,
        2,
    ]
    assert [i["title"] for i in fake.issues] == ["old", "TTFB regression"]
    with pytest.raises(github.GithubException) as info:
        repo.create_issue("")
    assert info.value.status == 422


def test_issue_list_paginates(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    for number in range(1, 36):
        fake.add_issue(number)
    assert [i.number for i in repo.get_issues()] == list(range(35, 0, -1))
    assert len(fake.find_calls("GET", "/issues$")) == 2


def test_objects_arrive_complete(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_pull(5, head_sha=SHA)
    fake.add_comment(5, "hello", user="alice")
    fake.clear_calls()
    comment = next(iter(repo.get_issue(5).get_comments()))
    pull = repo.get_pull(5)
    fetched = len(fake.calls)
    assert None not in (comment.html_url, comment.created_at, comment.updated_at)
    assert comment.author_association == "NONE"
    assert (pull.head.sha, pull.mergeable_state, pull.merged, pull.draft) == (
        SHA,
        "unknown",
        False,
        False,
    )
    assert None not in (pull.created_at, pull.updated_at, pull.html_url, pull.issue_url)
    assert len(fake.calls) == fetched


def test_user_endpoint(fake: FakeGitHub, gh: github.Github) -> None:
    with pytest.raises(github.GithubException) as info:
        _ = gh.get_user().login
    assert info.value.status == 403
    assert info.value.data["message"] == "Resource not accessible by integration"
    with FakeGitHub(user_endpoint=True) as other, other.client() as client:
        assert client.get_user().login == "github-actions[bot]"


def test_unknown_paths_are_404_and_recorded(fake: FakeGitHub, gh: github.Github) -> None:
    assert _get(f"{fake.url}/repos/octo/lab/nothing/here").json()["message"] == "Not Found"
    with pytest.raises(github.UnknownObjectException):
        gh.get_repo("someone/else")
    assert [(c.path, c.status) for c in fake.calls] == [
        ("/repos/octo/lab/nothing/here", 404),
        ("/repos/someone/else", 404),
    ]


def test_calls_record_auth_and_rate_limit(
    fake: FakeGitHub, repo: github.Repository.Repository
) -> None:
    fake.add_issue(4)
    repo.get_issue(4).create_comment("hi")
    call = fake.calls[-1]
    assert (call.method, call.path, call.status) == (
        "POST",
        "/repos/octo/lab/issues/4/comments",
        201,
    )
    assert call.body == {"body": "hi"}
    assert call.authorization == "token t"
    assert call.query == {}
    assert repo.requester.rate_limiting[1] == 5000


def test_fail_next_surfaces_without_retry(
    fake: FakeGitHub, repo: github.Repository.Repository
) -> None:
    fake.add_pull(1, head_sha=SHA)
    fake.fail_next("GET", r"/pulls/1$")
    with pytest.raises(github.GithubException) as info:
        repo.get_pull(1)
    assert info.value.status == 502
    assert repo.get_pull(1).number == 1  # only the next matching request fails
    assert [c.status for c in fake.find_calls("GET", "/pulls/1$")] == [502, 200]


def test_fail_next_after_the_write_landed(
    fake: FakeGitHub, repo: github.Repository.Repository
) -> None:
    fake.add_issue(1)
    issue = repo.get_issue(1)
    fake.fail_next("POST", "/comments$", status=504, apply_first=True, body="<html>timeout</html>")
    with pytest.raises(github.GithubException) as info:
        issue.create_comment("once")
    assert info.value.status == 504
    assert [c["body"] for c in fake.comments(1)] == ["once"]


def test_github_retry_hides_one_502(fake: FakeGitHub) -> None:
    fake.add_pull(1, head_sha=SHA)
    fake.fail_next("GET", r"/pulls/1$")
    fake.fail_next("POST", r"/issues/1/comments$", status=503)
    retry = github.GithubRetry(total=3, backoff_factor=0.01)
    with fake.client(retry=retry) as client:
        repo = client.get_repo("octo/lab")
        assert repo.get_pull(1).number == 1
        repo.get_issue(1).create_comment("posted")  # GithubRetry retries POST too
    assert [c.status for c in fake.find_calls("*", "/pulls/1$|/comments$")] == [502, 200, 503, 201]
    assert len(fake.comments(1)) == 1


def test_github_retry_exhausted_raises_requests_error(fake: FakeGitHub) -> None:
    fake.add_pull(1, head_sha=SHA)
    fake.fail_next("GET", r"/pulls/1$", times=10)
    with fake.client(retry=github.GithubRetry(total=2, backoff_factor=0.01)) as client:
        repo = client.get_repo("octo/lab")
        with pytest.raises(requests.exceptions.RetryError):
            repo.get_pull(1)
    assert len(fake.find_calls("GET", r"/pulls/1$")) == 3


def test_secondary_rate_limit(fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.add_issue(1)
    sleeps: list[float] = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", sleeps.append)
    fake.rate_limit_next("POST", "/comments$", retry_after=1)
    fake.rate_limit_next("POST", "/comments$", retry_after=None)
    retry = github.GithubRetry(total=3, backoff_factor=0.01, secondary_rate_wait=7)
    with fake.client(retry=retry) as client:
        client.get_repo("octo/lab").get_issue(1).create_comment("eventually")
    # Retry-After wins when sent; otherwise GithubRetry reads the message and waits
    # secondary_rate_wait (60 s unless given).
    assert sleeps == [1, 7]
    assert [c.status for c in fake.find_calls("POST", "/comments$")] == [403, 403, 201]

    fake.rate_limit_next("POST", "/comments$")
    with fake.client() as client, pytest.raises(github.RateLimitExceededException) as info:
        client.get_repo("octo/lab").get_issue(1).create_comment("no retry")
    assert info.value.data["message"] == SECONDARY_RATE_LIMIT_MESSAGE
    assert info.value.headers is not None
    assert info.value.headers["retry-after"] == "1"


def test_two_clients_race(fake: FakeGitHub) -> None:
    fake.add_issue(1)
    errors: list[BaseException] = []

    def post(tag: str) -> None:
        try:
            with fake.client() as client:
                issue = client.get_repo("octo/lab").get_issue(1)
                for i in range(10):
                    issue.create_comment(f"{tag}{i}")
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=post, args=(tag,)) for tag in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    comments = fake.comments(1)
    assert len(comments) == 20
    assert len({c["id"] for c in comments}) == 20


def test_stop_is_clean() -> None:
    before = set(threading.enumerate())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fake = FakeGitHub().start()
        fake.add_issue(1)
        url = fake.url
        with fake.client() as client:
            client.get_repo("octo/lab").get_issue(1).create_comment("x")
        fake.stop()
        fake.stop()
        gc.collect()
    assert [w for w in seen if issubclass(w.category, ResourceWarning)] == []
    assert set(threading.enumerate()) <= before
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    with pytest.raises(RuntimeError):
        _ = fake.url
