"""environment.yml (conda users) and pyproject.toml list the same dependencies."""
import tomllib

import yaml

from conftest import REPO


def normalise(requirement: str) -> str:
    return requirement.replace(" ", "").lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        if name != "gpu":  # CUDA's libraries: for a GPU machine, installed on top (README)
            wanted |= set(extra)
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {r for r in pip_section if not r.startswith("-e ")}
    assert {normalise(r) for r in listed} == {normalise(r) for r in wanted}
    assert "-e ." in pip_section and "-e ./bookkit" in pip_section  # the library and the book side
