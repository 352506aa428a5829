"""The container cluster: docker-compose.yml, deploy/nginx.conf and the Dockerfile.

Needs no docker engine: `docker compose config` (or Debian's docker-compose 1.29) resolves
and validates the file on its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
PROFILES = [(), ("rabbitmq",), ("flower",), ("rabbitmq", "flower")]
APP_SERVICES = ["web1", "web2", "worker", "beat"]
BASE_SERVICES = {"redis", "nginx", *APP_SERVICES}


def compose_command() -> list[str]:
    """Return the compose CLI: the docker plugin where it works, else docker-compose."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (apt docker-compose)")


def compose_env(**extra: str) -> dict[str, str]:
    """Return a clean environment for compose: no stray settings from the caller's shell."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(extra)
    return env


def run_config(profiles: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `config` on docker-compose.yml with the given profiles enabled."""
    command = compose_command()
    # An empty env file: a developer's .env must not change what the tests see.
    with tempfile.NamedTemporaryFile(suffix=".env") as env_file:
        args = [*command, "-f", str(ROOT / "docker-compose.yml"), "--env-file", env_file.name]
        for profile in profiles:
            args += ["--profile", profile]
        args.append("config")
        if command[0] == "docker":
            args += ["--format", "json"]
        return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def parse_config(text: str) -> dict:
    """Parse `config` output: JSON from the plugin, YAML from docker-compose 1.29."""
    if text.lstrip().startswith("{"):
        return json.loads(text)
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def config() -> dict:
    """Return the resolved compose config with every profile enabled."""
    result = run_config(("rabbitmq", "flower"), compose_env(SECRET_KEY="test-secret"))
    assert result.returncode == 0, result.stderr
    return parse_config(result.stdout)


def networks_of(service: dict) -> set[str]:
    """Return the names of the networks a service joins."""
    return set(service.get("networks") or {})


def volumes_of(service: dict) -> dict[str, str]:
    """Return a service's mounts as {target: source}, from either CLI's output."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source"), volume["target"]
        mounts[target] = source
    return mounts


def host_ips_of(service: dict) -> list[str]:
    """Return the host address each published port binds to ("" for all addresses)."""
    ips = []
    for port in service.get("ports", []):
        if isinstance(port, str):
            parts = port.split(":")
            ips.append(parts[0] if len(parts) == 3 else "")
        else:
            ips.append(port.get("host_ip", ""))
    return ips


@pytest.mark.parametrize("profiles", PROFILES, ids=lambda p: "+".join(p) or "default")
def test_compose_file_validates_for_each_profile(profiles: tuple[str, ...]) -> None:
    """Validate docker-compose.yml with each combination of profiles."""
    result = run_config(profiles, compose_env(SECRET_KEY="test-secret"))
    assert result.returncode == 0, result.stderr
    services = set(parse_config(result.stdout)["services"])
    assert BASE_SERVICES | set(profiles) <= services


def test_compose_refuses_to_start_without_secret_key() -> None:
    """Fail with a message naming SECRET_KEY when it is not set."""
    result = run_config((), compose_env())
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_profile_services_stay_out_of_the_default_stack(config: dict) -> None:
    """Mark rabbitmq and flower with their profiles so a plain `up` leaves them out."""
    for name in ("rabbitmq", "flower"):
        assert config["services"][name]["profiles"] == [name]
    # Only those two have profiles: everything else is the default stack.
    profiled = {n for n, service in config["services"].items() if service.get("profiles")}
    assert profiled == {"rabbitmq", "flower"}


def test_default_stack_does_not_need_a_profiled_service(config: dict) -> None:
    """Let no default service depend on a profiled one, or a plain `up` would fail."""
    for name in BASE_SERVICES:
        needs = config["services"][name].get("depends_on") or {}
        assert not set(needs) & {"rabbitmq", "flower"}, name


def test_settings_reach_every_app_service(config: dict) -> None:
    """Pass the operator's settings to web, worker and beat alike."""
    for name in APP_SERVICES:
        env = config["services"][name]["environment"]
        for setting in (
            "SECRET_KEY",
            "REDIS_URL",
            "BROKER_URL",
            "RETENTION_HOURS",
            "STALL_AFTER_S",
        ):
            assert setting in env, f"{name} lacks {setting}"


