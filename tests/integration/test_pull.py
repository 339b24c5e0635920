"""Pulling pipelines from a gathering stand-in on 127.0.0.1 that checks the bearer token: the
``airflow gathering pull`` command, and the DAG bundle synced from the server.

Most command tests call the command's function in this process (its output and exit code); two run the
real ``airflow`` CLI: one with the connection stored in the metadata DB, one with ``AIRFLOW_CONN_*``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from gathering_provider.bundles import PipelineBundle
from gathering_provider.cli.pull import pull
from gathering_provider.pull import MANIFEST
from tests.support.builders import edge, node
from tests.support.bundle import BUNDLE_NAME, CLASSPATH
from tests.support.cli import airflow, json_output
from tests.support.gathering_server import TOKEN, GatheringServer

BOOKKEEPING = {"run_count": 4, "success_count": 3, "error_count": 1, "last_run": "2026-11-26T10:00:00Z"}


def served(pipeline_id: int, name: str, *, status: str = "active", task: str = "Classify", **fields) -> dict:
    """A pipeline row as gathering's API lists it."""
    return {
        "id": pipeline_id,
        "name": name,
        "status": status,
        "nodes": [node("n1", "trigger"), node("n2", "agent", agent_id=3, task=task)],
        "edges": [edge("n1", "n2")],
        "created_at": "2026-11-01T09:00:00Z",
        "updated_at": "2026-11-20T09:00:00Z",
        **BOOKKEEPING,
        **fields,
    }


def broken(pipeline_id: int, name: str) -> dict:
    """A pipeline whose nodes form a cycle."""
    return {**served(pipeline_id, name), "edges": [edge("n1", "n2"), edge("n2", "n1")]}


def file_text(pipeline: dict) -> str:
    kept = {
        key: value for key, value in pipeline.items() if key not in {*BOOKKEEPING, "created_at", "updated_at"}
    }
    return json.dumps(kept, indent=2, ensure_ascii=False) + "\n"


@pytest.fixture
def gathering(monkeypatch) -> Iterator[GatheringServer]:
    """The server, reached through the ``gathering_default`` connection (an environment variable)."""
    server = GatheringServer().start()
    monkeypatch.setenv("AIRFLOW_CONN_GATHERING_DEFAULT", server.connection())
    monkeypatch.delenv("_AIRFLOW_PROCESS_CONTEXT", raising=False)  # the command sets it: unset it after
    yield server
    server.stop()


def run_pull(capsys, dest: Path, *, output: str = "text", **options) -> tuple[int, str, str]:
    """Run the command's function as the CLI would; its exit code, standard output and error."""
    args = argparse.Namespace(
        conn_id="gathering_default",
        status="active",
        dest=str(dest),
        dry_run=False,
        prune=False,
        output=output,
    )
    for key, value in options.items():
        setattr(args, key, value)
    with pytest.raises(SystemExit) as exited:
        pull(args)
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def files(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(folder.iterdir()) if path.name != MANIFEST}


def test_pull_writes_valid_pipelines_and_never_an_invalid_one(gathering, tmp_path, capsys):
    gathering.pipelines = [
        served(12, "Code Review Workflow"),
        broken(7, "Looping"),
        served(3, "Résumé: tickets!"),
        served(9, "Waiting", status="paused"),
    ]

    code, out, _ = run_pull(capsys, tmp_path / "pipelines")

    assert code == 1
    assert files(tmp_path / "pipelines") == {
        "code_review_workflow_12.json": file_text(served(12, "Code Review Workflow")),
        "resume_tickets_3.json": file_text(served(3, "Résumé: tickets!")),
    }
    lines = out.splitlines()
    assert lines[0] == "added      code_review_workflow_12.json"
    assert lines[1] == "invalid    looping_7.json"
    assert lines[2].startswith(f"  {tmp_path / 'pipelines' / 'looping_7.json'}: error [cycle] node 'n1'")
    assert lines[3] == "added      resume_tickets_3.json"
    assert (
        lines[-1]
        == f"3 pipeline(s) from 'gathering_default' into {tmp_path / 'pipelines'}: 2 added, 1 invalid"
    )
    (request,) = gathering.requests
    assert (request.method, request.path) == ("GET", "/pipelines?status=active")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_second_pull_reports_unchanged_changed_and_renamed_pipelines(gathering, tmp_path, capsys):
    dest = tmp_path / "pipelines"
    gathering.pipelines = [served(1, "Steady"), served(2, "Edited"), served(3, "Old name")]
    assert run_pull(capsys, dest)[0] == 0
    gathering.pipelines = [
        served(1, "Steady", run_count=99, updated_at="2026-12-01T00:00:00Z"),  # ran on gathering: same file
        served(2, "Edited", task="Summarise"),
        served(3, "New name"),
    ]

    code, out, _ = run_pull(capsys, dest)

    assert code == 0
    assert out.splitlines()[:3] == [
        "unchanged  steady_1.json",
        "changed    edited_2.json",
        "changed    new_name_3.json (was old_name_3.json)",
    ]
    assert set(files(dest)) == {"steady_1.json", "edited_2.json", "new_name_3.json"}
    assert json.loads(files(dest)["edited_2.json"])["nodes"][1]["config"]["task"] == "Summarise"


