"""What schemas cannot see in deploy/k8s: references that must line up, probes on real
routes, configuration that covers every setting, pinned images, hardened pods."""

import re
import subprocess
from urllib.parse import urlparse

import pytest
from django.core.management import get_commands
from django.http.request import validate_host
from django.urls import resolve

from deploy.tests import files

# Environment variables the settings read that neither the ConfigMap nor the Secret sets,
# each deliberately: its default is the production value, or it does not apply there.
OPTIONAL_ENV = {
    "DATA_DIR": "the embedded default's directory; unused when the three database URLs are set",
    "STATIC_ROOT": "baked into the image (Dockerfile ENV) where collectstatic put the files",
    "THROTTLE_LOGIN_IP_RATE": "the default rate is the production one",
    "THROTTLE_LOGIN_ACCOUNT_RATE": "the default rate is the production one",
    "THROTTLE_REGISTER_RATE": "the default rate is the production one",
    "THROTTLE_REFRESH_IP_RATE": "the default rate is the production one",
    "HOST_BIND": "gunicorn listens on 0.0.0.0 by default, as a pod must",
    "GUNICORN_THREADS": "sync workers (the default 1) suit this CPU-bound API",
    "GUNICORN_MAX_REQUESTS": "the default recycles workers every 20000 requests",
    "GUNICORN_MAX_REQUESTS_JITTER": "the default spreads the recycles over half that count again",
    "GUNICORN_WORKER_TMP_DIR": "defaults to /dev/shm, a tmpfs even on the read-only root",
    "FORWARDED_ALLOW_IPS": "Django trusts X-Forwarded-Proto through BEHIND_PROXY, not gunicorn",
    "THROTTLE_ORDER_RATE": "the default rate is the production one",
    "ORDER_LEASE_SECONDS": "the default outlasts gunicorn's 30 s timeout, as it must",
    "STRIPE_API_BASE": "the stripe library's own default is Stripe's production API",
}
# Read by the settings, set by the Secret, and each passed to the API, the migration Job and
# the repair CronJobs by name.
SECRET_ENV = {
    "SECRET_KEY",
    "DATABASE_URL",
    "MYSQL_URL",
    "MONGO_URL",
    "PAYMENTS_WEBHOOK_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "WEBHOOK_SECRETS_KEY",
}
# The databases each pod of our image talks to, by app.kubernetes.io/name.
CLIENT_DATABASES = {
    "ecommerce-api": {"postgres", "mysql", "mongodb"},
    "ecommerce-migrate": {"postgres", "mysql", "mongodb"},
    "ecommerce-reconcile-orders": {"postgres", "mysql", "mongodb"},
    "ecommerce-catalog-repair": {"postgres", "mysql", "mongodb"},
    # Products (MongoDB) and stock rows (MySQL) against the outbox (PostgreSQL).
    "repair-events": {"postgres", "mysql", "mongodb"},
    # The outbox lives in PostgreSQL; the relay and the pruning touch nothing else.
    "events-relay": {"postgres"},
    "prune-events": {"postgres"},
    # The payments ledger and the orders it checks: PostgreSQL (and the provider, out of the cluster).
    "ecommerce-reconcile-payments": {"postgres"},
}
DATABASE_CLIENTS = set(CLIENT_DATABASES)
# The ones that use the Redis cache (test_cache_clients.py checks the CronJobs' commands).
CACHE_CLIENTS = {"ecommerce-api", "ecommerce-catalog-repair"}
# The servers inside the namespace: workload name and port.
DATABASES = {"postgres": 5432, "mysql": 3306, "mongodb": 27017}
SERVERS = {**DATABASES, "redis": 6379}

