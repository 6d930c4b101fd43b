"""``/ttfb`` comments: who gets a reply, who may rerun, which commit a rerun measures, and how
a fork's pull request is rerun (never by dispatch)."""

from __future__ import annotations

import pytest

from .conftest import AFTER, BEFORE, HEAD, comment_event, gh, scenarios_dir


def bot_replies(fake, number: int = 5) -> list[str]:
    return [c["body"] for c in fake.comments(number) if c["user"]["login"] == "github-actions[bot]"]


def command(actions_env, tmp_path, body: str, user: str, comment_id: int = 9001) -> int:
    actions_env("issue_comment", comment_event(body, user=user, comment_id=comment_id))
    return gh("command", "--scenarios-dir", str(scenarios_dir(tmp_path)))


def pushed(fake, sha: str = HEAD, *, at: str = BEFORE, run_id: int = 700, owner=None) -> None:
    """The pull request's own ttfb-pr run of ``sha`` started at ``at`` (the push)."""
    fake.add_run(run_id, head_sha=sha, created_at=at, head_owner=owner)


@pytest.mark.parametrize("body", ["/ttfb rerun", "/ttfb help", "/ttfb nope"])
def test_users_below_triage_get_a_reaction_and_no_reply(fake, actions_env, tmp_path, body):
    """Anyone can comment; the bot must not post on a stranger's behalf (help and error
    replies used to be open to all)."""
    c = fake.add_comment(5, body, user="reader")
    assert command(actions_env, tmp_path, body, "reader", c["id"]) == 0
    assert bot_replies(fake) == [] and fake.dispatches == [] and fake.reruns == []
    assert [r["content"] for r in fake.reactions(c["id"])] == ["-1"]


def test_a_triager_may_ask_for_help_but_not_rerun(fake, actions_env, tmp_path, capsys):
    assert command(actions_env, tmp_path, "/ttfb help", "triager") == 0
    assert command(actions_env, tmp_path, "/ttfb rerun", "triager") == 0
    help_text, refusal = bot_replies(fake)
    assert "TTFB Lab commands" in help_text
    assert "needs write permission" in refusal and "@triager" in refusal
    assert fake.dispatches == []
    assert "refused rerun from triager" in capsys.readouterr().out


def test_rerun_from_writer_reacts_pins_the_head_and_dispatches(fake, actions_env, tmp_path):
    pushed(fake)
    c = fake.add_comment(5, "/ttfb rerun scenario=ranker-cpu runs=20", user="writer")
    assert (
        command(actions_env, tmp_path, "/ttfb rerun scenario=ranker-cpu runs=20", "writer", c["id"])
        == 0
    )
    assert [r["content"] for r in fake.reactions(c["id"])] == ["eyes"]
    (d,) = fake.dispatches
    assert d["ref"] == "main"
    assert d["inputs"] == {
        "pr": "5",
        "sha": HEAD,
        "requested_by": "writer",
        "scenarios": "ranker-cpu",
        "runs": "20",
    }
    assert (tmp_path / "output").read_text().count(f"sha={HEAD}") == 1


def test_a_head_pushed_after_the_comment_is_refused(fake, actions_env, tmp_path):
    """TOCTOU: the maintainer looked at one commit; someone pushed another before the job ran.
    The rerun must not measure (and bless) a commit nobody with write access looked at."""
    pushed(fake, at=AFTER)
    assert command(actions_env, tmp_path, "/ttfb rerun", "writer") == 0
    assert fake.dispatches == []
    (reply,) = bot_replies(fake)
    assert "after your comment" in reply and f"/ttfb rerun sha={HEAD}" in reply


def test_a_head_with_no_run_to_date_it_is_refused_too(fake, actions_env, tmp_path):
    assert command(actions_env, tmp_path, "/ttfb rerun", "writer") == 0
    assert fake.dispatches == []
    assert "cannot tell when" in bot_replies(fake)[0]


