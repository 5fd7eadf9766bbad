"""`opcua:` at `petra check`, and the address space's plan: pure, without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from petra.config.errors import ConfigError
from petra.config.loader import load_config_text
from petra.opcua.address_space import FOLDER_PREFIX, MAX_CHILDREN, PlanNode, plan, unit_id
from petra.opcua.settings import DEFAULT_POLICIES, OpcuaSettings
from tests.opcua.opcua_support import plant_data


def load(opcua: dict[str, Any]) -> tuple[Any, str]:
    data = plant_data(4840, Path("users.yaml"), Path("pki"))
    data["opcua"] = opcua
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return load_config_text(text, "plant.yaml", env={}), text


def problems(opcua: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(opcua)
    return [str(p) for p in caught.value.problems]


def test_defaults_are_secure_loopback_4840_and_the_petra_namespace() -> None:
    config, _ = load({})
    s = config.settings("opcua", OpcuaSettings)
    assert s.bind() == ("127.0.0.1", 4840, "/petra")
    assert s.security_policies == DEFAULT_POLICIES == ("Basic256Sha256_SignAndEncrypt",
                                                       "Aes256Sha256RsaPss_SignAndEncrypt")
    assert s.allow_anonymous is False
    assert "petra" in s.namespace_uri


def test_the_endpoint_url_of_older_configs_still_gives_host_port_and_path() -> None:
    config, _ = load({"endpoint": "opc.tcp://0.0.0.0:4841/plant"})
    assert config.settings("opcua", OpcuaSettings).bind() == ("0.0.0.0", 4841, "/plant")
    config, _ = load({"endpoint": "opc.tcp://0.0.0.0:4841/plant", "port": 4900})
    assert config.settings("opcua", OpcuaSettings).bind() == ("0.0.0.0", 4900, "/plant")


def test_a_bad_port_is_a_located_error() -> None:
    for bad in ({"port": 70000}, {"port": "x"}):
        found = problems(bad)
        assert any("plant.yaml:" in p and "port" in p for p in found), found
    found = problems({"endpoint": "opc.tcp://host:99999/petra"})
    assert any("plant.yaml:" in p and "bad port" in p for p in found), found


def test_an_unknown_security_policy_is_a_located_error_with_a_did_you_mean() -> None:
    data = {"security_policies": ["Basic256Sha256_SignAndEncrypt", "Basic256Sha256_SignAndEncrpyt"]}
    with pytest.raises(ConfigError) as caught:
        load(data)
    text = str(caught.value)
    assert "unknown security policy 'Basic256Sha256_SignAndEncrpyt'" in text
    assert "did you mean 'Basic256Sha256_SignAndEncrypt'" in text
    assert "plant.yaml:" in text


def test_a_missing_certificate_file_is_a_located_error(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("x")
    with pytest.raises(ConfigError) as caught:
        load({"cert_file": str(tmp_path / "nope.der"), "key_file": str(key)})
    assert "cert_file" in str(caught.value) and "does not exist" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load({"cert_file": str(key)})  # a certificate without its key
    assert "key_file" in str(caught.value)


def test_listing_none_is_accepted_with_a_warning() -> None:
    config, _ = load({"security_policies": ["None"]})
    assert any("without signing or encryption" in str(w) for w in config.warnings)


def _names(node: PlanNode) -> list[str]:
    return [child.name for child in node.children]


def test_signals_are_planned_in_folders_by_group_then_by_dotted_prefix() -> None:
    root = plan([(0, "tank1.level", "default"), (1, "tank1.pump", "default"), (2, "speed", "line"),
                 (3, "tank1", "default"), (4, "tank1.inlet.valve", "default")])
    assert _names(root) == ["default", "line"]
    default = root.children[0]
    tank1 = default.children[0]
    assert (tank1.name, tank1.kind, tank1.node_id, tank1.slot) == ("tank1", "variable", "tank1", 3)
    assert _names(tank1) == ["inlet", "level", "pump"]
    inlet = tank1.children[0]
    assert (inlet.kind, inlet.node_id) == ("folder", f"{FOLDER_PREFIX}default/tank1/inlet")
    assert (inlet.children[0].node_id, inlet.children[0].slot) == ("tank1.inlet.valve", 4)
    assert root.children[1].children[0].node_id == "speed"


def test_no_folder_gets_more_than_max_children_however_many_signals() -> None:
    signals = [(i, f"s{i:05d}", "default") for i in range(25_000)]
    root = plan(signals)
    variables = []
    for _, node in root.walk():
        assert len(node.children) <= MAX_CHILDREN
        if node.kind == "variable":
            variables.append(node.node_id)
    assert sorted(variables) == sorted(name for _, name, _ in signals)
    ids = [node.node_id for _, node in root.walk()]
    assert len(ids) == len(set(ids))


def test_units_map_to_their_unece_codes() -> None:
    assert unit_id("°C") == (ord("C") << 16) | (ord("E") << 8) | ord("L")
    assert unit_id("furlong") == -1
