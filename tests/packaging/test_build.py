"""`python -m build` makes a wheel and an sdist that install and run, and a base install runs without extras.

The build runs on a copy of the source tree (no build/ or egg-info left in
the work tree), in pip's isolated build environment (setuptools from the
index, as a user's build gets it). The base-install test installs the wheel
into a fresh virtualenv with ``--no-deps`` and makes only the *base*
dependencies visible there (links to the project venv's copies of the
distributions `Requires-Dist` names without an extra, followed through what
they require): `petra run` serves the demo and its web page from the installed
package, and a config that needs an extra is refused naming it.
"""

from __future__ import annotations

import email.parser
import fcntl
import http.client
import importlib.metadata
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.harness import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)
"""The build's two isolated environments each install setuptools from the index: ~10 s on a quiet machine,
70 s measured at load 20; the module-scoped build is charged to the first test that asks for it."""
SKIP_COPY = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                   ".ruff_cache", ".mypy_cache", ".hypothesis", "data", "node_modules", "tests",
                                   "benchmarks", ".cache")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel and sdist, built once per test run: pytest-xdist workers of one run share them (a lock
    in the run's common temporary folder), so `make test` builds once however its tests are spread."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:
        return build(tmp_path_factory.mktemp("build"))
    shared = tmp_path_factory.getbasetemp().parent / f"petra-dist-{run}"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = {"wheel": list(shared.glob("dist/petra-*.whl")), "sdist": list(shared.glob("dist/petra-*.tar.gz"))}
        if all(len(paths) == 1 for paths in found.values()):
            return {kind: paths[0] for kind, paths in found.items()}
        return build(shared)


def build(work: Path) -> dict[str, Path]:
    src = work / "src"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(ROOT, src, ignore=SKIP_COPY)
    out = work / "dist"
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheels, sdists = list(out.glob("petra-*.whl")), list(out.glob("petra-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def package_data() -> set[str]:
    """The files under petra/ that are neither Python nor a folder's README: web assets, vendored code and its licence,
    YAML, the Sparkplug .proto and its licence notice."""
    return {
        str(path.relative_to(ROOT))
        for path in (ROOT / "petra").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".py", ".pyc"}
        and (path.suffix != ".md" or path.name.startswith("NOTICE"))  # a licence notice ships; a README need not
    }


def test_the_wheel_has_every_module_the_web_assets_vendored_licences_and_yaml(dist: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    wanted = package_data()
    assert {"petra/web/static/index.html", "petra/web/static/vendor/uplot/LICENSE",
            "petra/web/static/vendor/VENDORED.json", "petra/demo.yaml",
            "petra/drivers/sparkplug/sparkplug_b.proto", "petra/drivers/sparkplug/NOTICE.md"} <= wanted
    assert wanted - names == set()
    modules = {str(p.relative_to(ROOT)) for pkg in ("petra", "supervision") for p in (ROOT / pkg).rglob("*.py")}
    assert modules - names == set()
    info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    assert f"{info}/licenses/LICENSE" in names
    entry_points = zipfile.ZipFile(dist["wheel"]).read(f"{info}/entry_points.txt").decode()
    assert "petra = petra.cli:main" in entry_points and "petra-ctl = petra.ctl:main" in entry_points
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/")) or "__pycache__" in n]


def test_the_sdist_can_rebuild_the_wheel_and_carries_the_deployment_files(dist: dict[str, Path]) -> None:
    with tarfile.open(dist["sdist"]) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "LICENSE", "systemd/petra.service", "deploy/Dockerfile",
            "deploy/compose.yaml", "deploy/README.md"} <= names
    assert package_data() - names == set()
    assert {str(p.relative_to(ROOT)) for p in (ROOT / "deploy").rglob("*") if p.is_file()} <= names


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_the_wheel_metadata_keeps_section_libraries_in_extras(dist: dict[str, Path]) -> None:
    meta = wheel_metadata(dist["wheel"])
    requires = [Requirement(line) for line in meta.get_all("Requires-Dist") or []]
    base = {r.name for r in requires if r.marker is None}
    assert not base & {"pyarrow", "clickhouse-driver", "python-snap7", "pymodbus", "paho-mqtt", "asyncua",
                       "twilio", "protobuf"}
    assert {"s7", "modbus", "mqtt", "opcua", "twilio", "history", "clickhouse", "s3", "sparkplug", "all",
            "test"} <= set(meta.get_all("Provides-Extra") or [])


# --- a base install from the wheel -------------------------------------------------------------------------


def base_closure(wheel: Path) -> list[importlib.metadata.Distribution]:
    """The installed distributions the wheel's base requirements pull in (no extras), transitively."""
    todo = [Requirement(line) for line in wheel_metadata(wheel).get_all("Requires-Dist") or []]
    found: dict[str, importlib.metadata.Distribution] = {}
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        dist = importlib.metadata.distribution(req.name)
        key = dist.metadata["Name"].lower()
        if key in found:
            continue
        found[key] = dist
        todo.extend(Requirement(line) for line in dist.requires or [])
    return list(found.values())


def link_distributions(dists: list[importlib.metadata.Distribution], into: Path) -> None:
    """Symlink each distribution's top-level files and folders (with its .dist-info) into `into`."""
    into.mkdir()
    for dist in dists:
        site = Path(str(dist.locate_file("")))
        for top in sorted({f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}):
            target = into / top
            if not target.exists() and (site / top).exists():
                target.symlink_to(site / top)


@pytest.fixture(scope="module")
def base_venv(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "base"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                    "--no-deps", "--no-index", str(dist["wheel"])], check=True, timeout=120)
    deps = venv / "base-deps"
    link_distributions(base_closure(dist["wheel"]), deps)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "petra-base-deps.pth").write_text(f"{deps}\n")
    return venv