_ENV_READ = re.compile(
    r"""(?:env_(?:str|bool|int|list)\(|os\.environ\.get\(|os\.getenv\(|os\.environ\[)\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def env_read_by_settings() -> set[str]:
    names = set()
    # ecommerce/env.py reads what the settings need before they load (DATA_DIR).
    for name in ("ecommerce/settings.py", "ecommerce/env.py", "gunicorn.conf.py"):
        path = files.ROOT / name
        names |= set(_ENV_READ.findall(path.read_text()))
    return names


def workloads() -> list[dict]:
    return [doc for doc in files.all_resources() if doc["kind"] in files.WORKLOAD_KINDS]


def selects(selector: dict, labels: dict) -> bool:
    """A label selector (matchLabels / matchExpressions, or a Service's plain map) matches labels."""
    structured = "matchLabels" in selector or "matchExpressions" in selector
    match_labels = selector.get("matchLabels", {}) if structured else selector
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and expression["key"] not in labels:
            return False
        if operator == "DoesNotExist" and expression["key"] in labels:
            return False
    return True


def selected_workloads(selector: dict) -> list[str]:
    return sorted(w["metadata"]["name"] for w in workloads() if selects(selector, files.pod_labels(w)))


def network_policies() -> list[dict]:
    return [doc for doc in files.all_resources() if doc["kind"] == "NetworkPolicy"]


def workload_named(name: str) -> dict:
    (workload,) = [w for w in workloads() if w["metadata"]["name"] == name]
    return workload


def egress_peers(workload: dict) -> set[tuple[str, int]]:
    """(workload, port) pairs in the namespace that the Egress policies let `workload` open."""
    peers = set()
    for policy in network_policies():
        spec = policy["spec"]
        if "Egress" not in spec["policyTypes"] or not selects(spec["podSelector"], files.pod_labels(workload)):
            continue
        for rule in spec.get("egress", []):
            for peer in rule.get("to", []):
                if set(peer) != {"podSelector"}:
                    continue  # DNS in kube-system
                for target in selected_workloads(peer["podSelector"]):
                    peers |= {(target, port["port"]) for port in rule["ports"]}
    return peers


def ingress_clients(server: str, port: int) -> set[str]:
    """The workloads the Ingress policies let connect to `server` on `port`; each rule must
    name its peers (pods of this namespace) and that one port."""
    allowed = set()
    for policy in network_policies():
        spec = policy["spec"]
        if "Ingress" not in spec["policyTypes"]:
            continue
        if not selects(spec["podSelector"], files.pod_labels(workload_named(server))):
            continue
        for rule in spec.get("ingress", []):
            assert "from" in rule, f"{policy['metadata']['name']} opens {server} to everyone"
            assert [p["port"] for p in rule["ports"]] == [port], policy["metadata"]["name"]
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, "server peers are pods of this namespace only"
                allowed |= set(selected_workloads(peer["podSelector"]))
    return allowed


@pytest.fixture
def api() -> dict:
    return files.find("Deployment", "ecommerce-api")


# --- References between objects -------------------------------------------------------


def test_each_workload_selector_matches_its_own_pod_template():
    for workload in workloads():
        if workload["kind"] in files.RUN_TO_COMPLETION_KINDS:
            continue
        assert selects(workload["spec"]["selector"], files.pod_labels(workload)), workload["metadata"]["name"]


@pytest.mark.parametrize(
    "service", [doc for doc in files.all_resources() if doc["kind"] == "Service"], ids=lambda s: s["metadata"]["name"]
)
def test_every_service_selects_exactly_one_workload_and_its_named_ports(service):
    (name,) = selected_workloads(service["spec"]["selector"])
    workload = next(w for w in workloads() if w["metadata"]["name"] == name)
    port_names = {port["name"] for c in files.containers(workload) for port in c.get("ports", [])}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in port_names, f"{name}: no container port {port['targetPort']}"


def test_statefulsets_are_governed_by_headless_services_of_their_own():
    for statefulset in (w for w in workloads() if w["kind"] == "StatefulSet"):
        service = files.find("Service", statefulset["spec"]["serviceName"])
        assert service["spec"]["clusterIP"] == "None"
        assert selected_workloads(service["spec"]["selector"]) == [statefulset["metadata"]["name"]]
        assert statefulset["spec"]["volumeClaimTemplates"], statefulset["metadata"]["name"]


def test_hpa_scales_the_api_deployment_from_3_to_10_on_cpu(api):
    hpa = files.find("HorizontalPodAutoscaler", "ecommerce-api")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == ("apps/v1", "Deployment", api["metadata"]["name"])
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    # The HPA owns the replica count; a `replicas` in the manifest would reset it on every apply.
    assert "replicas" not in api["spec"]


def test_pdb_covers_the_api_pods_only():
    pdb = files.find("PodDisruptionBudget", "ecommerce-api")
    assert selected_workloads(pdb["spec"]["selector"]) == ["ecommerce-api"]


def test_the_namespace_denies_all_traffic_by_default():
    default_deny = files.find("NetworkPolicy", "default-deny")
    assert default_deny["spec"]["podSelector"] == {}
    assert set(default_deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}


@pytest.mark.parametrize("database", sorted(DATABASES))
def test_each_database_admits_exactly_its_clients(database):
    expected = {client for client, databases in CLIENT_DATABASES.items() if database in databases}
    assert ingress_clients(database, DATABASES[database]) == expected


def test_only_the_api_and_the_catalog_repair_reach_redis():
    assert ingress_clients("redis", SERVERS["redis"]) == CACHE_CLIENTS


@pytest.mark.parametrize("client", sorted(DATABASE_CLIENTS))
def test_each_client_may_open_exactly_the_connections_its_servers_accept(client):
    """Both ends of every connection: what a client's egress allows is what the servers' ingress
    admits from it (a one-sided rule is a connection that times out)."""
    expected = {(name, DATABASES[name]) for name in CLIENT_DATABASES[client]}
    if client in CACHE_CLIENTS:
        expected.add(("redis", SERVERS["redis"]))
    assert egress_peers(workload_named(client)) == expected
    for name, port in expected:
        assert client in ingress_clients(name, port)


def test_the_servers_open_no_connections_of_their_own():
    for name in SERVERS:
        assert egress_peers(workload_named(name)) == set(), name


def test_config_and_secret_references_exist():
    kustomization = files.yaml.safe_load((files.K8S / "kustomization.yaml").read_text())
    config_maps = {g["name"] for g in kustomization["configMapGenerator"]}
    secrets = {g["name"]: files.secret_template() for g in kustomization["secretGenerator"]}
    for workload in workloads():
        for container in files.containers(workload):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]], f"{ref['name']} has no key {ref['key']}"
        for volume in files.pod_spec(workload).get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps


