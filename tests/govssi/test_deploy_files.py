"""The deployment files beside the demo (issue 13: deploy/Dockerfile, deploy/compose.yaml, deploy/systemd/*.service)
are checked without a Docker engine: every govssi command line in them parses with the real CLI (command, flags and
their values), every ``GOVSSI_*`` variable they name is one the code reads, paths and ports agree between the files
and with the code's defaults, and the unit files pass ``systemd-analyze verify``. Nothing here starts a container:
README labels the files untested."""

from __future__ import annotations

import ast
import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import typer.main
import yaml

from govssi.cli import app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PACKAGES = ("ssi", "ledger", "infra", "issuer", "verifier", "wallet_sim", "govssi")
GOVSSI_IMAGE = "govssi:0.1.0"
#: The image's GOVSSI_DATA_DIR (deploy/Dockerfile), where a service's volume is mounted.
IMAGE_DATA_DIR = "/var/lib/govssi"


# --- what the code reads -----------------------------------------------------------------------------------------


def _settings_env_names(cls: Any) -> set[str]:
    """The environment variables a pydantic-settings class reads: a field's ``GOVSSI_*`` alias choices, else the
    class's prefix and the field name (pydantic-settings matches case-insensitively)."""
    from pydantic import AliasChoices

    prefix = str(cls.model_config.get("env_prefix", ""))
    names = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c.upper() for c in alias.choices if isinstance(c, str) and c.upper().startswith("GOVSSI_")}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


@cache
def code_env_vars() -> frozenset[str]:
    """Every ``GOVSSI_*`` variable the code reads: string constants naming exactly one variable (``os.environ``
    look-ups, settings aliases) and the fields of every settings class, found by walking the packages' sources."""
    from pydantic_settings import BaseSettings

    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if re.fullmatch(r"GOVSSI_[A-Z0-9_]+", node.value):
                        found.add(node.value)
                elif isinstance(node, ast.ClassDef) and node.bases:
                    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                    cls = getattr(importlib.import_module(module), node.name, None)
                    if isinstance(cls, type) and issubclass(cls, BaseSettings):
                        found |= _settings_env_names(cls)
    return frozenset(found)


def test_the_code_reading_scan_finds_the_documented_variables() -> None:
    """The scan itself: variables read through settings fields with and without aliases, and through os.environ."""
    names = code_env_vars()
    assert {"GOVSSI_DATA_DIR", "GOVSSI_DATABASE_URL", "GOVSSI_REDIS_URL", "GOVSSI_CHAIN_RPC"} <= names  # fields
    assert {"GOVSSI_ISSUER_PUBLIC_URL", "GOVSSI_VERIFIER_TRUST_ANCHORS", "GOVSSI_KEY_PASSPHRASE"} <= names  # aliases
    assert {"GOVSSI_WALLET_PIN", "GOVSSI_API_KEY"} <= names  # os.environ in the CLI
    assert "GOVSSI_NOT_A_VARIABLE" not in names


# --- command lines ---------------------------------------------------------------------------------------------------


def check_govssi_command(args: list[str]) -> tuple[Any, dict[str, Any]]:
    """Resolve ``govssi ARGS`` to its command (typer's groups have ``commands``) and parse the arguments as the CLI
    would — unknown flags, bad values and missing required options raise ``typer.TyperException`` (click's usage
    errors, vendored by typer); returns the command and its parsed parameters."""
    command: Any = typer.main.get_command(app)
    rest = list(args)
    path: list[str] = []
    while hasattr(command, "commands"):
        assert rest, f"govssi {' '.join(path)}: a subcommand is missing"
        name = rest.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"govssi {' '.join([*path, name])}: no such command"
        path.append(name)
        command = sub
    with command.make_context(" ".join(["govssi", *path]), rest) as ctx:
        return command, dict(ctx.params)


def test_command_check_refuses_unknown_commands_flags_and_values() -> None:
    check_govssi_command(["issuer", "serve", "--port", "8080"])
    with pytest.raises(AssertionError, match="no such command"):
        check_govssi_command(["issuer", "launch"])
    with pytest.raises(typer.TyperException, match="No such option: --listen"):
        check_govssi_command(["verifier", "serve", "--listen", "0.0.0.0"])
    with pytest.raises(typer.TyperException, match="less than or equal to 65535"):
        check_govssi_command(["ledger", "node", "--port", "70000"])


