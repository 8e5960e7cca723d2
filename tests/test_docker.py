"""docker/: static checks of the compose files and Dockerfiles (Docker itself is not run here)."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE_FILES = sorted(DOCKER.glob("compose*.yaml"))
MAIN = DOCKER / "compose.yaml"
# The CLI's commands (the CLI is not imported: it has its own tests).
CLI_COMMANDS = {"worker", "db upgrade", "submit", "status", "list", "watch", "cancel", "sample", "archs"}
OFFICIAL_IMAGES = re.compile(r"^(docker\.io/)?(library/)?(redis|postgres|minio/minio|minio/mc)(:[\w.\-]+)?$")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def main() -> dict:
    return load(MAIN)


def services(path: Path) -> dict:
    return load(path)["services"]


def dockerfile_of(path: Path, svc: dict) -> Path | None:
    build = svc.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return (path.parent / build / "Dockerfile").resolve()
    return (path.parent / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).resolve()


def dockerfile_instruction(dockerfile: Path, name: str) -> list[str] | None:
    """The last ENTRYPOINT/CMD of a Dockerfile as an argv list (exec or shell form)."""
    value = None
    for line in dockerfile.read_text().splitlines():
        m = re.match(rf"^\s*{name}\s+(.*)$", line, re.IGNORECASE)
        if m:
            raw = m.group(1).strip()
            value = json.loads(raw) if raw.startswith("[") else ["/bin/sh", "-c", raw]
    return value


def as_argv(value) -> list[str] | None:
    if value is None:
        return None
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def effective_argv(path: Path, svc: dict) -> list[str]:
    """What the container runs: entrypoint + command, each from compose or else the Dockerfile."""
    dockerfile = dockerfile_of(path, svc)
    entry = as_argv(svc.get("entrypoint"))
    cmd = as_argv(svc.get("command"))
    if dockerfile is not None:
        if entry is None:
            entry = dockerfile_instruction(dockerfile, "ENTRYPOINT")
        if cmd is None and "entrypoint" not in svc:
            cmd = dockerfile_instruction(dockerfile, "CMD")
    return (entry or []) + (cmd or [])


def ganctl_invocations(argv: list[str]) -> list[list[str]]:
    """Every `ganctl ...` in an argv, also inside `sh -c "..."` strings."""
    out = []
    for i, word in enumerate(argv):
        if Path(word).name == "ganctl":
            out.append(argv[i + 1:])
        elif " " in word and "ganctl" in word:
            for m in re.finditer(r"\bganctl\s+([^;&|]*)", word):
                out.append(shlex.split(m.group(1)))
    return out


def check_cli(args: list[str], where: str) -> str:
    """The command `ganctl ARGS` names ("" for options only, e.g. --help); fails if unknown."""
    if not args or args[0].startswith("-"):  # `ganctl --help` and the like
        assert args, f"{where}: bare `ganctl`"
        return ""
    cmd = " ".join(args[:2]) if args[0] == "db" else args[0]
    assert cmd in CLI_COMMANDS, f"{where}: `ganctl {' '.join(args)}` is not a ganctl command"
    return cmd


def all_services():
    for path in COMPOSE_FILES:
        for name, svc in services(path).items():
            yield path, name, svc


# --------------------------------------------------------------------------- files exist


def test_compose_files_parse():
    assert MAIN in COMPOSE_FILES
    for path in COMPOSE_FILES:
        assert isinstance(services(path), dict) and services(path), path


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_every_build_dockerfile_exists(path):
    for name, svc in services(path).items():
        dockerfile = dockerfile_of(path, svc)
        if dockerfile is not None:
            assert dockerfile.is_file(), f"{path.name}:{name}: {dockerfile} missing"
            assert ROOT in dockerfile.parents
            context = dockerfile.parent.parent if dockerfile.parent.name == "docker" else dockerfile.parent
            assert (context / "pyproject.toml").is_file(), f"{name}: build context is not the repo root"


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_images_are_official_or_built_here(path):
    svcs = services(path)
    main_svcs = services(MAIN)
    built = {svc["image"] for svc in list(svcs.values()) + list(main_svcs.values())
             if "build" in svc and "image" in svc}
    for name, svc in svcs.items():
        if path != MAIN and name in main_svcs and "image" not in svc and "build" not in svc:
            continue  # an override file adding to a service of compose.yaml
        assert "image" in svc or "build" in svc, f"{name}: neither image nor build"
        if "image" in svc and "build" not in svc:
            image = svc["image"]
            assert OFFICIAL_IMAGES.match(image) or image in built, f"{name}: unknown image {image}"


def test_redis_and_postgres_versions(main):
    assert main["services"]["redis"]["image"] == "redis:7"
    assert main["services"]["postgres"]["image"] == "postgres:16"


# --------------------------------------------------------------------------- the services


def test_expected_services_and_profiles(main):
    svcs = main["services"]
    assert {"redis", "postgres", "migrate", "worker", "worker-cpu", "cli"} <= set(svcs)
    assert svcs["worker-cpu"]["profiles"] == ["cpu"]
    assert svcs["cli"]["profiles"] == ["cli"]
    for name in ("redis", "postgres", "migrate", "worker"):
        assert "profiles" not in svcs[name], f"{name} must start by default"


def test_worker_reserves_gpus(main):
    devices = main["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] and d["count"] == "all"
               for d in devices)
    assert "deploy" not in main["services"]["worker-cpu"]


def test_cpu_worker_uses_cpu_base_image(main):
    gpu_base = main["services"]["worker"]["build"]["args"]["BASE_IMAGE"]
    cpu_base = main["services"]["worker-cpu"]["build"]["args"]["BASE_IMAGE"]
    assert gpu_base.startswith("tensorflow/tensorflow:") and gpu_base.endswith("-gpu")
    assert cpu_base.startswith("tensorflow/tensorflow:") and not cpu_base.endswith("-gpu")
    assert main["services"]["worker-cpu"]["command"] == ["worker", "--cpu"]


def test_worker_dependencies(main):
    deps = main["services"]["worker"]["depends_on"]
    assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert "redis" in deps and "postgres" in deps
    assert main["services"]["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in main["services"]["postgres"]
    assert "healthcheck" in main["services"]["redis"]


def test_redis_requires_password_and_noeviction(main):
    redis = main["services"]["redis"]
    argv = as_argv(redis["command"])
    assert argv[0] == "redis-server"
    opts = dict(zip(argv[1::2], argv[2::2]))
    assert opts["--requirepass"].startswith("${REDIS_PASSWORD")
    assert opts["--maxmemory-policy"] == "noeviction"
    assert opts["--appendonly"] == "yes"
    assert "ports" not in redis, "redis must not be published by default"
    assert "ports" not in main["services"]["postgres"]


def test_exposing_override_binds_one_address():
    for name, svc in services(DOCKER / "compose.expose.yaml").items():
        for port in svc.get("ports", []):
            host = str(port).rsplit(":", 2)[0]
            assert host not in ("", "0.0.0.0"), f"{name} published on every interface: {port}"


def test_ganctl_environment(main):
    for name in ("migrate", "worker", "worker-cpu", "cli"):
        env = main["services"][name]["environment"]
        assert env["GANCTL_BROKER_URL"].startswith("redis://:${REDIS_PASSWORD")
        assert env["GANCTL_BROKER_URL"].endswith("@redis:6379/0")
        assert env["GANCTL_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["GANCTL_ARTIFACTS_DIR"] == "/artifacts"
    pg = main["services"]["postgres"]["environment"]
    assert f"{pg['POSTGRES_USER']}:" in main["services"]["worker"]["environment"]["GANCTL_DATABASE_URL"]
    assert pg["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")


def test_artifacts_shared_between_workers_and_cli(main):
    for name in ("worker", "worker-cpu", "cli"):
        assert "artifacts:/artifacts" in main["services"][name]["volumes"], name
    assert "artifacts" in main["volumes"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in main["services"]["postgres"]["volumes"])
    assert any(v.endswith(":/data") for v in main["services"]["redis"]["volumes"])


def test_every_ganctl_command_is_real():
    seen = set()
    for path, name, svc in all_services():
        argv = effective_argv(path, svc)
        for args in ganctl_invocations(argv):
            seen.add(check_cli(args, f"{path.name}:{name}"))
        healthcheck = svc.get("healthcheck", {}).get("test")
        for args in ganctl_invocations(as_argv(healthcheck) or []):
            check_cli(args, f"{path.name}:{name} healthcheck")
    assert {"worker", "db upgrade"} <= seen


def test_effective_commands(main):
    svcs = main["services"]
    assert effective_argv(MAIN, svcs["worker"]) == ["ganctl", "worker", "--gpus", "all"]
    assert effective_argv(MAIN, svcs["worker-cpu"]) == ["ganctl", "worker", "--cpu"]
    assert effective_argv(MAIN, svcs["migrate"]) == ["ganctl", "db", "upgrade"]
    # the image's own default is the GPU worker too
    worker_df = DOCKER / "worker.Dockerfile"
    assert (dockerfile_instruction(worker_df, "ENTRYPOINT") + dockerfile_instruction(worker_df, "CMD")
            == ["ganctl", "worker", "--gpus", "all"])


def test_readme_ganctl_commands_are_real():
    readme = (DOCKER / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", readme, re.S)  # shell blocks only
    found = 0
    for block in blocks:
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            m = re.search(r"\brun\s+(?:--rm\s+)?(?:-\S+\s+)*cli\s+(.*)$", line)
            if m:
                check_cli(shlex.split(m.group(1)), f"README: {line}")
                found += 1
            for m in re.finditer(r"(?:^|\s)ganctl\s+([a-z][^|;&]*)", line):
                check_cli(shlex.split(m.group(1)), f"README: {line}")
                found += 1
    assert found >= 3


# --------------------------------------------------------------------------- Dockerfiles


def from_lines(dockerfile: Path) -> list[str]:
    text = dockerfile.read_text()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    out = []
    for image in re.findall(r"^FROM\s+(\S+)", text, re.M):
        out.append(re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image))
    return out


def test_worker_dockerfile_uses_tensorflow_base_and_core_deps():
    dockerfile = DOCKER / "worker.Dockerfile"
    assert from_lines(dockerfile)[0].startswith("tensorflow/tensorflow:")
    assert from_lines(dockerfile)[0].endswith("-gpu")
    text = dockerfile.read_text()
    installs = re.findall(r"pip install ([^\n&\\]+)", text)
    assert installs and all("[" not in i and "tensorflow" not in i for i in installs), installs


def test_cli_dockerfile_has_no_tensorflow():
    dockerfile = DOCKER / "cli.Dockerfile"
    assert from_lines(dockerfile) == ["python:3.11-slim"]
    text = dockerfile.read_text()
    installs = re.findall(r"pip install ([^\n&\\]+)", text)
    assert installs and all("[" not in i and "tensorflow" not in i for i in installs), installs


def test_pyproject_keeps_tensorflow_out_of_core_deps():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.lower().startswith("tensorflow") for d in project["dependencies"])
    extras = project["optional-dependencies"]
    assert any("tensorflow" in d for d in extras["cpu"]) and any("tensorflow" in d for d in extras["gpu"])


@pytest.mark.parametrize("name", ["worker.Dockerfile", "cli.Dockerfile"])
def test_dockerignore_next_to_each_dockerfile(name):
    ignore = (DOCKER / f"{name}.dockerignore").read_text().split()
    assert ".git" in ignore and any("__pycache__" in p for p in ignore)
    for needed in ("pyproject.toml", "jobs", "cli", "worker", "ganctl", "alembic"):
        assert needed not in ignore


def test_s3_profile_minio_and_bucket(main):
    """`--profile s3`: a MinIO server and a one-shot bucket creation; every ganctl service takes
    GANCTL_ARTIFACTS_URL / GANCTL_S3_ENDPOINT_URL and the AWS keys from .env (empty: local disk)."""
    svcs = main["services"]
    assert svcs["minio"]["profiles"] == ["s3"] and "ports" not in svcs["minio"]
    assert svcs["minio-bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    for name in ("migrate", "worker", "worker-cpu", "cli"):
        env = svcs[name]["environment"]
        assert env["GANCTL_ARTIFACTS_URL"] == "${GANCTL_ARTIFACTS_URL:-}"
        assert {"GANCTL_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(env)