def test_every_object_has_a_deploy_phase():
    """deploy-k8s.sh applies the objects by app.kubernetes.io/component, phase by phase."""
    phases = {"platform", "config", "database", "cache", "migration", "api", "maintenance"}
    for doc in files.resources(files.K8S):
        assert doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") in phases, doc["metadata"]["name"]
    script = (files.DEPLOY / "deploy-k8s.sh").read_text()
    for phase in phases:
        assert re.search(rf'apply_component "[a-z,]*\b{phase}\b', script), phase


# --- Probes, shutdown, hardening --------------------------------------------------------------


def test_api_probes_hit_real_routes_with_an_allowed_host(api):
    (container,) = files.pod_spec(api)["containers"]
    allowed_hosts = files.config_env()["ALLOWED_HOSTS"].split(",")
    port_names = {port["name"] for port in container["ports"]}
    routes = {}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        http_get = container[probe]["httpGet"]
        routes[probe] = resolve(http_get["path"]).url_name
        assert http_get["port"] in port_names
        (host,) = [h["value"] for h in http_get["httpHeaders"] if h["name"] == "Host"]
        assert validate_host(host, allowed_hosts), f"{probe}: Django would answer 400 to Host {host}"
    # Liveness never depends on a database; readiness checks all three stores.
    assert routes == {"startupProbe": "health-live", "livenessProbe": "health-live", "readinessProbe": "health"}


def test_image_healthcheck_hits_the_liveness_route():
    command = files.dockerfile_healthcheck_command()
    (path,) = re.findall(r"/health[\w/]*", command[-1])
    assert resolve(path).url_name == "health-live"