def _interpolate(value: str) -> str:
    """Compose variable interpolation with the defaults: ``${X:-default}`` → default, ``${X:?msg}`` / ``${X}`` → a
    placeholder value."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[A-Z_]+(:\?[^}]*)?\}", "set-by-operator", value)


def _compose_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z_]+)", text))


# --- compose ---------------------------------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _env_file(name: str) -> dict[str, str]:
    path = DEPLOY / f"{name}.example" if not (DEPLOY / name).exists() else DEPLOY / name
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _govssi_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose()["services"].items() if svc.get("image") == GOVSSI_IMAGE}


def _port_of(args: list[str]) -> int:
    _command, params = check_govssi_command(args)
    return int(params["port"])


def test_compose_has_every_role_and_each_command_parses() -> None:
    services = compose()["services"]
    assert {"issuer", "verifier", "chain", "postgres", "redis"} <= set(services)
    govssi = _govssi_services()
    assert {"issuer", "verifier", "chain", "accredit"} == set(govssi)
    roles = {
        name: check_govssi_command([_interpolate(a) for a in svc["command"]])[0].name for name, svc in govssi.items()
    }
    assert roles == {"issuer": "serve", "verifier": "serve", "chain": "node", "accredit": "dev-accredit"}
    for name, svc in govssi.items():
        assert svc["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}, name
        assert (DEPLOY / svc["build"]["context"] / svc["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    for svc in services.values():
        for dependency in svc.get("depends_on", {}):
            assert dependency in services


def test_compose_names_only_variables_the_code_reads() -> None:
    """Every ``GOVSSI_*`` key a govssi service gets (``environment`` and its ``env_file``), and every one named
    anywhere in the file, comments included, is read by the code."""
    known = code_env_vars()
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    for name, svc in _govssi_services().items():
        keys = set(svc.get("environment", {}))
        for env_file in svc.get("env_file", []):
            keys |= set(_env_file(env_file))
        assert keys <= known, (name, sorted(keys - known))
        assert all(key.startswith("GOVSSI_") for key in keys), name
    named = set(re.findall(r"GOVSSI_[A-Z0-9_]+", text))
    assert named <= known, sorted(named - known)
    # compose-level variables (not the services') are the documented ones
    assert _compose_variables(text) == {"POSTGRES_PASSWORD", "ISSUER_PUBLIC_URL", "VERIFIER_PUBLIC_URL"}
    for variable in _compose_variables(text):
        assert variable in text.split("name: govssi")[0], f"{variable} is not described in the header"


def test_compose_ports_urls_and_paths_agree() -> None:
    services = compose()["services"]
    chain_port = _port_of(services["chain"]["command"])
    for name in ("issuer", "verifier"):
        svc = services[name]
        port = _port_of(svc["command"])
        host_port, container_port = svc["ports"][0].rsplit(":", 2)[-2:]
        assert svc["ports"][0].startswith("127.0.0.1:"), "published on the host's loopback for the TLS proxy only"
        assert int(container_port) == port and int(host_port) == port, name
        assert f"127.0.0.1:{port}/healthz" in " ".join(svc["healthcheck"]["test"]), name
        env = svc["environment"]
        rpc = urlsplit(env["GOVSSI_CHAIN_RPC"])
        assert (rpc.hostname, rpc.port) == ("chain", chain_port), name
        redis = urlsplit(env["GOVSSI_REDIS_URL"])
        assert redis.hostname == "redis" and redis.port == 6379
        assert _interpolate(env[f"GOVSSI_{name.upper()}_PUBLIC_URL"]).startswith("https://")
    assert f"127.0.0.1:{chain_port}" in " ".join(services["chain"]["healthcheck"]["test"])
    assert "--host" in services["chain"]["command"]  # the node must answer its neighbours, not only its loopback
    database = urlsplit(_interpolate(services["issuer"]["environment"]["GOVSSI_DATABASE_URL"]))
    postgres_env = services["postgres"]["environment"]
    assert database.scheme == "postgresql" and (database.hostname, database.port) == ("postgres", 5432)
    assert database.username == postgres_env["POSTGRES_USER"] and database.path == "/" + postgres_env["POSTGRES_DB"]
    # the verifier's trust anchor is the issuer's demo CA, read from the issuer's volume where the issuer writes it
    from issuer import IssuerSettings

    mounted = {v.split(":")[0]: v.split(":")[1] for v in services["verifier"]["volumes"]}
    issuer_volume = {v.split(":")[0]: v.split(":")[1] for v in services["issuer"]["volumes"]}
    assert issuer_volume["issuer"] == IMAGE_DATA_DIR
    ca = IssuerSettings(data_dir=Path(mounted["issuer"])).resolved_ca_dir() / "ca.pem"
    assert services["verifier"]["environment"]["GOVSSI_VERIFIER_TRUST_ANCHORS"] == str(ca)
    # dev-accredit reads the issuer's metadata at its public URL, for the authority the issuer bootstraps
    accredit = services["accredit"]["command"]
    issuer_url = _interpolate(accredit[accredit.index("--issuer") + 1])
    slug = IssuerSettings.model_fields["bootstrap_authority"].default
    assert (
        issuer_url == _interpolate(services["issuer"]["environment"]["GOVSSI_ISSUER_PUBLIC_URL"]) + f"/issuers/{slug}"
    )
    assert urlsplit(accredit[accredit.index("--rpc") + 1]).port == chain_port


# --- Dockerfile ----------------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped."""
    joined: list[str] = []
    pending = ""
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    assert not pending, "a continuation line ends the file"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in joined]


