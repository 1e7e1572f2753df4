"""The settings under the production ConfigMap pass Django's deployment checklist, and the
image's build step can import them without any database."""

import os
import secrets
import subprocess
import sys

from deploy.tests import files


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=files.ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def production_env(**overrides: str) -> dict:
    """What an API pod sees: the ConfigMap, the Secret's keys, nothing of this shell's settings."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}  # noqa: S108
    env.update(files.config_env())
    env.update(
        DJANGO_SETTINGS_MODULE="ecommerce.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ecommerce"),
        MYSQL_URL=os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306/ecommerce"),
        MONGO_URL="mongodb://127.0.0.1:27017/ecommerce",
    )
    env.update(overrides)
    return env


def test_configmap_passes_check_deploy_at_warning_level():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_would_catch_a_weaker_configuration():
    # The same run with HTTPS redirects off must fail: the check above is not vacuous.
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(SECURE_SSL_REDIRECT="0"))
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


def test_image_build_step_collects_static_files_without_databases(tmp_path):
    """The Dockerfile's `RUN SECRET_KEY=build-only ... collectstatic`: no URL, no DEBUG, no ENV secret."""
    (run_step,) = [args for instruction, args in files.dockerfile_instructions() if "collectstatic" in args]
    assert run_step.startswith("SECRET_KEY=build-only")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "STATIC_ROOT": str(tmp_path / "static")}
    env["SECRET_KEY"] = run_step.split()[0].partition("=")[2]
    result = manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "admin").is_dir()
    assert (tmp_path / "static" / "drf_spectacular_sidecar").is_dir()
