"""docker-compose.yml, deploy/nginx.conf, the Dockerfile and .dockerignore agree with each other."""

import re
from urllib.parse import urlparse

from deploy.tests import files

HEALTHY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def services() -> dict:
    return files.compose()["services"]


def has_healthcheck(service: dict) -> bool:
    """Its own healthcheck, or the HEALTHCHECK of the image built from our Dockerfile."""
    if "healthcheck" in service:
        return not service["healthcheck"].get("disable", False)
    builds_our_image = service.get("build", {}).get("context") == "."
    return builds_our_image and any(instruction == "HEALTHCHECK" for instruction, _ in files.dockerfile_instructions())


def test_every_dependency_exists_and_can_report_its_condition():
    for name, service in services().items():
        for target, dependency in service.get("depends_on", {}).items():
            assert target in services(), f"{name} depends on unknown {target}"
            assert dependency["condition"] in HEALTHY_CONDITIONS
            if dependency["condition"] == "service_healthy":
                assert has_healthcheck(services()[target]), f"{name} waits for {target}, which has no healthcheck"
            # A service outside every profile must not wait for one inside a profile.
            if not service.get("profiles"):
                assert not services()[target].get("profiles"), f"{name} depends on profiled {target}"


def test_databases_have_healthchecks_and_named_volumes():
    declared = set(files.compose()["volumes"])
    for name in ("postgres", "mysql", "mongodb"):
        service = services()[name]
        assert has_healthcheck(service), name
        named = {volume.split(":")[0] for volume in service["volumes"] if not volume.startswith((".", "/"))}
        assert len(named) == 1 and named <= declared, name
    used = {v.split(":")[0] for s in services().values() for v in s.get("volumes", [])}
    assert declared <= used, "a declared volume is unused"


def test_api_waits_for_the_migration_which_waits_for_the_databases():
    migrate, api = services()["migrate"], services()["api"]
    assert migrate["command"] == ["python", "manage.py", "setup_stores", "--skip-create"]
    assert migrate["restart"] == "no"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for database in ("postgres", "mysql", "mongodb"):
        assert migrate["depends_on"][database]["condition"] == "service_healthy"
    # Same image and configuration for both.
    assert migrate["image"] == api["image"] and migrate["env_file"] == api["env_file"]


def test_redis_is_the_shared_cache_with_the_kubernetes_flags():
    redis, api, migrate = services()["redis"], services()["api"], services()["migrate"]
    k8s_pod = files.pod_spec(files.find("Deployment", "redis"))
    (k8s_container,) = k8s_pod["containers"]
    # The same image and flags as deploy/k8s/redis.yaml; a cache: no volume, no persistence.
    assert redis["image"] == k8s_container["image"]
    assert redis["command"] == k8s_container["command"] + k8s_container["args"]
    assert "volumes" not in redis
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert redis["read_only"] is True and redis["cap_drop"] == ["ALL"]
    assert redis["user"] == f"{k8s_pod['securityContext']['runAsUser']}:{k8s_pod['securityContext']['runAsGroup']}"
    # The API starts only with its cache up; `run --rm migrate ... catalog_repair` brings it up too.
    for service in (api, migrate):
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    # .env points the API at that service, and the catalog cache is on.
    env = files.parse_env_file(files.ENV_EXAMPLE)
    url = urlparse(env["REDIS_URL"])
    assert (url.scheme, url.hostname, url.port) == ("redis", "redis", 6379)
    assert int(env["CATALOG_CACHE_SECONDS"]) > 0


def test_compose_header_says_how_to_run_the_scheduled_repairs():
    """Kubernetes schedules them (CronJobs); with Compose they run through `migrate`."""
    header = files.COMPOSE_FILE.read_text()
    cronjobs = [doc for doc in files.resources() if doc["kind"] == "CronJob"]
    assert len(cronjobs) == 5
    for cronjob in cronjobs:
        (container,) = files.pod_spec(cronjob)["containers"]
        assert f"docker compose run --rm migrate {' '.join(container['command'])}" in header


def test_api_scales_behind_nginx():
    api, nginx = services()["api"], services()["nginx"]
    # Published ports or a fixed name would clash as soon as a second replica starts.
    assert "ports" not in api and "container_name" not in api
    assert nginx["ports"] == ["8080:8080"]
    conf = (files.DEPLOY / "nginx.conf").read_text()
    upstream_hosts = set(re.findall(r"^\s*server\s+([\w-]+):(\d+)", conf, flags=re.MULTILINE))
    assert upstream_hosts == {("api", files.config_env()["PORT"])}
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]