def test_api_shuts_down_gracefully_within_the_grace_period(api):
    spec = files.pod_spec(api)
    (container,) = spec["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    graceful = int(files.config_env().get("GUNICORN_GRACEFUL_TIMEOUT", 25))
    assert spec["terminationGracePeriodSeconds"] > int(pre_stop[1]) + graceful
    rolling = api["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0 and rolling["maxSurge"] >= 1


def test_api_runs_as_the_image_user_on_a_read_only_root(api):
    spec = files.pod_spec(api)
    (user,) = [args for instruction, args in files.runtime_instructions() if instruction == "USER"]
    assert user == "10001:10001"
    assert spec["securityContext"]["runAsUser"] == 10001
    (container,) = spec["containers"]
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert "/tmp" in mounts  # noqa: S108 - the pod's own emptyDir


@pytest.mark.parametrize("workload", workloads(), ids=lambda w: w["metadata"]["name"])
def test_every_pod_is_hardened_and_sized(workload):
    spec = files.pod_spec(workload)
    pod_context = spec["securityContext"]
    assert pod_context["runAsNonRoot"] is True and pod_context["runAsUser"] > 0
    assert pod_context["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    # A Service named `locust` would otherwise hand Locust LOCUST_PORT=tcp://..., and so on.
    assert spec["enableServiceLinks"] is False
    for container in files.containers(workload):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{container['name']}: {kind}"


NO_ENDPOINT = {"locust-worker", "events-relay"}


def test_every_long_running_container_has_probes():
    for workload in workloads():
        # Neither serves anything and no Service routes to them, so readiness would gate nothing.
        if workload["kind"] in files.RUN_TO_COMPLETION_KINDS or workload["metadata"]["name"] in NO_ENDPOINT:
            continue
        for container in files.pod_spec(workload)["containers"]:
            assert "readinessProbe" in container, workload["metadata"]["name"]
            if workload["kind"] != "Deployment" or workload["metadata"]["name"] == "ecommerce-api":
                assert {"livenessProbe", "startupProbe"} <= set(container), workload["metadata"]["name"]


def test_the_relays_liveness_reads_the_heartbeat_file_its_command_touches():
    """A stuck relay (a frozen connection) is restarted; one with nothing to send is not."""
    (container,) = files.pod_spec(files.find("Deployment", "events-relay"))["containers"]
    command = container["command"]
    heartbeat = command[command.index("--heartbeat-file") + 1]
    # In a mounted volume: the root filesystem is read-only.
    assert any(heartbeat.startswith(mount["mountPath"] + "/") for mount in container["volumeMounts"])
    for probe in ("startupProbe", "livenessProbe"):
        check = container[probe]["exec"]["command"]
        assert check[:2] == ["python", "-c"] and f"'{heartbeat}'" in check[2], probe
        stale_after = int(re.search(r"> (\d+)\)", check[2]).group(1))
        # Far above the loop's turn (a second; a claim's connect timeout is 3 s).
        assert stale_after >= 30, probe
    assert "readinessProbe" not in container  # nothing routes to it


def test_the_namespace_enforces_the_restricted_pod_security_standard():
    labels = files.find("Namespace", "ecommerce")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


# --- Images -------------------------------------------------------------------------------------

_PINNED = re.compile(r"^[\w./-]+(:[\w.-]*\d[\w.-]*)?(@sha256:[0-9a-f]{64})?$")


def assert_pinned(image: str) -> None:
    assert _PINNED.match(image) and (":" in image or "@sha256:" in image), f"{image} is not pinned"
    tag = image.rsplit("@", 1)[0].rsplit(":", 1)[-1]
    assert tag not in {"latest", "stable", "lts"}, f"{image} floats"


def test_every_image_is_pinned():
    images = []
    for directory in (files.K8S, files.LOADTEST_K8S):
        kustomization = files.yaml.safe_load((directory / "kustomization.yaml").read_text())
        rewritten = {entry["name"]: f"{entry['newName']}:{entry['newTag']}" for entry in kustomization["images"]}
        for doc in files.resources(directory):
            if doc["kind"] in files.WORKLOAD_KINDS:
                images += [rewritten.get(c["image"], c["image"]) for c in files.containers(doc)]
    images += [service["image"] for service in files.compose()["services"].values()]
    images += [args.split()[0] for instruction, args in files.dockerfile_instructions() if instruction == "FROM"]
    assert images
    for image in images:
        assert_pinned(image)
    # The builder and the runtime stand on the same base image.
    assert len({args.split()[0] for instruction, args in files.dockerfile_instructions() if instruction == "FROM"}) == 1


def test_the_deploy_script_knows_the_pinned_api_image_name():
    kustomization = files.yaml.safe_load((files.K8S / "kustomization.yaml").read_text())
    (entry,) = kustomization["images"]
    assert f'PINNED_IMAGE_NAME="{entry["newName"]}"' in (files.DEPLOY / "deploy-k8s.sh").read_text()


# --- Configuration -----------------------------------------------------------------------------


def test_every_setting_read_from_the_environment_is_configured_or_deliberately_optional():
    read = env_read_by_settings()
    provided = set(files.config_env()) | set(files.secret_template())
    missing = read - provided - set(OPTIONAL_ENV)
    assert not missing, f"set these in deploy/k8s/config.env or secrets.env.example, or allow them: {sorted(missing)}"
    # The allowlist stays honest: only names that are read, and none the ConfigMap sets anyway.
    assert not set(OPTIONAL_ENV) - read, f"no longer read: {sorted(set(OPTIONAL_ENV) - read)}"
    assert not set(OPTIONAL_ENV) & provided
    assert not set(files.config_env()) & set(files.secret_template())


def test_env_example_documents_every_variable():
    undocumented = env_read_by_settings() - files.documented_env_names()
    assert not undocumented, f"add to .env.example: {sorted(undocumented)}"


def test_configmap_is_production_grade():
    config = files.config_env()
    expected = {
        "DEBUG": "0",
        "BEHIND_PROXY": "1",
        "NUM_PROXIES": "1",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "THROTTLE_ENABLED": "1",
        "PORT": "8080",
    }
    assert {key: config.get(key) for key in expected} == expected
    assert "*" not in config["ALLOWED_HOSTS"]
    for key in ("LOG_LEVEL", "WEB_CONCURRENCY", "CURRENCY", "DB_CONNECT_TIMEOUT", "DB_STATEMENT_TIMEOUT_MS"):
        assert config.get(key), key


def app_workloads() -> list[dict]:
    """The pods of our image that use the stores: the API, the migration Job, the repair CronJobs."""
    return [w for w in workloads() if w["metadata"]["name"] in DATABASE_CLIENTS]


def test_secrets_reach_our_workloads_by_name_and_nothing_real_is_committed():
    assert {w["metadata"]["name"] for w in app_workloads()} == DATABASE_CLIENTS
    for workload in app_workloads():
        (container,) = files.pod_spec(workload)["containers"]
        from_secret = {v["name"] for v in container.get("env", []) if "secretKeyRef" in v.get("valueFrom", {})}
        assert from_secret == SECRET_ENV, workload["metadata"]["name"]
        # Only the ConfigMap comes in whole; the databases' root passwords stay out of the API.
        assert all("configMapRef" in source for source in container["envFrom"])
    template = files.secret_template()
    assert all(value == "" or "<" in value for value in template.values()), "secrets.env.example holds a value"
    assert "secrets.env" in (files.K8S / ".gitignore").read_text().split()
    assert not (files.K8S / "secrets.env").exists() or _ignored_by_git(files.K8S / "secrets.env")


def _ignored_by_git(path) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=files.ROOT).returncode == 0


def test_migration_job_runs_setup_stores_with_the_api_image(api):
    job = files.find("Job", "ecommerce-migrate")
    (container,) = files.pod_spec(job)["containers"]
    assert container["command"] == ["python", "manage.py", "setup_stores", "--skip-create"]
    assert container["image"] == files.pod_spec(api)["containers"][0]["image"]
    assert files.pod_spec(job)["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] >= 3


# --- Scheduled jobs -----------------------------------------------------------------------------

# CronJob name -> (command, schedule, the longest gap between runs in seconds, the longest a
# run may take). A run may outlast the gap only where Forbid makes the runs due meanwhile wait.
REPAIRS = {
    "ecommerce-reconcile-orders": (["python", "manage.py", "reconcile_orders"], "* * * * *", 60, 240),
    "ecommerce-catalog-repair": (["python", "manage.py", "catalog_repair"], "17 * * * *", 3600, 1800),
    "prune-events": (["python", "manage.py", "prune_events"], "41 3 * * *", 86400, 3600),
    "repair-events": (["python", "manage.py", "repair_events"], "1-59/5 * * * *", 300, 900),
    "ecommerce-reconcile-payments": (["python", "manage.py", "reconcile_payments"], "3-59/5 * * * *", 300, 600),
}


@pytest.mark.parametrize("name", sorted(REPAIRS))
def test_repair_cronjobs_run_their_command_one_at_a_time_within_the_period(name):
    command, schedule, period, longest_run = REPAIRS[name]
    cronjob = files.find("CronJob", name)
    spec, job = cronjob["spec"], files.job_spec(cronjob)
    (container,) = files.pod_spec(cronjob)["containers"]
    assert container["command"] == command
    assert command[2] in get_commands(), f"no management command {command[2]}"
    assert spec["schedule"] == schedule
    # Never two runs at once; a run missed by a while is skipped, not caught up in a burst.
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["startingDeadlineSeconds"] < period
    assert 1 <= spec["successfulJobsHistoryLimit"] <= 5 and 1 <= spec["failedJobsHistoryLimit"] <= 5
    # A hung run is stopped: it cannot hold the next runs back (Forbid) for longer than this.
    assert 0 < job["activeDeadlineSeconds"] <= longest_run
    assert files.pod_spec(cronjob)["restartPolicy"] == "Never"
    # The job's pods carry the labels the NetworkPolicies select on.
    assert files.pod_labels(cronjob)["app.kubernetes.io/name"] == name


@pytest.mark.parametrize("name", sorted(REPAIRS))
def test_repair_cronjobs_run_like_the_migration_job(name):
    """Same image, configuration, secrets and hardening as the migration Job."""
    migrate, cronjob = files.find("Job", "ecommerce-migrate"), files.find("CronJob", name)
    (job_container,) = files.pod_spec(migrate)["containers"]
    (container,) = files.pod_spec(cronjob)["containers"]
    for key in ("image", "envFrom", "securityContext", "volumeMounts"):
        assert container[key] == job_container[key], key
    secret_env = [var for var in container["env"] if "valueFrom" in var]
    assert secret_env == [var for var in job_container["env"] if "valueFrom" in var]
    for key in ("securityContext", "volumes", "automountServiceAccountToken", "enableServiceLinks"):
        assert files.pod_spec(cronjob)[key] == files.pod_spec(migrate)[key], key


def test_mysql_waits_for_its_longest_statement_in_every_pod_that_uses_it():
    """mysqlclient's read timeout cuts a statement still running: a pod that raises its
    statement timeout for long reads (the repairs) and reaches MySQL must raise that too, or
    its long statements die after the requests' few seconds."""
    raised = []
    for workload in workloads():
        if "mysql" not in CLIENT_DATABASES.get(workload["metadata"]["name"], set()):
            continue
        (container,) = files.pod_spec(workload)["containers"]
        own = {var["name"]: var["value"] for var in container.get("env", []) if "value" in var}
        if "DB_STATEMENT_TIMEOUT_MS" in own:
            raised.append(workload["metadata"]["name"])
            assert int(own["MYSQL_IO_TIMEOUT"]) * 1000 > int(own["DB_STATEMENT_TIMEOUT_MS"]), raised[-1]
    assert sorted(raised) == [
        "ecommerce-catalog-repair",
        "ecommerce-migrate",
        "ecommerce-reconcile-orders",
        "repair-events",
    ]


# --- The events relay -------------------------------------------------------------------------------


def test_events_relay_runs_deliver_events_with_the_api_image_and_no_service(api):
    relay = files.find("Deployment", "events-relay")
    spec = files.pod_spec(relay)
    (container,) = spec["containers"]
    (api_container,) = files.pod_spec(api)["containers"]
    assert container["command"][:3] == ["python", "manage.py", "deliver_events"]
    assert "deliver_events" in get_commands()
    for key in ("image", "envFrom", "env"):
        assert container[key] == api_container[key], key
    # Two relays share the outbox (SKIP LOCKED claims), so one survives a node drain.
    assert relay["spec"]["replicas"] >= 2
    assert "ports" not in container
    services = [doc for doc in files.all_resources() if doc["kind"] == "Service"]
    assert not [s for s in services if selects(s["spec"]["selector"], files.pod_labels(relay))]


def test_events_relay_finishes_its_sends_before_the_kubelet_kills_it():
    """SIGTERM stops claiming; the sends in flight (each bounded by the webhook timeout) are
    recorded before exit, so the grace period must outlast one send with room to record it."""
    from django.conf import settings

    relay = files.find("Deployment", "events-relay")
    assert files.pod_spec(relay)["terminationGracePeriodSeconds"] >= 2 * settings.WEBHOOKS_TIMEOUT_SECONDS
    assert "lifecycle" not in files.pod_spec(relay)["containers"][0], "nothing to drain from a load balancer"


def test_only_the_relay_and_the_payment_callers_leave_the_cluster_and_never_to_private_addresses():
    """The relay to any port of the webhooks' public addresses; the API and reconcile_payments
    (refunds asked again) to the payment provider on 443."""
    private = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"}
    leaving = {}
    for policy in network_policies():
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if "ipBlock" not in peer:
                    continue
                assert private <= set(peer["ipBlock"]["except"]), policy["metadata"]["name"]
                for name in selected_workloads(policy["spec"]["podSelector"]):
                    leaving[name] = sorted(port.get("port", "any") for port in rule["ports"])
    assert leaving == {"events-relay": ["any"], "ecommerce-api": [443], "ecommerce-reconcile-payments": [443]}


# --- The Redis cache -------------------------------------------------------------------------------


def redis_flags(args: list[str]) -> dict[str, str]:
    """`--name value` pairs of a redis-server command line."""
    assert len(args) % 2 == 0 and all(name.startswith("--") for name in args[::2]), args
    return dict(zip(args[::2], args[1::2], strict=True))


def test_redis_is_a_cache_without_persistence_run_as_its_own_user():
    redis = files.find("Deployment", "redis")
    spec = files.pod_spec(redis)
    (container,) = spec["containers"]
    assert redis["spec"]["replicas"] == 1
    # Two caches behind one Service during a rollout would split the catalog generation.
    assert redis["spec"]["strategy"]["type"] == "Recreate"
    assert container["image"].startswith("redis:7.") and container["image"].endswith("-alpine")
    # redis-server itself, not the entrypoint that starts as root to chown /data.
    assert container["command"] == ["redis-server"]
    flags = redis_flags(container["args"])
    assert flags == {
        "--port": "6379",
        "--protected-mode": "no",
        "--save": "",
        "--appendonly": "no",
        "--maxmemory": "256mb",
        "--maxmemory-policy": "allkeys-lru",
    }
    assert spec["securityContext"]["runAsUser"] == 999
    assert {mount["mountPath"] for mount in container["volumeMounts"]} == {"/data"}
    (volume,) = spec["volumes"]
    assert "emptyDir" in volume
    # The memory limit leaves room above maxmemory for Redis's own overhead.
    limit = container["resources"]["limits"]["memory"]
    assert limit.endswith("Mi") and int(limit[:-2]) > 256 * 1.25


def test_the_configmap_points_every_replica_at_the_redis_service():
    config = files.config_env()
    url = urlparse(config["REDIS_URL"])
    service = files.find("Service", "redis")
    (port,) = service["spec"]["ports"]
    assert url.scheme == "redis" and (url.hostname, url.port) == (service["metadata"]["name"], port["port"])
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    # No password in the URL, and none asked by the server: the NetworkPolicy is the guard.
    assert url.password is None
    assert "--requirepass" not in files.pod_spec(files.find("Deployment", "redis"))["containers"][0]["args"]
    assert int(config["CATALOG_CACHE_SECONDS"]) > 0