def test_an_invalid_version_never_replaces_a_valid_file(gathering, tmp_path, capsys):
    dest = tmp_path / "pipelines"
    gathering.pipelines = [served(5, "Orders")]
    run_pull(capsys, dest)
    gathering.pipelines = [broken(5, "Orders")]

    code, out, _ = run_pull(capsys, dest)

    assert code == 1
    assert out.startswith("invalid    orders_5.json\n")
    assert files(dest) == {"orders_5.json": file_text(served(5, "Orders"))}

    gathering.pipelines = [broken(5, "Orders renamed")]  # nor under its new name
    assert run_pull(capsys, dest)[0] == 1
    assert files(dest) == {"orders_5.json": file_text(served(5, "Orders"))}

    gathering.pipelines = [served(5, "Orders", task="Fixed")]
    code, out, _ = run_pull(capsys, dest)
    assert (code, out.splitlines()[0]) == (0, "changed    orders_5.json")
    assert files(dest) == {"orders_5.json": file_text(served(5, "Orders", task="Fixed"))}


def test_removed_pipelines_are_deleted_only_with_prune_and_hand_written_files_never(
    gathering, tmp_path, capsys
):
    dest = tmp_path / "pipelines"
    dest.mkdir()
    hand_written = {"notes_2.json": '{"nodes": []}\n', "keep_4.json": file_text(served(4, "Keep")) + " "}
    for name, text in hand_written.items():
        (dest / name).write_text(text)
    gathering.pipelines = [served(1, "Kept"), served(2, "Dropped")]
    run_pull(capsys, dest)
    gathering.pipelines = [served(1, "Kept"), served(4, "Keep")]

    code, out, _ = run_pull(capsys, dest)

    assert code == 1
    assert out.splitlines()[:3] == [
        "unchanged  kept_1.json",
        "conflict   keep_4.json",
        "removed    dropped_2.json (kept: --prune deletes it)",
    ]
    assert set(files(dest)) == {"kept_1.json", "dropped_2.json", *hand_written}

    code, out, _ = run_pull(capsys, dest, prune=True)

    assert "removed    dropped_2.json\n" in out
    assert set(files(dest)) == {"kept_1.json", *hand_written}
    assert all((dest / name).read_text() == text for name, text in hand_written.items())


def test_dry_run_reports_and_writes_nothing(gathering, tmp_path, capsys):
    dest = tmp_path / "pipelines"
    gathering.pipelines = [served(1, "One"), served(2, "Two")]
    run_pull(capsys, dest)
    before = {path.name: path.read_bytes() for path in dest.iterdir()}
    gathering.pipelines = [served(1, "One", task="New"), served(3, "Three")]

    code, out, _ = run_pull(capsys, dest, dry_run=True, prune=True)

    assert code == 0
    assert out.splitlines() == [
        "changed    one_1.json",
        "added      three_3.json",
        "removed    two_2.json",
        f"2 pipeline(s) from 'gathering_default' into {dest}: 1 added, 1 changed, 1 removed "
        "(dry run: nothing written)",
    ]
    assert {path.name: path.read_bytes() for path in dest.iterdir()} == before


def test_json_output_and_every_status(gathering, tmp_path, capsys):
    gathering.pipelines = [served(1, "A"), served(2, "B", status="draft"), broken(3, "C")]

    code, out, _ = run_pull(capsys, tmp_path, output="json", status="all")

    assert code == 1
    report = json.loads(out)
    assert [(r["file"], r["id"], r["name"], r["status"], r["written"]) for r in report] == [
        ("a_1.json", "1", "A", "added", True),
        ("b_2.json", "2", "B", "added", True),
        ("c_3.json", "3", "C", "invalid", False),
    ]
    assert [p["code"] for p in report[1]["problems"]] == ["draft"]
    assert report[2]["problems"][0]["severity"] == "error"
    assert gathering.requests[0].path == "/pipelines"


