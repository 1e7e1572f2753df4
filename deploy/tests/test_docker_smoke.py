"""The parts of `make docker-smoke` that need no Docker: the nginx configuration it serves
(the project's, with only the Docker-specific lines swapped) and the stand-in base's root
filesystem made like python:*-slim. The smoke itself runs in CI after the tests."""

import re
import shutil
import subprocess

import pytest

from deploy import docker_smoke
from deploy.tests import files


def test_the_smoke_serves_the_projects_nginx_conf_with_only_the_upstreams_and_paths_swapped(tmp_path):
    original = (files.DEPLOY / "nginx.conf").read_text()
    conf = docker_smoke.nginx_config(tmp_path).read_text()

    servers = re.findall(r"^\s*server (\S+) max_fails=3 fail_timeout=10s;", conf, flags=re.MULTILINE)
    assert servers == [f"127.0.0.1:{port}" for port in docker_smoke.REPLICA_PORTS]
    assert "resolver" not in conf and "api:8080" not in conf
    # The read-only container's /tmp paths become the run folder's.
    assert f"pid {tmp_path}/nginx.pid;" in conf and conf.count(f"_temp_path {tmp_path}/") == 5
    assert f"listen 127.0.0.1:{docker_smoke.NGINX_PORT};" in conf
    # Everything that shapes a request is the project's own, line for line.
    for directive in ("proxy_set_header", "proxy_next_upstream", "proxy_read_timeout", "client_max_body_size",
                      "location", "return 404", "keepalive 32"):  # fmt: skip
        kept = [line.strip() for line in original.splitlines() if directive in line]
        assert kept and kept == [line.strip() for line in conf.splitlines() if directive in line], directive

    nginx = shutil.which("nginx")
    if nginx:
        checked = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                                 capture_output=True, text=True)  # fmt: skip
        assert checked.returncode == 0, checked.stderr


def test_a_changed_nginx_conf_stops_the_smoke_instead_of_serving_something_else(tmp_path, monkeypatch):
    fake_root = tmp_path / "root"
    (fake_root / "deploy").mkdir(parents=True)
    conf = (files.DEPLOY / "nginx.conf").read_text().replace("server api:8080 resolve", "server api:8080")
    (fake_root / "deploy" / "nginx.conf").write_text(conf)
    monkeypatch.setattr(docker_smoke, "ROOT", fake_root)
    with pytest.raises(docker_smoke.SmokeFailure, match="changed shape"):
        docker_smoke.nginx_config(tmp_path)


def test_the_stand_in_root_filesystem_is_made_like_python_slim(tmp_path):
    rootfs = tmp_path / "rootfs"
    for folder in ("usr/local/bin", "etc/dpkg/dpkg.cfg.d", "etc/apt/apt.conf.d", "etc/apt/sources.list.d",
                   "etc/ssl/certs", "usr/share/doc/libc6", "usr/share/man/man1", "usr/share/locale/de",
                   "var/cache/apt/archives", "var/lib/apt/lists"):  # fmt: skip
        (rootfs / folder).mkdir(parents=True)
    (rootfs / "usr/share/doc/libc6/copyright").write_text("GPL")
    (rootfs / "usr/share/doc/libc6/changelog.gz").write_text("...")
    (rootfs / "usr/share/man/man1/ls.1.gz").write_text("...")
    (rootfs / "usr/share/locale/locale.alias").write_text("...")
    (rootfs / "var/cache/apt/pkgcache.bin").write_text("...")
    (rootfs / "var/lib/apt/lists/some_Packages").write_text("...")

    docker_smoke.make_like_python_slim(rootfs)
    docker_smoke.make_like_python_slim(rootfs)  # idempotent: a cached root filesystem is made again

    assert (rootfs / "usr/local/bin/python").readlink().as_posix() == "/usr/bin/python3"
    assert (rootfs / "usr/local/bin/python3").readlink().as_posix() == "/usr/bin/python3"
    assert "path-exclude /usr/share/doc/*" in (rootfs / "etc/dpkg/dpkg.cfg.d/docker").read_text()
    assert "/var/cache/apt/*.bin" in (rootfs / "etc/apt/apt.conf.d/docker-clean").read_text()
    assert (rootfs / "usr/share/doc/libc6/copyright").exists()
    assert not (rootfs / "usr/share/doc/libc6/changelog.gz").exists()
    assert not any((rootfs / "usr/share/man").iterdir())
    assert [p.name for p in (rootfs / "usr/share/locale").iterdir()] == ["locale.alias"]
    assert not (rootfs / "var/cache/apt/pkgcache.bin").exists()
    assert [p.name for p in (rootfs / "var/lib/apt/lists").iterdir()] == ["partial"]
    assert (rootfs / "etc/ssl/certs/ca-certificates.crt").read_bytes() == (
        files.Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()
    )