def test_dockerfile_copies_what_exists_and_installs_every_package() -> None:
    instructions = dockerfile_instructions()
    known = {"FROM", "WORKDIR", "ENV", "COPY", "RUN", "USER", "VOLUME", "EXPOSE", "ENTRYPOINT", "CMD", "ARG"}
    assert {kind for kind, _ in instructions} <= known
    copied = set()
    for kind, arguments in instructions:
        if kind == "COPY" and not arguments.startswith("--from="):
            *sources, _target = shlex.split(arguments)
            for source in sources:
                assert (ROOT / source).exists(), source
                copied.add(source.rstrip("/"))
    includes = _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {pattern.rstrip("*") for pattern in includes} <= copied  # every package of the distribution
    assert {"pyproject.toml", "constraints.txt"} <= copied
    assert any(kind == "RUN" and "--constraint constraints.txt" in args for kind, args in instructions)
    ignored = [
        line for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines() if line and line[0] != "#"
    ]
    assert not copied & set(ignored)


def test_dockerfile_hygiene() -> None:
    """hadolint's main rules, checked by hand (no hadolint binary here): pinned base images (DL3006/DL3007), a
    non-root USER last (DL3002), exec-form ENTRYPOINT, absolute WORKDIR (DL3000), no sudo (DL3004), no ADD (DL3020)."""
    instructions = dockerfile_instructions()
    for kind, arguments in instructions:
        if kind == "FROM":
            image = arguments.split()[0]
            assert ":" in image and not image.endswith(":latest"), image
        if kind == "WORKDIR":
            assert arguments.startswith("/")
        if kind == "RUN":
            assert "sudo " not in arguments
    users = [arguments for kind, arguments in instructions if kind == "USER"]
    assert users and users[-1] not in {"root", "0"}
    entrypoint = [json.loads(arguments) for kind, arguments in instructions if kind == "ENTRYPOINT"]
    assert entrypoint == [["govssi"]]


