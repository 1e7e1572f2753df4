"""Importing the production settings writes nothing (issue 13): the embedded default's key is
made by `make run` (ecommerce.tooling.serve) and only read by the settings."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def _import_settings(data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MYSQL_URL", "MONGO_URL", "SECRET_KEY"}}
    env.update(DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="ecommerce.settings", DEBUG="0")
    script = "from django.conf import settings\nprint(settings.SECRET_KEY)"
    return subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_a_key_the_embedded_settings_refuse_and_create_nothing(tmp_path):
    data_dir = tmp_path / "var"

    result = _import_settings(data_dir)

    assert result.returncode != 0
    assert "make run" in result.stderr and "SECRET_KEY" in result.stderr
    assert not data_dir.exists()


def test_the_embedded_settings_read_the_key_serve_made(tmp_path):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "secret_key").write_text("k" * 50 + "\n")

    result = _import_settings(data_dir)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "k" * 50
    assert sorted(p.name for p in data_dir.iterdir()) == ["secret_key"]