def test_sha_names_the_commit_and_must_still_be_the_head(fake, actions_env, tmp_path):
    pushed(fake, at=AFTER)
    assert command(actions_env, tmp_path, f"/ttfb rerun sha={'b' * 40}", "writer") == 0
    assert fake.dispatches == []
    assert "is not the head of #5" in bot_replies(fake)[0]
    assert command(actions_env, tmp_path, f"/ttfb rerun sha={HEAD.upper()}", "writer") == 0
    (d,) = fake.dispatches
    assert d["inputs"]["sha"] == HEAD


def test_bad_arguments_get_a_reply_listing_valid_ones(fake, actions_env, tmp_path):
    assert command(actions_env, tmp_path, "/ttfb rerun scenario=nope", "writer") == 0
    (reply,) = bot_replies(fake)
    assert "unknown scenario `nope`" in reply
    assert "`cnn-cpu`, `ranker-cpu`" in reply and "/ttfb rerun runs=N" in reply
    assert command(actions_env, tmp_path, "/ttfb rerun sha=abc", "writer") == 0
    assert "40 hexadecimal digits" in bot_replies(fake)[1]
    assert fake.dispatches == []


def test_echoed_arguments_cannot_break_out_of_their_code_span(fake, actions_env, tmp_path):
    assert command(actions_env, tmp_path, "/ttfb rerun 'scenario=x`@all [y](z)'", "writer") == 0
    (reply,) = bot_replies(fake)
    assert "``x`@all [y](z)``" in reply


def test_a_fork_pull_request_reruns_its_own_run_and_is_never_dispatched(
    fake, actions_env, tmp_path
):
    """A dispatched run has the default branch's context (its cache scope, for one); a fork's
    code must stay in the fork's pull_request sandbox."""
    fork_head = "f" * 40
    fake.add_pull(8, head_sha=fork_head, head_ref="patch-1", head_owner="forker")
    fake.add_run(
        801, head_sha=fork_head, head_branch="patch-1", head_owner="forker", created_at=BEFORE
    )
    event = comment_event("/ttfb rerun runs=20", user="writer")
    event["issue"]["number"] = 8
    actions_env("issue_comment", event)
    assert gh("command", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    assert fake.dispatches == []
    assert fake.reruns == [801]
    (note,) = bot_replies(fake, 8)
    assert "from a fork" in note and "runs=" in note


def test_a_fork_whose_run_is_still_going_is_not_rerun(fake, actions_env, tmp_path):
    fork_head = "f" * 40
    fake.add_pull(8, head_sha=fork_head, head_ref="patch-1", head_owner="forker")
    fake.add_run(
        801,
        head_sha=fork_head,
        head_branch="patch-1",
        head_owner="forker",
        created_at=BEFORE,
        status="in_progress",
    )
    event = comment_event("/ttfb rerun", user="writer")
    event["issue"]["number"] = 8
    actions_env("issue_comment", event)
    assert gh("command", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    assert fake.reruns == [] and fake.dispatches == []
    assert "still going" in bot_replies(fake, 8)[0]


def test_comment_on_plain_issue_is_ignored(fake, actions_env, tmp_path, capsys):
    actions_env("issue_comment", comment_event("/ttfb rerun", user="writer", on_pr=False))
    assert gh("handle", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    assert "not on a pull request" in capsys.readouterr().out
    assert fake.calls == []


def test_dry_run_prints_the_writes(fake, actions_env, tmp_path, capsys):
    pushed(fake)
    actions_env("issue_comment", comment_event("/ttfb rerun", user="writer"))
    assert gh("command", "--dry-run", "--scenarios-dir", str(scenarios_dir(tmp_path))) == 0
    err = capsys.readouterr().err
    assert "dry-run: would POST reaction 'eyes'" in err
    assert "dry-run: would POST dispatch ttfb-pr.yml on main" in err
    assert fake.dispatches == [] and fake.find_calls("POST", ".") == []


def test_rerun_still_dispatches_when_the_reaction_fails(fake, actions_env, tmp_path, capsys):
    pushed(fake)
    assert command(actions_env, tmp_path, "/ttfb rerun", "writer", comment_id=123456) == 0
    assert len(fake.dispatches) == 1
    assert "warning: GitHub API: POST reaction 'eyes'" in capsys.readouterr().err
