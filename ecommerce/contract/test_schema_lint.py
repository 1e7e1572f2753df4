"""The OpenAPI schema is as good as the API: Redocly (pinned in package.json) finds no error in
the document a live server serves, and the schema says what a client generator needs: a summary,
a description and one domain tag per operation, security in a form generators act on, money as
two-place strings, typed errors and headers, enum member names, no HTML 414 on every operation.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny

from ecommerce.api.schema import TAGS

pytestmark = pytest.mark.django_db(databases="__all__")

BASE_DIR = Path(__file__).resolve().parents[2]
# The only operations without a 4xx answer: probes take no token and no input.
EXPECTED_WARNINGS = {
    ("operation-4xx-response", "#/paths/~1health/get/responses"),
    ("operation-4xx-response", "#/paths/~1health~1live/get/responses"),
}
NO_TOKEN = {
    ("POST", "/api/auth/token"),
    ("POST", "/api/auth/token/refresh"),
    ("POST", "/api/users"),
    ("GET", "/health"),
    ("GET", "/health/live"),
}
TOKEN_OPTIONAL = {
    ("GET", "/api/products"),
    ("GET", "/api/products/search"),
    ("GET", "/api/products/{id}"),
    ("GET", "/api/products/category/{category}"),
    ("GET", "/api/categories"),
    ("GET", "/api/categories/{id}"),
    ("GET", "/api/reviews/product/{product_id}"),
}


def redocly() -> list[str]:
    """The pinned Redocly CLI, installed from the lock file (`npm ci`) when it is not there yet."""
    npm, node = shutil.which("npm"), shutil.which("node")
    assert npm and node, "Node.js and npm are needed to lint the schema (apt-get install nodejs npm)"
    lock = json.loads((BASE_DIR / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@redocly/cli"]["version"]
    installed = BASE_DIR / "node_modules/@redocly/cli/package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != pinned:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BASE_DIR, check=True, timeout=600)
    return [node, str(BASE_DIR / "node_modules/@redocly/cli/bin/cli.js")]


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_redocly_finds_no_error_in_the_served_schema(live_api, tmp_path):
    served = requests.get(f"{live_api.url}/api/schema", params={"format": "json"}, timeout=30)
    assert served.status_code == 200
    document = tmp_path / "openapi.json"
    document.write_bytes(served.content)

    run = subprocess.run(
        [*redocly(), "lint", str(document), "--config", "redocly.yaml", "--format", "json"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )

    report = json.loads(run.stdout)
    problems = [(p["ruleId"], p["severity"], p["location"][0]["pointer"], p["message"]) for p in report["problems"]]
    assert report["totals"]["errors"] == 0, [p for p in problems if p[1] == "error"]
    assert {(rule, pointer) for rule, _, pointer, _ in problems} <= EXPECTED_WARNINGS, problems
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_the_one_html_answer_is_the_414_the_info_describes(live_api):
    """No operation lists 414 (it would type every answer as `X | Error | str`); the info says
    that the HTTP server refuses a request line over 4094 bytes with HTML, and it does."""
    response = requests.get(f"{live_api.url}/api/products/search", params={"q": "a" * 5000}, timeout=30)

    assert response.status_code == 414
    assert response.headers["Content-Type"].startswith("text/html")
    info = requests.get(f"{live_api.url}/api/schema.json", timeout=30).json()["info"]["description"]
    assert "over 4094 bytes is refused with `414`" in " ".join(info.split())


def test_every_operation_has_a_summary_a_description_and_its_domain_tag(schema):
    assert [tag["name"] for tag in schema["tags"]] == [tag["name"] for tag in TAGS]
    names = {tag["name"] for tag in TAGS}
    for method, path, operation in operations(schema):
        assert operation.get("summary", "").strip(), (method, path)
        assert "\n" not in operation["summary"] and len(operation["summary"]) <= 80, (method, path)
        assert operation.get("description", "").strip(), (method, path)
        assert len(operation["tags"]) == 1 and operation["tags"][0] in names, (method, path, operation["tags"])
    tags = {(method, path): operation["tags"][0] for method, path, operation in operations(schema)}
    assert tags[("POST", "/api/auth/token")] == "auth"
    assert tags[("GET", "/api/products/search")] == "products"
    assert tags[("GET", "/api/users/{id}/orders")] == "users"
    assert tags[("GET", "/health")] == "health"


class _LampSerializer(serializers.Serializer):
    name = serializers.CharField()


class _Lamps(viewsets.GenericViewSet):
    """Lamps, for the test of summaries."""

    permission_classes = [AllowAny]
    serializer_class = _LampSerializer

    def list(self, request):
        """List lamps

        Every lamp, brightest first."""

    def retrieve(self, request, pk=None):
        """Get a lamp"""

    def destroy(self, request, pk=None):
        """Staff only; a lamp in an order stays in it."""

    @action(detail=False, methods=["get"])
    def dim(self, request):
        pass


def test_summaries_come_from_docstrings_then_the_table(monkeypatch):
    """Several lines: summary and description. One line: the summary, unless the table has the
    operation, then the table's summary and the line as description. None: the table's."""
    from django.urls import include, path
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.routers import SimpleRouter

    from ecommerce.api import schema as schema_module

    monkeypatch.setitem(schema_module.OPERATION_TEXT, "api_lamps_destroy", ("Delete a lamp", "unused"))
    monkeypatch.setitem(schema_module.OPERATION_TEXT, "api_lamps_dim_retrieve", ("Dim lamps", "The dim ones."))
    router = SimpleRouter(trailing_slash=False)
    router.register("lamps", _Lamps, basename="lamp")
    generated = SchemaGenerator(patterns=[path("api/", include(router.urls))]).get_schema(request=None, public=True)

    texts = {op["operationId"]: (op.get("summary"), op.get("description")) for _, _, op in operations(generated)}
    assert texts["api_lamps_list"] == ("List lamps", "Every lamp, brightest first.")
    assert texts["api_lamps_retrieve"] == ("Get a lamp", "Lamps, for the test of summaries.")
    assert texts["api_lamps_destroy"] == ("Delete a lamp", "Staff only; a lamp in an order stays in it.")
    assert texts["api_lamps_dim_retrieve"] == ("Dim lamps", "The dim ones.")
    assert generated["paths"]["/api/lamps"]["get"]["tags"] == ["lamps"]


def test_security_is_required_optional_or_none_in_forms_generators_handle(schema):
    assert schema["security"] == [{"jwtAuth": []}, {}]
    assert schema["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for method, path, operation in operations(schema):
        # Three forms only: none, optional (the root's), required.
        assert operation.get("security", "root") in ([], "root", [{"jwtAuth": []}]), (method, path)
        if (method, path) in NO_TOKEN:
            assert operation["security"] == [], (method, path)
        elif (method, path) in TOKEN_OPTIONAL:
            assert "security" not in operation, (method, path)
        elif path.startswith(("/api/orders", "/api/cart", "/api/users", "/api/inventory", "/api/analytics")):
            assert operation["security"] == [{"jwtAuth": []}], (method, path)


def test_money_is_a_two_place_string_in_answers_and_documented_as_read_in_bodies(schema):
    answers, inputs = 0, 0
    for name, component in schema["components"]["schemas"].items():
        for field, prop in component.get("properties", {}).items():
            if prop.get("format") != "decimal":
                continue
            assert prop["type"] == "string" and "-" not in prop["pattern"], (name, field, prop)
            assert re.match(prop["pattern"], prop["example"]), (name, field)
            if name.endswith("Request"):
                inputs += 1
                assert re.fullmatch(r"\^\\d\{1,\d+\}\(\\\.\\d\{1,2\}\)\?\$", prop["pattern"]), (name, field)
                assert "JSON number" in prop["description"], (name, field)
            else:
                answers += 1
                assert re.fullmatch(r"\^\\d\{1,\d+\}\\\.\\d\{2\}\$", prop["pattern"]), (name, field)
                for bad in ("", "-1.00", "0.4", "19.9", "12"):
                    assert not re.match(prop["pattern"], bad), (name, field, bad)
    assert answers >= 10 and inputs >= 2
    price = schema["components"]["schemas"]["Product"]["properties"]["price"]
    assert price["example"] == "19.99"


def test_the_api_reads_money_as_its_schema_says(staff_client):
    """The input description promises a string with up to two places, or a JSON number."""
    for sent, answered in (("20", "20.00"), (19.5, "19.50"), ("19.99", "19.99")):
        response = staff_client.post("/api/products", {"name": f"Lamp {sent}", "price": sent}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["price"] == answered
    for refused in ("-1", "19.999", "", "0"):
        response = staff_client.post("/api/products", {"name": "Nope", "price": refused}, format="json")
        assert response.status_code == 400, (refused, response.content)
        assert "price" in response.json()["error"]["details"]


def test_errors_are_typed_per_code_and_headers_documented(schema):
    components = schema["components"]
    assert set(components["schemas"]["Error"]["properties"]) == {"error"}
    details = components["schemas"]["ErrorDetails"]["properties"]["database"]
    assert details["enum"] == ["postgres", "mysql", "mongodb"]
    item = components["schemas"]["OutOfStockItem"]
    assert set(item["required"]) == {"product_id", "requested", "available"}
    assert set(components["headers"]) == {"X-Request-ID", "Retry-After", "Idempotent-Replayed"}
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            assert response["headers"]["X-Request-ID"] == {"$ref": "#/components/headers/X-Request-ID"}
            assert "text/html" not in response.get("content", {}), (method, path, status)
            body = response.get("content", {}).get("application/json", {}).get("schema")
            if status == "429":
                assert "Retry-After" in response["headers"], (method, path)
            if path.startswith("/api/") and status == "400":
                assert body == {"$ref": "#/components/schemas/ValidationError"}, (method, path)
            if path.startswith("/api/") and status == "503":
                assert body == {"$ref": "#/components/schemas/Error"}, (method, path)
        assert "414" not in operation["responses"], (method, path)
    place = schema["paths"]["/api/orders"]["post"]["responses"]
    assert {"$ref": "#/components/schemas/OutOfStockError"} in place["409"]["content"]["application/json"]["schema"][
        "anyOf"
    ]
    assert "Idempotent-Replayed" in place["201"]["headers"]
    assert "414" in schema["info"]["description"]


def test_enums_have_member_names_and_components_no_doubled_suffix(schema):
    sort = next(p for p in schema["paths"]["/api/products"]["get"]["parameters"] if p["name"] == "sort")["schema"]
    assert dict(zip(sort["enum"], sort["x-enum-varnames"], strict=True)) == {
        "price": "PRICE",
        "-price": "PRICE_DESC",
        "name": "NAME",
        "-name": "NAME_DESC",
        "created_at": "CREATED_AT",
        "-created_at": "CREATED_AT_DESC",
    }
    assert not [name for name in schema["components"]["schemas"] if "RequestRequest" in name]
    assert "TokenRequest" in schema["components"]["schemas"]
    assert schema["servers"] == [{"url": "/", "description": "The server that serves this document."}]


def test_schema_is_served_as_yaml_and_json_and_the_docs_with_a_trailing_slash(anon_client):
    as_yaml = anon_client.get("/api/schema")
    assert as_yaml.status_code == 200 and "json" not in as_yaml["Content-Type"]
    document = yaml.safe_load(as_yaml.content)
    assert document["openapi"].startswith("3.")
    for response in (
        anon_client.get("/api/schema?format=json"),
        anon_client.get("/api/schema", HTTP_ACCEPT="application/json"),
        anon_client.get("/api/schema.json"),
    ):
        assert response.status_code == 200 and "json" in response["Content-Type"]
        assert json.loads(response.content)["paths"].keys() == document["paths"].keys()
    assert yaml.safe_load(anon_client.get("/api/schema.yaml").content)["info"] == document["info"]
    for docs in ("/api/docs", "/api/docs/"):
        page = anon_client.get(docs)
        assert page.status_code == 200 and b"swagger" in page.content.lower(), docs