def test_dockerfile_environment_and_ports_match_the_code() -> None:
    instructions = dockerfile_instructions()
    env = dict(
        pair.split("=", 1) for kind, arguments in instructions if kind == "ENV" for pair in shlex.split(arguments)
    )
    assert env["GOVSSI_DATA_DIR"] == IMAGE_DATA_DIR
    assert {key for key in env if key.startswith("GOVSSI_")} <= code_env_vars()
    exposed = {int(p) for kind, arguments in instructions if kind == "EXPOSE" for p in arguments.split()}
    defaults = {
        int(check_govssi_command(command)[1]["port"])
        for command in (["issuer", "serve"], ["verifier", "serve"], ["ledger", "node"])
    }
    assert exposed == defaults  # the commands' default ports
    volumes = [json.loads(arguments) for kind, arguments in instructions if kind == "VOLUME"]
    assert volumes == [[IMAGE_DATA_DIR]]


@cache
def _pyproject() -> dict[str, Any]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# --- systemd -------------------------------------------------------------------------------------------------------


def unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            current = stripped.strip("[]")
            sections.setdefault(current, [])
            continue
        assert current is not None, f"{path.name}: a setting before the first section"
        key, _, value = stripped.partition("=")
        sections[current].append((key, value))
    return sections


UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def test_there_is_a_unit_per_service() -> None:
    assert [p.name for p in UNITS] == ["govssi-chain.service", "govssi-issuer.service", "govssi-verifier.service"]


@pytest.mark.parametrize("path", UNITS, ids=[p.stem for p in UNITS])
def test_unit_command_environment_and_ports(path: Path) -> None:
    service = dict(unit(path)["Service"])
    environment = dict(v.split("=", 1) for k, v in unit(path)["Service"] if k == "Environment")
    assert set(environment) <= code_env_vars(), path.name
    text = path.read_text(encoding="utf-8")
    assert set(re.findall(r"GOVSSI_[A-Z0-9_]+", text)) <= code_env_vars(), path.name
    binary, *args = shlex.split(service["ExecStart"])
    assert binary == "/opt/govssi/bin/govssi"
    check_govssi_command(args)
    assert "--host" in args and args[args.index("--host") + 1] == "127.0.0.1"  # behind the host's TLS proxy
    chain_args = shlex.split(dict(unit(DEPLOY / "systemd" / "govssi-chain.service")["Service"])["ExecStart"])[1:]
    if "GOVSSI_CHAIN_RPC" in environment:
        assert urlsplit(environment["GOVSSI_CHAIN_RPC"]).port == _port_of(chain_args)
    data_dir = Path(environment["GOVSSI_DATA_DIR"])
    state = Path("/var/lib") / service["StateDirectory"]
    assert state == data_dir or data_dir in state.parents, "the data directory is the unit's state directory"
    if "--data-dir" in args:
        assert Path(args[args.index("--data-dir") + 1]) == state


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` in a scratch root holding the system's units, govssi's units and a stand-in for the
    installed govssi: unknown keys, bad values and missing executables are reported (and fail this test)."""
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    target = root / "etc/systemd/system"
    target.mkdir(parents=True)
    for path in UNITS:
        shutil.copy(path, target / path.name)
    binary = root / "opt/govssi/bin/govssi"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", *[str(target / p.name) for p in UNITS]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    # the check is real: an unknown key is reported
    (target / "bad.service").write_text("[Service]\nExecStart=/opt/govssi/bin/govssi x\nBogus=1\n")
    bad = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", str(target / "bad.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Unknown key 'Bogus'" in bad.stderr


def test_env_example_names_only_variables_the_code_reads() -> None:
    keys = set(_env_file("govssi.env"))
    assert keys == {"GOVSSI_KEY_PASSPHRASE", "GOVSSI_ISSUER_BOOTSTRAP_KEY", "GOVSSI_VERIFIER_API_KEY"}
    assert keys <= code_env_vars()
    assert not (DEPLOY / "govssi.env").exists(), "the filled-in secrets file never belongs in the repository"


def test_ledger_node_listens_on_the_given_host(tmp_path: Path) -> None:
    """``govssi ledger node --host`` (used by compose's chain service) binds the given address."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", "from govssi.cli import main; main()"),
            *("ledger", "node", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path / "chain")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert urlsplit(ready["rpc_url"]).hostname == "127.0.0.1" and urlsplit(ready["rpc_url"]).port
    finally:
        process.terminate()
        process.wait(timeout=30)