def test_app_containers_match_the_kubernetes_hardening():
    for name in ("migrate", "api", "events-relay", "locust-master", "locust-worker"):
        service = services()[name]
        assert service["read_only"] is True and service["user"] == "10001:10001", name
        assert service["cap_drop"] == ["ALL"], name


def test_events_relay_runs_the_kubernetes_command_after_the_migration():
    relay = services()["events-relay"]
    (k8s_container,) = files.pod_spec(files.find("Deployment", "events-relay"))["containers"]
    assert relay["command"] == k8s_container["command"]
    assert relay["image"] == services()["api"]["image"] and relay["env_file"] == services()["api"]["env_file"]
    assert relay["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "profiles" not in relay and relay["restart"] == "unless-stopped"
    # No gunicorn to ask: not the image's HEALTHCHECK, but the relay's heartbeat file, checked
    # as the Kubernetes probes check it.
    (k8s_check,) = {tuple(k8s_container[probe]["exec"]["command"]) for probe in ("startupProbe", "livenessProbe")}
    assert relay["healthcheck"]["test"] == ["CMD", *k8s_check]
    # Longer than one webhook send (10 s), so the sends in flight are recorded before SIGKILL.
    assert int(relay["stop_grace_period"].rstrip("s")) >= 20


def test_locust_runs_only_in_the_load_profile():
    for name in ("locust-master", "locust-worker"):
        service = services()[name]
        assert service["profiles"] == ["load"]
        assert "loadtest/locustfile.py" in service["command"]
        # Locust's own image: the API image carries no load or test tooling.
        assert service["build"] == {"context": ".", "target": "loadtest"}
        assert service["image"] != services()["api"]["image"]
    assert "nginx" in files.parse_env_file(files.ENV_EXAMPLE)["ALLOWED_HOSTS"].split(",")


def test_compose_reads_only_documented_variables():
    # files.compose() interpolates with .env.example and raises on a variable it lacks.
    assert services()
    assert files.parse_env_file(files.ENV_EXAMPLE)["SECRET_KEY"] == "", ".env.example must not carry a key"


def test_image_runs_the_production_server_as_an_unprivileged_user():
    instructions = files.runtime_instructions()
    assert files.dockerfile_cmd() == ["gunicorn", "-c", "gunicorn.conf.py", "ecommerce.wsgi"]
    assert ("EXPOSE", "8080") in instructions
    assert ("USER", "10001:10001") in instructions
    # No secret in ENV or ARG of any stage: the build-time key exists only in its RUN.
    for instruction, arguments in files.dockerfile_instructions():
        if instruction in {"ENV", "ARG"}:
            assert not re.search(r"SECRET|PASSWORD|_URL", arguments), arguments
    env = " ".join(arguments for instruction, arguments in instructions if instruction == "ENV")
    assert "STATIC_ROOT=/app/staticfiles" in env


def test_runtime_stage_carries_only_the_client_library():
    instructions = files.dockerfile_instructions()
    runtime_from = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM")
    runtime = " ".join(arguments for _, arguments in instructions[runtime_from:])
    assert "libmariadb3" in runtime
    for build_only in ("gcc", "libmariadb-dev", "pkg-config"):
        assert build_only not in runtime


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((files.ROOT / ".dockerignore").read_text().split())
    assert {".env", "**/secrets.env", ".git", ".venv", "var"} <= ignored


def requirement_names(path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            names.add(re.split(r"[\[=<>~!; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_the_api_image_installs_no_test_or_load_tooling():
    """requirements.txt is what the image installs (make docker-smoke checks the image itself)."""
    production = requirement_names(files.ROOT / "requirements.txt")
    assert not production & {"pytest", "pytest-django", "nx-27017", "locust", "ruff", "schemathesis"}
    assert "locust" in requirement_names(files.ROOT / "requirements-loadtest.txt")
    development = (files.ROOT / "requirements-dev.txt").read_text().split()
    assert "requirements.txt" in development and "requirements-loadtest.txt" in development
    assert {"pytest", "pytest-django", "nx-27017"} <= requirement_names(files.ROOT / "requirements-dev.txt")
