"""The deployment files, parsed once for the tests: manifests, env files, compose, Dockerfile."""

import json
import re
import shlex
import sys
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
LOADTEST_K8S = K8S / "loadtest"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
BIN = Path(sys.executable).parent

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "CronJob"}
# Workloads that run to completion: no selector of their own, no long-running probes.
RUN_TO_COMPLETION_KINDS = {"Job", "CronJob"}


def tool(name: str) -> Path:
    """A command-line tool installed in the virtualenv (hadolint, yamllint, ...)."""
    return BIN / name


def manifest_files(directory: Path = K8S) -> list[Path]:
    """The Kubernetes resources of one kustomization, as listed in its `resources`."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return [directory / name for name in kustomization["resources"]]


@cache
def _load(path: Path) -> tuple[dict, ...]:
    return tuple(doc for doc in yaml.safe_load_all(path.read_text()) if doc)


def resources(directory: Path = K8S) -> list[dict]:
    return [doc for path in manifest_files(directory) for doc in _load(path)]


def all_resources() -> list[dict]:
    return resources(K8S) + resources(LOADTEST_K8S)


def find(kind: str, name: str, docs: list[dict] | None = None) -> dict:
    for doc in docs if docs is not None else all_resources():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise LookupError(f"no {kind}/{name} in deploy/k8s")


def pod_template(workload: dict) -> dict:
    """The pod template of a Deployment, StatefulSet, Job or (through its Job template) CronJob."""
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]
    return workload["spec"]["template"]


def job_spec(workload: dict) -> dict:
    """The Job spec of a Job, or the one a CronJob creates on each run."""
    return workload["spec"]["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else workload["spec"]


def pod_spec(workload: dict) -> dict:
    return pod_template(workload)["spec"]


def pod_labels(workload: dict) -> dict:
    return pod_template(workload)["metadata"]["labels"]


def containers(workload: dict) -> list[dict]:
    spec = pod_spec(workload)
    return spec.get("initContainers", []) + spec["containers"]


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as kustomize's generators and Compose's env_file read them."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        values[key.strip()] = value.strip()
    return values


def config_env() -> dict[str, str]:
    """The production ConfigMap's data (configMapGenerator `ecommerce-config`)."""
    return parse_env_file(K8S / "config.env")


def secret_template() -> dict[str, str]:
    """The keys of the Secret `ecommerce-secrets` (template of the gitignored secrets.env)."""
    return parse_env_file(K8S / "secrets.env.example")


def documented_env_names(path: Path = ENV_EXAMPLE) -> set[str]:
    """Names in .env.example, set or shown commented out (`# NAME=value`)."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", path.read_text(), flags=re.MULTILINE))


_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))"
)


def interpolate(value, env: dict[str, str]):
    """Compose's variable interpolation: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op") or "", match.group("arg")
        current = env.get(name)
        unset = current is None or (op.startswith(":") and current == "")
        if op.endswith("?") and unset:
            raise KeyError(f"compose needs {name}: {arg}")
        if op.endswith("-") and unset:
            return arg
        if current is None:
            raise KeyError(f"compose reads {name}, which .env.example does not set")
        return current

    return _INTERPOLATION.sub(substitute, value)


def compose_raw() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose() -> dict:
    """docker-compose.yml as Compose sees it with .env made from .env.example."""
    return interpolate(compose_raw(), parse_env_file(ENV_EXAMPLE))


def compose_json() -> str:
    return json.dumps(compose())


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        instruction, _, arguments = current.partition(" ")
        lines.append((instruction.upper(), arguments.strip()))
        current = ""
    return lines


def runtime_instructions() -> list[tuple[str, str]]:
    """The last stage's: the API image a plain `docker build` produces."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM")
    return instructions[last_from:]


def dockerfile_healthcheck_command() -> list[str]:
    """The exec-form command of the image's HEALTHCHECK."""
    (arguments,) = [args for instruction, args in runtime_instructions() if instruction == "HEALTHCHECK"]
    exec_form = arguments[arguments.index("CMD ") + 4 :]
    return json.loads(exec_form)


def dockerfile_cmd() -> list[str]:
    (arguments,) = [args for instruction, args in runtime_instructions() if instruction == "CMD"]
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