def run_in(venv: Path, *args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PETRA_"))}
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def test_the_base_install_has_petra_from_the_wheel_and_no_optional_library(base_venv: Path, tmp_path: Path) -> None:
    probe = ("import importlib.util, json, petra; print(json.dumps({'petra': petra.__file__, 'missing': "
             "[m for m in ('pyarrow', 'clickhouse_driver', 'snap7', 'pymodbus', 'serial', 'paho', 'asyncua', "
             "'twilio', 'google.protobuf' if importlib.util.find_spec('google') else 'google') "
             "if importlib.util.find_spec(m) is None]}))")
    done = run_in(base_venv, "python", "-c", probe, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["petra"].startswith(str(base_venv)), found  # not the work tree's editable install
    assert len(found["missing"]) == 9, found


def test_the_base_install_runs_the_demo_and_serves_the_web_page_from_the_package(
        base_venv: Path, tmp_path: Path) -> None:
    control, web_port = tmp_path / "control.sock", free_port()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(60)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PETRA_"))}
    env["NOTIFY_SOCKET"] = str(tmp_path / "notify.sock")
    log = (tmp_path / "petra.log").open("w")
    process = subprocess.Popen(
        [str(base_venv / "bin" / "petra"), "run", "--control-socket", str(control), "--metrics-port", "0",
         "--web-port", str(web_port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            while b"READY=1" not in notify.recv(4096).split(b"\n"):
                pass
        except TimeoutError:
            raise AssertionError((tmp_path / "petra.log").read_text()) from None
        page = http.client.HTTPConnection("127.0.0.1", web_port, timeout=30)
        page.request("GET", "/")
        response = page.getresponse()
        body = response.read().decode()
        assert response.status == 200 and "<html" in body.lower(), (response.status, body[:300])
        installed = next((base_venv / "lib").glob("python3*/site-packages/petra/web/static/index.html"))
        assert body == installed.read_text()
        done = run_in(base_venv, "petra-ctl", "--socket", str(control), "status", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, (tmp_path / "petra.log").read_text()
        notify.close()
        log.close()


def test_a_base_install_refuses_a_config_that_needs_extras_naming_them(base_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "plant.yaml").write_text(
        "signals: [{name: a, type: float}]\n"
        "s7:\n"
        "  - {name: plc, ip: 127.0.0.1, rack: 0, slot: 1,\n"
        "     mappings: [{signal: a, area: DB, db_number: 1, address: 0, data_type: real}]}\n"
        "storage:\n"
        "  strategy: local_first\n"
        "  remote: {host: 127.0.0.1}\n")
    done = run_in(base_venv, "petra", "check", "plant.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "plant.yaml:2:1: s7: needs python-snap7, which is not installed: pip install 'petra[s7]'" in out
    assert "plant.yaml:5:1: storage: needs pyarrow, which is not installed: pip install 'petra[history]'" in out
    assert ("plant.yaml:7:3: storage.remote: needs clickhouse-driver, which is not installed: "
            "pip install 'petra[clickhouse]'") in out
    assert "Traceback" not in out
    done = run_in(base_venv, "petra", "history", "list", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "petra history needs pyarrow, which is not installed: pip install 'petra[history]'" in done.stderr
    assert "Traceback" not in done.stderr