def test_a_refused_token_or_a_server_that_is_down_exits_1_and_writes_nothing(
    gathering, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_CONN_GATHERING_DEFAULT", gathering.connection(password="wrong"))
    code, _, err = run_pull(capsys, tmp_path / "pipelines")
    assert code == 1
    assert "the token was refused" in err
    assert not (tmp_path / "pipelines").exists()

    gathering.stop()
    monkeypatch.setenv("AIRFLOW_CONN_GATHERING_DEFAULT", gathering.connection())
    with pytest.raises(SystemExit) as exited:
        pull(
            argparse.Namespace(
                conn_id="gathering_default",
                status="active",
                dest=str(tmp_path / "p"),
                dry_run=False,
                prune=False,
                output="text",
            )
        )
    assert exited.value.code == 1
    assert "error: cannot list the pipelines of connection 'gathering_default'" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_cli_pulls_through_a_connection_stored_in_the_metadata_db(tmp_path):
    server = GatheringServer().start()
    try:
        server.pipelines = [served(12, "Stored connection")]
        added = airflow(
            "connections",
            "add",
            "gathering_stored",
            "--conn-type",
            "gathering",
            "--conn-host",
            server.url,
            "--conn-password",
            TOKEN,
        )
        assert added.returncode == 0, added.stderr

        result = airflow(
            "gathering",
            "pull",
            "--conn-id",
            "gathering_stored",
            AIRFLOW__GATHERING__PIPELINES_FOLDER=str(tmp_path / "pipelines"),
        )
    finally:
        server.stop()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "added      stored_connection_12.json" in result.stdout
    assert files(tmp_path / "pipelines") == {
        "stored_connection_12.json": file_text(served(12, "Stored connection"))
    }


def test_cli_exits_1_on_an_invalid_pipeline_and_still_writes_the_valid_ones(gathering, tmp_path):
    gathering.pipelines = [served(1, "Good"), broken(2, "Bad")]

    result = airflow("gathering", "pull", "--dest", str(tmp_path), "--output", "json")

    assert result.returncode == 1, result.stdout + result.stderr
    assert [(r["file"], r["status"]) for r in json_output(result)] == [
        ("good_1.json", "added"),
        ("bad_2.json", "invalid"),
    ]
    assert set(files(tmp_path)) == {"good_1.json"}


# The DAG bundle synced from the server.


@pytest.fixture
def server_bundle(gathering, tmp_path, monkeypatch) -> PipelineBundle:
    """The gathering DAG bundle serving the server's active pipelines, configured as Airflow reads it."""
    kwargs = {"gathering_conn_id": "gathering_default", "status": "active"}
    config = [{"name": BUNDLE_NAME, "classpath": CLASSPATH, "kwargs": kwargs}]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(config))
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(tmp_path / "bundles"))
    return PipelineBundle(name=BUNDLE_NAME, **kwargs)


def parse(bundle: PipelineBundle) -> DagBag:
    """Sync the bundle, then parse its generated DAG files as the dag-processor does."""
    bundle.refresh()
    return DagBag(dag_folder=str(bundle.path), bundle_path=bundle.path, bundle_name=BUNDLE_NAME)


def test_the_servers_active_pipelines_become_dags_and_an_invalid_one_its_own_import_error(
    gathering, server_bundle
):
    gathering.pipelines = [
        served(12, "Code review"),
        broken(7, "Looping"),
        served(3, "Tickets"),
        served(9, "Resting", status="paused"),
    ]

    bag = parse(server_bundle)

    assert set(bag.dags) == {"code_review_12", "tickets_3"}
    assert bag.dags["code_review_12"].dag_display_name == "Code review"
    assert set(bag.import_errors) == {"looping_7.json.py"}
    assert (
        "looping_7.json:7:13: error [cycle] node 'n1': nodes form a cycle"
        in bag.import_errors["looping_7.json.py"]
    )
    assert gathering.requests[-1].path == "/pipelines?status=active"


def test_a_pulled_pipeline_runs_through_the_bundle(gathering, server_bundle):
    gathering.pipelines = [served(4, "Runs")]

    run = parse(server_bundle).dags["runs_4"].test(run_conf={"ticket": 1})

    assert str(run.state) == "success"
    (chat,) = [request for request in gathering.requests if request.method == "POST"]
    assert chat.path == "/agents/3/chat"
    assert chat.json()["message"] == "Classify\n\nContext from previous nodes:\nn1: {'ticket': 1}"


def test_an_invalid_server_version_keeps_the_last_valid_one_serving(gathering, server_bundle, caplog):
    gathering.pipelines = [served(5, "Orders"), served(6, "Other")]
    parse(server_bundle)
    gathering.pipelines = [broken(5, "Orders"), served(6, "Other", task="Changed")]

    with caplog.at_level(logging.ERROR, logger="gathering_provider"):
        bag = parse(server_bundle)

    assert set(bag.dags) == {"orders_5", "other_6"}
    assert bag.import_errors == {}
    assert bag.dags["other_6"].get_task("n2").config.task == "Changed"
    assert (
        "pipeline 'Orders' (id 5) on the server is invalid; its last valid version keeps serving"
        in caplog.text
    )
    assert "error [cycle]" in caplog.text


def test_a_pipeline_gone_from_the_server_loses_its_dag_and_a_server_down_keeps_them_all(
    gathering, server_bundle, caplog
):
    gathering.pipelines = [served(1, "Stays"), served(2, "Goes")]
    assert set(parse(server_bundle).dags) == {"stays_1", "goes_2"}
    gathering.pipelines = [served(1, "Stays")]
    assert set(parse(server_bundle).dags) == {"stays_1"}

    gathering.stop()
    with caplog.at_level(logging.WARNING, logger="gathering_provider"):
        bag = parse(server_bundle)

    assert set(bag.dags) == {"stays_1"}
    assert "cannot list the pipelines of gathering connection 'gathering_default'" in caplog.text
    assert "serving the DAG files of the last sync" in caplog.text


def test_a_bundle_has_one_source(tmp_path):
    with pytest.raises(ValueError, match="give pipelines_folder or gathering_conn_id, not both"):
        PipelineBundle(name=BUNDLE_NAME, pipelines_folder=str(tmp_path), gathering_conn_id="gathering")
