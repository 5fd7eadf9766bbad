"""deploy/: the Dockerfile, compose.yaml and the Kubernetes manifests, checked as far as tools here allow.

There is no container engine on these machines, so the image is not built
here (tools/build-image.sh builds it with buildah where that works; see
deploy/README.md for what was run). These tests lint the Dockerfile
(hadolint), validate the manifests against Kubernetes' schemas (strict:
an unknown field fails) and compose.yaml against the compose-spec schema,
run the plant they ship through `petra check`, and hold the files to what the
systemd unit promises: the hardening, the paths, the health check. The health
check itself runs against a real `petra run`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from tests.harness import PetraSubprocess, free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
REQUIRED = {"CLICKHOUSE_PASSWORD", "MQTT_PASSWORD"}
"""The variables deploy/plant.yaml needs without a default: the credentials."""


def tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is in the test extra (pip install -e '.[test]')"
    return str(path)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# --- the plant the images run -----------------------------------------------------------------------------


def test_the_deploy_plant_is_the_demo_with_history_and_mqtt_and_passes_petra_check(tmp_path: Path) -> None:
    plant, demo = load_yaml(DEPLOY / "plant.yaml"), load_yaml(ROOT / "petra" / "demo.yaml")
    for key in ("signals", "blocks", "scan_time_ms"):
        assert plant[key] == demo[key], f"copy petra/demo.yaml's {key} into deploy/plant.yaml"
    assert plant["web"]["screens"] == demo["web"]["screens"]
    assert {"storage", "mqtt"} <= set(plant) and plant["storage"]["remote"]["type"] == "clickhouse"
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    done = subprocess.run([tool("petra"), "check", str(DEPLOY / "plant.yaml")], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert {name for name in REQUIRED if f"environment variable {name} not set" in done.stderr} == REQUIRED
    done = subprocess.run([tool("petra"), "check", "--strict", str(DEPLOY / "plant.yaml")], capture_output=True,
                          text=True, env={**env, **dict.fromkeys(REQUIRED, "x")}, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_kubernetes_configmap_carries_deploy_plant_yaml_verbatim() -> None:
    configmap = load_yaml(DEPLOY / "kubernetes" / "configmap.yaml")
    assert configmap["data"]["plant.yaml"] == (DEPLOY / "plant.yaml").read_text(), (
        "deploy/kubernetes/configmap.yaml: paste deploy/plant.yaml into data.plant.yaml")


# --- Dockerfile -------------------------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    rows = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(row.split(None, 1)[0].upper(), row.split(None, 1)[1]) for row in rows]


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    done = subprocess.run([tool("hadolint"), "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_slim_python_runs_as_a_numeric_non_root_user_with_state_in_a_volume() -> None:
    rows = instructions()
    args = {value.split("=", 1)[0]: value.split("=", 1)[1] for kind, value in rows if kind == "ARG" and "=" in value}
    assert re.fullmatch(r"python:3\.1[1-9]-slim-\w+", args["PYTHON_IMAGE"])
    assert [value for kind, value in rows if kind == "FROM"][-1] == "${PYTHON_IMAGE}"
    users = [value for kind, value in rows if kind == "USER"]
    assert users == ["10001:10001"]  # numeric: Kubernetes' runAsNonRoot can verify it
    assert [value for kind, value in rows if kind == "VOLUME"] == ['["/var/lib/petra"]']
    assert ("WORKDIR", "/var/lib/petra") in rows  # the unit's WorkingDirectory: relative paths land in the state
    env = " ".join(value for kind, value in rows if kind == "ENV")
    assert "PETRA_SOCKET=/run/petra/control.sock" in env
    health = next(value for kind, value in rows if kind == "HEALTHCHECK")
    assert "/opt/petra/healthcheck.py" in health
    entry = next(value for kind, value in rows if kind == "ENTRYPOINT")
    assert "umask 0027" in entry and "exec petra run" in entry  # UMask=0027; petra is the process signals reach


def test_every_file_the_dockerfile_copies_exists_and_is_in_the_build_context() -> None:
    ignore = [line.strip() for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for kind, value in instructions():
        if kind != "COPY" or "--from=" in value:
            continue
        sources = [part for part in shlex.split(value) if not part.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source.rstrip("/") in allowed, f"{source} is excluded by deploy/Dockerfile.dockerignore"


def test_the_image_keeps_the_systemd_units_paths() -> None:
    unit = (ROOT / "systemd" / "petra.service").read_text()
    assert "ExecStart=/opt/petra/.venv/bin/petra run /etc/petra/plant.yaml" in unit
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for path in ("/opt/petra/.venv", "/etc/petra/plant.yaml", "/var/lib/petra", "/run/petra"):
        assert path in dockerfile, path


# --- compose.yaml -----------------------------------------------------------------------------------------


def test_compose_yaml_is_valid_against_the_compose_spec() -> None:
    done = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                           str(DEPLOY / "compose.yaml")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_runs_petra_mosquitto_and_clickhouse_with_the_units_hardening_and_no_secret_in_it() -> None:
    compose = load_yaml(DEPLOY / "compose.yaml")
    assert set(compose["services"]) == {"petra", "mosquitto", "clickhouse"}
    petra = compose["services"]["petra"]
    assert petra["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert petra["read_only"] is True
    assert petra["cap_drop"] == ["ALL"] and "cap_add" not in petra
    assert "no-new-privileges:true" in petra["security_opt"]
    assert any(entry.startswith("/run/petra:") for entry in petra["tmpfs"])
    assert "petra-state:/var/lib/petra" in petra["volumes"]
    assert "./plant.yaml:/etc/petra/plant.yaml:ro" in petra["volumes"]
    assert petra["healthcheck"]["test"][-1] == "/opt/petra/healthcheck.py"
    assert all(port.startswith("127.0.0.1:") for service in compose["services"].values()
               for port in service.get("ports", []))
    for name in REQUIRED:  # compose refuses to start without them; no value is written down
        assert petra["environment"][name] == f"${{{name}:?set {name} in deploy/.env}}"
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key:
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", value), f"{key}: {value} (a password in the file)"
    example = dict(line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert set(example) == REQUIRED and set(example.values()) == {""}
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf


# --- Kubernetes -------------------------------------------------------------------------------------------


def test_the_kubernetes_manifests_validate_strictly_against_kubernetes_schemas() -> None:
    resources = [path for path in MANIFESTS if path.name != "kustomization.yaml"]
    done = subprocess.run([tool("kubernetes-validate"), "--strict", "--quiet", *map(str, resources)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def kinds() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text())
            if doc and doc.get("kind") != "Kustomization"}


def test_the_deployment_has_probes_the_units_hardening_and_mounts_configmap_secret_and_pvc() -> None:
    found = kinds()
    assert {"Deployment", "ConfigMap", "Secret", "PersistentVolumeClaim", "Service"} <= set(found)
    deployment = found["Deployment"]["spec"]
    assert deployment["replicas"] == 1 and deployment["strategy"]["type"] == "Recreate"
    pod = deployment["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert "/opt/petra/healthcheck.py" in container[probe]["exec"]["command"], probe
    assert container["readinessProbe"]["exec"]["command"][-1] == "--ready"
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert volumes[mounts["/etc/petra"]]["configMap"]["name"] == found["ConfigMap"]["metadata"]["name"]
    assert volumes[mounts["/var/lib/petra"]]["persistentVolumeClaim"]["claimName"] == (
        found["PersistentVolumeClaim"]["metadata"]["name"])
    assert "emptyDir" in volumes[mounts["/run/petra"]]
    (secret_ref,) = container["envFrom"]
    assert secret_ref["secretRef"]["name"] == found["Secret"]["metadata"]["name"]
    assert set(found["Secret"]["stringData"]) == REQUIRED
    assert all(value == "" for value in found["Secret"]["stringData"].values()), "no credential is shipped"
    kustomization = load_yaml(DEPLOY / "kubernetes" / "kustomization.yaml")
    assert "secret.yaml" not in kustomization["resources"]  # created by hand with real values
    assert {path.name for path in MANIFESTS} - {"kustomization.yaml", "secret.yaml"} == set(
        kustomization["resources"])


# --- the health check, against a real PETRA ---------------------------------------------------------------


def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("petra_healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def probe(socket_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DEPLOY / "healthcheck.py"), "--socket", str(socket_path), *args],
                          capture_output=True, text=True, timeout=30)


def test_the_health_check_judges_a_stale_scan_and_a_hung_actor() -> None:
    check = healthcheck()
    fresh = {"uptime_s": 30.0, "scan": {"ticks": 300, "last_tick_monotonic": 99.5}, "actors": {"hung": 0}}
    assert check.problem(fresh, True, 10.0, now=100.0) is None
    assert check.problem(fresh, False, 10.0, now=120.0) == "no scan for 20.5 s (more than 10 s)"
    assert check.problem({**fresh, "actors": {"hung": 2}}, True, 10.0, now=100.0) == "2 actor(s) hung"
    assert check.problem({**fresh, "actors": {"hung": 2}}, False, 10.0, now=100.0) is None
    slow = {**fresh, "scan_time_ms": 20_000}  # a 20 s scan: three of them
    assert check.problem(slow, False, 10.0, now=150.0) is None
    assert check.problem(slow, False, 10.0, now=160.0) == "no scan for 60.5 s (more than 60 s)"
    starting = {"uptime_s": 1.0, "scan": {"ticks": 0, "last_tick_monotonic": None}}
    assert check.problem(starting, False, 10.0, now=100.0) is None
    assert check.problem(starting, True, 10.0, now=100.0) == "no scan completed yet"


def test_the_health_check_passes_on_a_running_petra_and_fails_when_it_stops_answering(tmp_path: Path) -> None:
    control = tmp_path / "control.sock"
    assert probe(control).returncode == 1  # nothing there yet
    process = PetraSubprocess(["run", "--control-socket", str(control), "--metrics-port", str(free_port()),
                               "--web-port", "0"], tmp_path / "petra.log", env={"PETRA_SOCKET": str(control)})
    try:
        deadline = time.monotonic() + 60
        while (done := probe(control, "--ready")).returncode != 0:
            assert time.monotonic() < deadline, done.stdout + process.log
        assert done.stdout.startswith("ok: demo scan ticks ")
        assert probe(control).returncode == 0
        os.kill(process.proc.pid, signal.SIGSTOP)  # a wedged process: the control API no longer answers
        try:
            done = probe(control, "--timeout", "1")
            assert done.returncode == 1, done.stdout
            assert done.stdout.startswith("unhealthy: control API at ") and "timed out" in done.stdout, done.stdout
        finally:
            os.kill(process.proc.pid, signal.SIGCONT)
        deadline = time.monotonic() + 30
        while (done := probe(control)).returncode != 0:
            assert time.monotonic() < deadline, done.stdout
    finally:
        assert process.terminate() == 0, process.log
