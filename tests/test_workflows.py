"""The GitHub workflows cannot run before the repository is public: these tests read them and
check that every job runs the repository's own commands (so CI and `./dev.sh` cannot drift) and
that the extension template's package checks are there. `./dev.sh lint` also validates them
against GitHub's workflow schema (check-jsonschema)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
LABEXTENSION = json.loads((REPO / "labextension" / "package.json").read_text())["name"]


def load(name: str) -> dict[str, Any]:
    """One workflow; YAML 1.1 reads the key `on` as True, put it back."""
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def script(job: dict[str, Any]) -> str:
    """Every `run:` of a job, in order."""
    return "\n".join(step["run"] for step in job["steps"] if "run" in step)


def uses(job: dict[str, Any]) -> list[str]:
    """Every action a job uses, without its version."""
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    """build.yml"""
    return load("build.yml")


def test_every_workflow_has_a_name_triggers_and_pinned_actions() -> None:
    """Each workflow parses, runs on pushes to main and on pull requests, and pins every action
    it uses to a major version."""
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"build.yml", "check-release.yml"}
    for f in files:
        wf = load(f.name)
        assert wf["name"], f.name
        assert set(wf["on"]) == {"push", "pull_request"}, f.name
        assert wf["on"]["push"]["branches"] == ["main"], f.name
        for job in wf["jobs"].values():
            for step in job["steps"]:
                if "uses" in step:
                    assert re.search(r"@v\d+$", step["uses"]), step["uses"]


def test_jobs_run_the_repositorys_own_commands(build: dict[str, Any]) -> None:
    """Lint, test and packaging run `./dev.sh lint`, `.ci/run` (which is `./dev.sh test`) and
    `./dev.sh dist`, so a developer runs exactly what CI runs."""
    jobs = build["jobs"]
    assert "./dev.sh lint" in script(jobs["lint"])
    assert "bash .ci/run" in script(jobs["test"])
    assert "./dev.sh dist" in script(jobs["build"])
    assert "exec ./dev.sh test" in (REPO / ".ci" / "run").read_text()
    # .ci/run installs Debian's chromium with apt-get as root: the test job runs in Debian as root.
    assert jobs["test"]["container"]["image"].endswith("-bookworm")


def test_every_dev_sh_command_a_workflow_calls_exists() -> None:
    """A `./dev.sh X` in a workflow names a command dev.sh has (its `case` labels)."""
    dev_sh = (REPO / "dev.sh").read_text()
    commands = set(re.findall(r"^  ([a-z]+)\)", dev_sh, re.MULTILINE))
    assert {"setup", "lab", "test", "lint", "dist", "bench"} <= commands
    for f in WORKFLOWS.glob("*.yml"):
        for job in load(f.name)["jobs"].values():
            for called in re.findall(r"\./dev\.sh ([a-z]+)", script(job)):
                assert called in commands, f"{f.name} calls ./dev.sh {called}"


@pytest.mark.parametrize(
    ("job_name", "artifact"), [("test_isolated", "whl"), ("test_sdist", "tar.gz")]
)
def test_installed_package_checks_of_the_template(
    build: dict[str, Any], job_name: str, artifact: str
) -> None:
    """The wheel and the sdist from the build job are installed where no Node.js is left, and
    checked as the extension template does (both extensions OK, browser_check without a
    browser)."""
    job = build["jobs"][job_name]
    assert job["needs"] == "build"
    assert "actions/download-artifact" in uses(job)
    run = script(job)
    assert "which node" in run and "rm -f" in run
    assert re.search(rf"pip install .*jupyter_termmux\*\.{re.escape(artifact)}", run)
    assert f'jupyter labextension list 2>&1 | grep -ie "{LABEXTENSION}.*OK"' in run
    assert 'jupyter server extension list 2>&1 | grep -ie "jupyter_termmux.*OK"' in run
    assert "python -m jupyterlab.browser_check --no-browser-test" in run
    # The build job uploads what these jobs download.
    upload = [s for s in build["jobs"]["build"]["steps"] if "upload-artifact" in s.get("uses", "")]
    download = [s for s in job["steps"] if "download-artifact" in s.get("uses", "")]
    assert upload[0]["with"]["name"] == download[0]["with"]["name"]


def test_check_release_runs_jupyter_releaser() -> None:
    """check-release.yml dry-runs a jupyter-releaser release, as the template's does."""
    job = load("check-release.yml")["jobs"]["check_release"]
    assert "jupyter-server/jupyter_releaser/.github/actions/check-release" in uses(job)
