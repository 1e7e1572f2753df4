import json
import os

import pytest
from django.db import connections
from django.urls import reverse

from ecommerce.api.exceptions import NotFoundError
from ecommerce.routers import DatabaseRouter
from ecommerce.stores import mongo

pytestmark = pytest.mark.django_db(databases="__all__")


def test_health_reports_three_stores_with_engines(anon_client):
    response = anon_client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"postgres", "mysql", "mongodb"}
    assert body["checks"]["postgres"]["engine"] == "postgresql"
    assert body["checks"]["mysql"]["engine"] == "mysql"
    # The suite runs on nx-27017 unless MONGO_URL names a real MongoDB.
    assert body["checks"]["mongodb"]["engine"] == ("mongodb" if os.environ.get("MONGO_URL") else "nx-27017")
    assert all(check["latency_ms"] >= 0 for check in body["checks"].values())


def test_liveness_touches_no_database(anon_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anon_client.get("/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_request_id_is_echoed_or_made(anon_client):
    echoed = anon_client.get("/health/live", HTTP_X_REQUEST_ID="abc-123")
    made = anon_client.get("/health/live")
    hostile = anon_client.get("/health/live", HTTP_X_REQUEST_ID="<script>")

    assert echoed["X-Request-ID"] == "abc-123"
    assert len(made["X-Request-ID"]) == 32
    assert hostile["X-Request-ID"] != "<script>"


def test_unknown_path_outside_drf_is_json_404(anon_client):
    response = anon_client.get("/nope")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "details": {}}}
    assert "X-Request-ID" in response


def test_malformed_json_is_validation_error(anon_client):
    response = anon_client.post("/api/users", data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_body_over_one_mib_is_413(anon_client):
    body = json.dumps({"email": "x" * (1024 * 1024 + 1)})

    response = anon_client.post("/api/users", data=body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_wrong_method_is_405_in_the_contract_shape(customer_client):
    response = customer_client.post("/api/users/me")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_options_is_405_not_a_crash(customer_client, customer):
    response = customer_client.options(f"/api/users/{customer.id}")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_bad_pagination_parameters_are_400(staff_client):
    assert staff_client.get("/api/users", {"limit": "abc"}).status_code == 400
    assert staff_client.get("/api/users", {"offset": "-1"}).status_code == 400
    assert staff_client.get("/api/users", {"limit": 1000}).status_code == 200


def test_router_sends_inventory_and_analytics_to_mysql_only():
    router = DatabaseRouter()

    assert router.allow_migrate("mysql", "inventory") and not router.allow_migrate("default", "inventory")
    assert router.allow_migrate("mysql", "analytics") and not router.allow_migrate("default", "analytics")
    for app in ("users", "orders", "cart", "auth", "contenttypes", "admin", "sessions"):
        assert router.allow_migrate("default", app) and not router.allow_migrate("mysql", app)


def test_migrations_landed_only_where_they_belong():
    default_tables = set(connections["default"].introspection.table_names())
    mysql_tables = set(connections["mysql"].introspection.table_names())

    assert "users_user" in default_tables and "users_user" not in mysql_tables
    assert not any(t.startswith(("auth_", "django_session")) for t in mysql_tables)


def test_malformed_object_id_is_not_found():
    with pytest.raises(NotFoundError):
        mongo.object_id_or_404("not-an-id")
    assert str(mongo.object_id_or_404("a" * 24)) == "a" * 24


def test_ensure_indexes_is_idempotent():
    mongo.ensure_indexes()
    mongo.ensure_indexes()


def test_schema_docs_and_metrics_are_served(anon_client):
    schema = anon_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/users" in schema.json()["paths"]

    docs = anon_client.get("/api/docs")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content
    assert b"https://" not in docs.content
    asset = anon_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert reverse("schema") == "/api/schema"

    metrics = anon_client.get("/metrics")
    assert metrics.status_code == 200 and b"django_http_requests" in metrics.content


def test_a_lone_surrogate_or_nan_in_a_body_is_a_400(staff_client):
    for body in ('{"name": "\\ud800", "price": "1.00"}', '{"name": "x", "price": NaN}'):
        response = staff_client.post("/api/products", data=body, content_type="application/json")

        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "validation_error"


def test_probes_ignore_a_stale_token(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.forged")

    assert anon_client.get("/health/live").status_code == 200
    assert anon_client.get("/health").status_code == 200


def test_metrics_are_not_served_through_the_load_balancer(anon_client, settings):
    settings.BEHIND_PROXY = True

    assert anon_client.get("/metrics").status_code == 200  # a scraper inside the cluster
    assert anon_client.get("/metrics", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 404