def test_rabbitmq_consumer_timeout_outlasts_the_task_time_limit(config: dict) -> None:
    """Keep RabbitMQ from closing the channel under a job that runs up to the time limit."""
    args = config["services"]["rabbitmq"]["environment"]["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
    timeout_ms = int(re.search(r"consumer_timeout\s+(\d+)", args).group(1))
    limit_s = int(config["services"]["worker"]["environment"]["TASK_TIME_LIMIT_S"])
    assert timeout_ms > limit_s * 1000


def test_redis_publishes_no_ports(config: dict) -> None:
    """Keep Redis unpublished: nothing outside the stack can reach it."""
    assert not config["services"]["redis"].get("ports")
    assert not config["services"]["redis"].get("expose")


def test_redis_is_only_on_internal_networks(config: dict) -> None:
    """Attach Redis to internal networks only."""
    networks = networks_of(config["services"]["redis"])
    assert networks
    for name in networks:
        assert config["networks"][name].get("internal") is True, name


def test_only_nginx_is_published_to_all_addresses(config: dict) -> None:
    """Publish nginx alone on every address; Flower only on loopback; nothing else at all."""
    published = {name for name, service in config["services"].items() if service.get("ports")}
    assert published <= {"nginx", "flower"}
    assert "nginx" in published
    assert set(host_ips_of(config["services"]["flower"])) == {"127.0.0.1"}


@pytest.mark.parametrize("name", APP_SERVICES + ["rabbitmq"])
def test_app_services_stay_off_the_frontend_network(config: dict, name: str) -> None:
    """Keep web, worker, beat and RabbitMQ off the network nginx is published on, and on the
    internal backend network where Redis is."""
    networks = networks_of(config["services"][name])
    assert "frontend" not in networks and "backend" in networks
    assert config["networks"]["backend"].get("internal") is True


def test_only_web_and_workers_can_reach_out(config: dict) -> None:
    """Web and workers (mail, webhooks, URL imports) join one outbound network that nothing is
    published on; beat, Redis and RabbitMQ have no network with a route out."""
    egress = {name for name, s in config["services"].items() if "egress" in networks_of(s)}
    assert egress == {"web1", "web2", "worker"}
    assert config["networks"]["egress"].get("internal") is not True
    assert not any(config["services"][name].get("ports") for name in egress)
    for name in ("beat", "redis", "rabbitmq"):
        for network in networks_of(config["services"][name]):
            assert config["networks"][network].get("internal") is True, (name, network)


def test_limits_and_mail_settings_reach_web_and_workers_alike(config: dict) -> None:
    """The active-jobs cap is the same where submissions and schedule runs check it, and the
    workers that send mails and webhooks have their settings; a maximal batch fits the cap."""
    web, worker = config["services"]["web1"]["environment"], config["services"]["worker"]
    for setting in ("MAX_ACTIVE_JOBS", "SMTP_HOST", "MAIL_FROM", "PUBLIC_URL", "WEBHOOK_SECRET"):
        assert web[setting] == worker["environment"][setting], setting
    assert int(web["MAX_ACTIVE_JOBS"]) >= int(web["MAX_BATCH_FILES"])


def test_worker_can_be_scaled(config: dict) -> None:
    """Leave the worker without a fixed container name or host port, so --scale works."""
    worker = config["services"]["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports")


def test_uploads_volume_is_shared_by_web_and_workers(config: dict) -> None:
    """Mount one named volume at UPLOAD_DIR in every web process, worker and beat."""
    sources = set()
    for name in APP_SERVICES:
        service = config["services"][name]
        upload_dir = service["environment"]["UPLOAD_DIR"]
        source = volumes_of(service).get(upload_dir)
        assert source, f"{name} has no volume at {upload_dir}"
        sources.add(source)
    assert len(sources) == 1
    assert sources.pop() in config["volumes"]


@pytest.mark.parametrize("name", ["web1", "web2"])
def test_web_processes_are_nginx_upstreams_with_healthchecks(config: dict, name: str) -> None:
    """Name each web service as an nginx upstream server and check its /healthz."""
    assert re.search(rf"^\s*server\s+{name}:5000\b", NGINX_CONF.read_text(), re.MULTILINE)
    service = config["services"][name]
    assert service["environment"]["HOST"] == "0.0.0.0"
    assert "/healthz" in " ".join(service["healthcheck"]["test"])


@pytest.mark.parametrize(
    "directive",
    [
        r"hash\s+\$remote_addr\s+consistent;",
        r"proxy_set_header\s+Upgrade\s+\$http_upgrade;",
        r"proxy_set_header\s+Connection\s+\$connection_upgrade;",
        r"proxy_http_version\s+1\.1;",
        r"location\s+/socket\.io/",
        r"proxy_read_timeout\s+1h;",
        r"proxy_request_buffering\s+off;",
        r"client_max_body_size\s+\$\{NGINX_MAX_BODY_SIZE\};",
        r"error_page\s+414\s+/uri-too-long\.json;",
    ],
)
def test_nginx_config_has_directive(directive: str) -> None:
    """Keep the directives that sticky sessions, WebSockets and big uploads need."""
    assert re.search(directive, NGINX_CONF.read_text())


def test_nginx_config_passes_nginx_syntax_check(tmp_path: Path) -> None:
    """Render the nginx template as the image does and check it with `nginx -t`."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        pytest.fail("nginx is not installed (Debian: apt-get install nginx-light)")
    rendered = NGINX_CONF.read_text().replace("${NGINX_MAX_BODY_SIZE}", "2049m")
    # nginx -t resolves upstream names, which exist only inside the compose network.
    rendered = re.sub(r"\bweb(\d):5000", r"127.0.0.1:1500\1", rendered)
    (tmp_path / "site.conf").write_text(rendered)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n  include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_dockerfile_runs_as_non_root_without_build_tools() -> None:
    """Install in a builder stage, copy only the virtualenv, and run as an unprivileged user."""
    text = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM\s", text, flags=re.MULTILINE)
    assert len(stages) >= 3, "expected a builder stage and a final stage"
    final = stages[-1]
    users = re.findall(r"^USER\s+(\S+)", final, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "build-essential" not in final and "gcc" not in final
    assert re.search(r"pip install --no-cache-dir", stages[-2])
    assert re.search(r"^COPY --from=builder /opt/venv /opt/venv$", final, re.MULTILINE)
    assert "pip install" not in final and "/wheels" not in final
    assert "PYTHONUNBUFFERED=1" in final


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    """Exclude the virtualenv, git history, local data and secrets from the build context."""
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", "data", ".env"} <= ignored
