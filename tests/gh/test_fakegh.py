"""The GitHub fake works with real PyGithub: state, pagination, recording, failure injection."""

from __future__ import annotations

import gc
import hashlib
import io
import socket
import threading
import warnings
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone

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


def _download(url: str) -> requests.Response:
    """GET an artifact's archive_download_url with a token, following redirects like a bot."""
    with requests.Session() as session:
        return session.get(url, headers={"Authorization": "token t"}, timeout=5)


def _members(payload: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_workflow_runs_filter_newest_first(
    fake: FakeGitHub, repo: github.Repository.Repository
) -> None:
    fake.add_workflow("ttfb-pr.yml", id=42)
    fake.add_workflow("ttfb-report.yml", id=43)
    fake.add_run(501, head_sha=SHA, created_at="2024-05-01T10:00:00Z")
    fake.add_run(502, head_sha=SHA, status="in_progress", created_at="2024-05-01T12:00:00Z")
    fake.add_run(503, head_sha=OTHER_SHA, conclusion="failure", created_at="2024-05-01T11:00:00Z")
    fake.add_run(
        504, head_sha=SHA, event="push", head_branch="main", created_at="2024-05-01T09:00:00Z"
    )
    fake.add_run(
        505,
        workflow="ttfb-report.yml",
        head_sha=SHA,
        event="workflow_run",
        created_at="2024-05-01T13:00:00Z",
    )
    workflow = repo.get_workflow("ttfb-pr.yml")
    assert [r.id for r in workflow.get_runs()] == [502, 503, 501, 504]
    assert [r.id for r in workflow.get_runs(head_sha=SHA, event="pull_request")] == [502, 501]
    assert fake.calls[-1].path == "/repos/octo/lab/actions/workflows/42/runs"
    assert fake.calls[-1].query == {"head_sha": SHA, "event": "pull_request"}
    assert [r.id for r in repo.get_workflow_runs()] == [505, 502, 503, 501, 504]
    assert [r.id for r in repo.get_workflow_runs(status="completed")] == [505, 503, 501, 504]
    assert [r.id for r in repo.get_workflow_runs(status="failure")] == [503]  # a conclusion
    assert [r.id for r in repo.get_workflow_runs(status="in_progress")] == [502]
    assert [r.id for r in repo.get_workflow_runs(branch="main")] == [504]
    assert [r.id for r in repo.get_workflow_runs(event="workflow_run")] == [505]
    assert [r.conclusion for r in workflow.get_runs(head_sha=SHA)] == [None, "success", "success"]
    assert workflow.get_runs(head_sha=OTHER_SHA).totalCount == 1
    assert list(workflow.get_runs(head_sha="c" * 40)) == []
    assert _get(f"{fake.url}/repos/octo/lab/actions/workflows/missing.yml/runs").status_code == 404


def test_workflow_runs_paginate(fake: FakeGitHub) -> None:
    fake.add_workflow("ttfb-pr.yml")
    for i in range(5):
        fake.add_run(800 + i, head_sha=SHA, created_at=f"2024-05-01T10:0{i}:00Z")
    fake.add_run(899, head_sha=OTHER_SHA)
    with fake.client(per_page=2) as client:
        runs = client.get_repo("octo/lab").get_workflow_runs(head_sha=SHA)
        assert [r.id for r in runs] == [804, 803, 802, 801, 800]
    calls = fake.find_calls("GET", "/actions/runs$")
    assert [c.query.get("page") for c in calls] == [None, "2", "3"]
    assert {c.query["head_sha"] for c in calls} == {SHA}
    base = f"{fake.url}/repos/octo/lab/actions/runs"
    response = _get(base, per_page="2", page="2")
    body = response.json()
    assert body["total_count"] == 6
    assert [r["id"] for r in body["workflow_runs"]] == [803, 802]
    assert response.headers["Link"] == (
        f'<{base}?per_page=2&page=1>; rel="prev", <{base}?per_page=2&page=1>; rel="first", '
        f'<{base}?per_page=2&page=3>; rel="next", <{base}?per_page=2&page=3>; rel="last"'
    )


def test_workflow_run_arrives_complete(
    fake: FakeGitHub, repo: github.Repository.Repository
) -> None:
    fake.add_workflow("ttfb-pr.yml", id=42)
    fake.add_pull(7, head_sha=SHA, head_ref="speedup", title="Faster TTFB")
    fake.add_run(601, head_sha=SHA, head_branch="speedup", pull_requests=(7,))
    fake.clear_calls()
    run = repo.get_workflow_run(601)
    assert (run.name, run.workflow_id, run.head_sha, run.head_branch, run.event) == (
        "ttfb-pr",
        42,
        SHA,
        "speedup",
        "pull_request",
    )
    assert (run.status, run.conclusion, run.run_number, run.run_attempt) == (
        "completed",
        "success",
        1,
        1,
    )
    assert run.url == f"{fake.url}/repos/octo/lab/actions/runs/601"
    assert run.html_url == f"{fake.url}/octo/lab/actions/runs/601"
    assert (run.artifacts_url, run.rerun_url, run.jobs_url, run.logs_url) == (
        f"{run.url}/artifacts",
        f"{run.url}/rerun",
        f"{run.url}/jobs",
        f"{run.url}/logs",
    )
    assert run.workflow_url == f"{fake.url}/repos/octo/lab/actions/workflows/42"
    assert (run.head_repository.full_name, run.repository.full_name) == ("octo/lab", "octo/lab")
    assert [(p.number, p.head.ref, p.head.sha, p.base.ref) for p in run.pull_requests] == [
        (7, "speedup", SHA, "main")
    ]
    assert (run.actor.login, run.triggering_actor.login, run.display_title) == (
        "octo",
        "octo",
        "Faster TTFB",
    )
    assert run.created_at.tzinfo is not None
    assert run.previous_attempt_url is None
    assert [c.path for c in fake.calls] == ["/repos/octo/lab/actions/runs/601"]
    assert [r.pull_requests for r in repo.get_workflow_runs(exclude_pull_requests=True)] == [[]]
    with pytest.raises(github.UnknownObjectException):
        _ = repo.get_workflow_run(999).status
    assert fake.calls[-1].status == 404


def test_fork_run(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_workflow("ttfb-pr.yml")
    fake.add_run(701, head_sha=OTHER_SHA, head_owner="forker", head_branch="main")
    artifact = fake.add_artifact(701, "ttfb-results", {"results.json": b"{}"})
    run = repo.get_workflow_run(701)
    assert (run.head_repository.full_name, run.head_repository.fork) == ("forker/lab", True)
    assert run.head_repository.owner.login == "forker"
    assert (run.repository.full_name, run.repository.fork) == ("octo/lab", False)
    assert (run.pull_requests, run.head_branch, run.actor.login) == ([], "main", "forker")
    embedded = _get(f"{fake.url}/repos/octo/lab/actions/artifacts/{artifact['id']}").json()
    assert embedded["workflow_run"] == {
        "id": 701,
        "repository_id": run.repository.id,
        "head_repository_id": run.head_repository.id,
        "head_branch": "main",
        "head_sha": OTHER_SHA,
    }
    assert run.repository.id != run.head_repository.id


def test_rerun(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_workflow("ttfb-pr.yml")
    fake.add_run(901, head_sha=SHA, conclusion="failure")
    fake.add_run(902, head_sha=SHA)
    run = repo.get_workflow_run(901)
    assert run.rerun() is True
    post = fake.calls[-1]
    assert (post.method, post.path, post.status, post.body) == (
        "POST",
        "/repos/octo/lab/actions/runs/901/rerun",
        201,
        None,
    )
    assert fake.reruns == [901]
    again = repo.get_workflow_run(901)
    assert (again.run_attempt, again.status, again.conclusion) == (2, "queued", None)
    assert again.previous_attempt_url == f"{again.url}/attempts/1"
    assert repo.get_workflow_run(902).run_attempt == 1
    assert again.rerun() is True
    assert fake.reruns == [901, 901]
    assert repo.get_workflow_run(901).run_attempt == 3
    with requests.Session() as session:
        missing = session.post(f"{fake.url}/repos/octo/lab/actions/runs/999/rerun", timeout=5)
    assert (missing.status_code, missing.json()["message"]) == (404, "Not Found")
    assert fake.reruns == [901, 901]


def test_artifacts_list_and_lookup(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_workflow("ttfb-pr.yml")
    fake.add_run(77, head_sha=SHA)
    fake.add_run(78, head_sha=OTHER_SHA, head_branch="other")
    files = {"results.json": b'{"a": 1}', "d/x.json": b"[]"}
    results = fake.add_artifact(77, "ttfb-results", files)
    fake.add_artifact(77, "ttfb-plan", {"plan.json": b"{}"})
    fake.add_artifact(78, "ttfb-results", {"results.json": b"{}"})

    artifacts = list(repo.get_workflow_run(77).get_artifacts())
    assert [a.name for a in artifacts] == ["ttfb-plan", "ttfb-results"]
    got = artifacts[1]
    assert got.id == results["id"]
    assert got.size_in_bytes == 10  # uncompressed total, as GitHub reports it
    assert got.archive_download_url == (f"{fake.url}/repos/octo/lab/actions/artifacts/{got.id}/zip")
    assert got.url == f"{fake.url}/repos/octo/lab/actions/artifacts/{got.id}"
    assert got.expired is False
    assert got.expires_at > got.created_at
    assert (got.workflow_run.id, got.workflow_run.head_sha) == (77, SHA)
    assert [a.workflow_run.id for a in repo.get_artifacts("ttfb-results")] == [78, 77]
    assert len(list(repo.get_artifacts())) == 3
    assert repo.get_artifact(got.id).name == "ttfb-results"

    runs = f"{fake.url}/repos/octo/lab/actions/runs"
    named = _get(f"{runs}/77/artifacts", name="ttfb-plan").json()
    assert (named["total_count"], [a["name"] for a in named["artifacts"]]) == (1, ["ttfb-plan"])
    with fake.client(per_page=1) as client:
        paged = client.get_repo("octo/lab").get_workflow_run(77).get_artifacts()
        assert [a.name for a in paged] == ["ttfb-plan", "ttfb-results"]
    pages = [c.query.get("page") for c in fake.find_calls("GET", "/runs/77/artifacts$")]
    assert pages[-2:] == [None, "2"]

    with pytest.raises(github.UnknownObjectException):
        repo.get_artifact(424242)
    assert _get(f"{runs}/999/artifacts").status_code == 404
    assert _get(f"{fake.url}/repos/octo/lab/actions/artifacts/424242/zip").status_code == 404


def test_artifact_download_follows_redirect_to_blob(
    fake: FakeGitHub, repo: github.Repository.Repository
) -> None:
    fake.add_workflow("ttfb-pr.yml")
    fake.add_run(77, head_sha=SHA)
    files = {
        "results.json": b'{"scenarios": []}' * 50,
        "dir/x.json": b"[]",
        "../evil": b"escape",
        "/etc/passwd": b"root",
    }
    made = fake.add_artifact(77, "ttfb-results", files)
    artifact = repo.get_artifact(made["id"])
    fake.clear_calls()

    response = _download(artifact.archive_download_url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert [r.status_code for r in response.history] == [302]
    location = response.history[0].headers["Location"]
    assert location.startswith(f"{fake.url}/_blobs/artifact-{artifact.id}.zip?sig=")
    assert response.url == location
    assert _members(response.content) == files
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["results.json", "dir/x.json", "../evil", "/etc/passwd"]
        assert {m.compress_type for m in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    assert artifact.size_in_bytes == sum(len(data) for data in files.values())
    assert artifact.digest == f"sha256:{hashlib.sha256(response.content).hexdigest()}"

    zip_call, blob_call = fake.calls
    assert (zip_call.path, zip_call.status) == (
        f"/repos/octo/lab/actions/artifacts/{artifact.id}/zip",
        302,
    )
    assert (blob_call.path, blob_call.status) == (f"/_blobs/artifact-{artifact.id}.zip", 200)
    assert "X-RateLimit-Remaining" not in response.headers
    assert "X-RateLimit-Remaining" in response.history[0].headers

    anonymous = _get(location)  # the signature is the credential
    assert (anonymous.status_code, anonymous.content) == (200, response.content)
    assert fake.calls[-1].authorization is None
    forged = _get(location.split("?")[0], sig="forged")
    assert forged.status_code == 403
    assert forged.headers["Content-Type"] == "application/xml"
    assert b"<Code>AuthenticationFailed</Code>" in forged.content


def test_expired_artifact_is_gone(fake: FakeGitHub, repo: github.Repository.Repository) -> None:
    fake.add_workflow("ttfb-pr.yml")
    fake.add_run(77, head_sha=SHA)
    made = fake.add_artifact(77, "ttfb-results", {"results.json": b"{}"}, expired=True)
    artifact = repo.get_artifact(made["id"])
    assert artifact.expired is True
    assert artifact.expires_at < datetime.now(timezone.utc)
    response = _download(artifact.archive_download_url)
    assert (response.status_code, response.history) == (410, [])
    assert response.json()["message"] == "Artifact has expired"
    blob = _get(f"{fake.url}/_blobs/artifact-{artifact.id}.zip", sig="guess")
    assert blob.status_code == 404


def test_artifact_size_override_and_raw_zip(
    fake: FakeGitHub, repo: github.Repository.Repository
) -> None:
    fake.add_workflow("ttfb-pr.yml")
    fake.add_run(77, head_sha=SHA)
    huge = fake.add_artifact(77, "huge", {"a.json": b"{}"}, size_in_bytes=10**10)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("big.bin", b"\0" * 1000)
    stored = fake.add_artifact(77, "stored", raw_zip=buffer.getvalue())
    junk = fake.add_artifact(77, "junk", raw_zip=b"not a zip at all")

    assert repo.get_artifact(huge["id"]).size_in_bytes == 10**10
    assert _members(_download(repo.get_artifact(huge["id"]).archive_download_url).content) == {
        "a.json": b"{}"
    }
    got = repo.get_artifact(stored["id"])
    assert got.size_in_bytes == 1000  # the members' total, not the zip's length
    assert _download(got.archive_download_url).content == buffer.getvalue()
    got = repo.get_artifact(junk["id"])
    assert got.size_in_bytes == len(b"not a zip at all")
    assert _download(got.archive_download_url).content == b"not a zip at all"


def test_run_and_artifact_setup_is_checked(fake: FakeGitHub) -> None:
    with pytest.raises(ValueError, match="add_workflow"):
        fake.add_run(1, head_sha=SHA)
    fake.add_workflow("ttfb-pr.yml", id=5)
    assert fake.add_run(1, workflow="5", head_sha=SHA)["workflow_id"] == 5
    with pytest.raises(ValueError, match="already exists"):
        fake.add_run(1, head_sha=SHA)
    with pytest.raises(ValueError, match="status"):
        fake.add_run(2, head_sha=SHA, status="done")
    with pytest.raises(ValueError, match="conclusion"):
        fake.add_run(2, head_sha=SHA, conclusion=None)
    assert fake.add_run(2, head_sha=SHA, status="queued")["conclusion"] is None
    with pytest.raises(ValueError, match="add_run"):
        fake.add_artifact(3, "x", {"a": b""})
    with pytest.raises(ValueError, match="not both"):
        fake.add_artifact(1, "x", {"a": b""}, raw_zip=b"")


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
