"""The checks behind deploy/check, which runs this file inside its virtualenv (PyYAML, yamllint and
kubernetes-validate come from deploy/requirements.txt).

Nothing here needs a Docker engine or a cluster:

1. lint: yamllint and kubernetes-validate (bundled JSON schemas, offline) on deploy/kubernetes.
2. static: the Dockerfile's build context and runtime contract, and the manifests agreeing with it
   and with each other (ports, user, probes, grace period, Secret and ConfigMap references), the
   trial Redis and REDIS_URL (shared budget and cache), and the autoscaler.
3. image: the release binary run the way the image runs it: the final stage's ENV, USER and
   ENTRYPOINT, unprivileged, with its HEALTHCHECK command, then stopped with SIGTERM.
4. manifests: the binary run with the environment and clients file the Deployment gives it, against
   the standalone sandbox standing in for Bloc.

Servers listen on 127.0.0.1 only: this machine allows no other address. Every process started here is
stopped before exit, also on failure or interruption.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
K8S = DEPLOY / "kubernetes"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# The oldest Kubernetes the manifests claim (the preStop sleep action is on by default from 1.30) and
# the newest kubernetes-validate bundles a schema for.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]

# Environment variables that hold secrets: never in the image, never in a ConfigMap or a literal value.
# REDIS_URL carries Redis's password; REDISCLI_AUTH is that password in the trial Redis's container.
SECRET_VARIABLES = {"BLOC_SECRET_KEY", "JWT_HS256_SECRET", "REDIS_URL", "REDISCLI_AUTH"}

# The facade's Deployment, Service and HorizontalPodAutoscaler all have this name.
FACADE = "bloc-graphql"

# Bloc's budget for one secret key, in calls a minute. With Redis the replicas share it, and
# UPSTREAM_RATE is the total across them: all of it, not a share.
BLOC_CALLS_PER_MINUTE = 500

# Redis policies that make room at maxmemory (`noeviction`, the default, fails writes instead).
EVICTING_POLICIES = {
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
}


class Failure(Exception):
    pass


def fail(message: str) -> None:
    raise Failure(message)


PASSED = 0


def ok(message: str) -> None:
    global PASSED
    PASSED += 1
    print(f"ok: {message}", flush=True)


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


# ---- Dockerfile ------------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = (pending + stripped).strip()
        pending = ""
        if text:
            keyword, _, args = text.partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip(), start))
    if pending:
        fail(f"{path.name}: the last instruction ends with a line continuation")

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0])
            stages.append(Stage(base, name))
        elif not stages:
            if instruction.keyword == "ARG":
                key, _, value = instruction.args.partition("=")
                global_args[key.strip()] = value.strip()
        else:
            stages[-1].instructions.append(instruction)
    if not stages:
        fail(f"{path.name}: no FROM")
    return global_args, stages


def exec_form(instruction: Instruction, what: str) -> list[str]:
    try:
        argv = json.loads(instruction.args)
    except json.JSONDecodeError:
        argv = None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        fail(
            f"Dockerfile line {instruction.line}: {what} must be in exec (JSON array) form: the runtime "
            f"image has no shell, and the binary must be PID 1 to get SIGTERM"
        )
    return argv


def parse_env(instruction: Instruction) -> dict[str, str]:
    words = shlex.split(instruction.args)
    if words and "=" not in words[0]:  # the old `ENV KEY value` form
        key, _, value = instruction.args.partition(" ")
        pairs = {key: value.strip()}
    else:
        pairs = {}
        for word in words:
            key, sep, value = word.partition("=")
            if not sep:
                fail(f"Dockerfile line {instruction.line}: cannot read ENV word {word!r}")
            pairs[key] = value
    for key, value in pairs.items():
        if "$" in value:
            fail(f"Dockerfile line {instruction.line}: ENV {key} uses a variable; this check reads literal values only")
    return pairs


def parse_duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    total, rest = 0.0, text
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        total += float(number) * units[unit]
        rest = rest.replace(number + unit, "", 1)
    if rest or not text:
        fail(f"Dockerfile: cannot read duration {text!r}")
    return total


@dataclass
class Image:
    base: str
    env: dict[str, str]
    uid: int
    gid: int
    entrypoint: list[str]
    healthcheck: list[str]
    healthcheck_timeout: float
    exposed: list[int]
    version_arg: str | None
    build_copies: list[str]
    build_commands: list[str]

    @property
    def port(self) -> int:
        return split_host_port(self.env["LISTEN_ADDR"])[1]


def split_host_port(address: str) -> tuple[str, int]:
    match = re.fullmatch(r"(\[[^\]]+\]|[^:]+):(\d+)", address)
    if not match:
        fail(f"cannot read address {address!r} as HOST:PORT")
    return match.group(1), int(match.group(2))


def read_image() -> Image:
    global_args, stages = parse_dockerfile(DOCKERFILE)
    final = stages[-1]

    env: dict[str, str] = {}
    for instruction in final.all("ENV"):
        env.update(parse_env(instruction))

    user = final.last("USER")
    if user is None:
        fail("Dockerfile: the final stage sets no USER (the image would run as its base's user)")
    match = re.fullmatch(r"(\d+)(?::(\d+))?", user.args)
    if not match:
        fail(
            f"Dockerfile line {user.line}: USER {user.args!r} is not numeric: Kubernetes' runAsNonRoot "
            f"cannot verify a user name"
        )
    uid = int(match.group(1))
    gid = int(match.group(2) or match.group(1))

    entrypoint = final.last("ENTRYPOINT")
    if entrypoint is None:
        fail("Dockerfile: the final stage has no ENTRYPOINT")
    if final.all("CMD"):
        fail("Dockerfile: the final stage has a CMD; arguments after the image name must go to the binary")

    healthcheck = final.last("HEALTHCHECK")
    if healthcheck is None:
        fail("Dockerfile: the final stage has no HEALTHCHECK")
    options: dict[str, str] = {}
    rest = healthcheck.args
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        key, _, value = option[2:].partition("=")
        options[key] = value
        rest = rest.strip()
    if not rest.upper().startswith("CMD "):
        fail(f"Dockerfile line {healthcheck.line}: HEALTHCHECK must be `HEALTHCHECK [OPTIONS] CMD [...]`")
    probe = Instruction("HEALTHCHECK CMD", rest[4:].strip(), healthcheck.line)

    exposed = []
    for instruction in final.all("EXPOSE"):
        for word in instruction.args.split():
            exposed.append(int(word.split("/")[0]))

    version_arg = None
    for instruction in final.all("ARG"):
        key, _, value = instruction.args.partition("=")
        if key.strip() == "VERSION":
            version_arg = value.strip()

    copies, commands = [], []
    for stage in stages[:-1]:
        for instruction in stage.all("COPY") + stage.all("ADD"):
            words = [w for w in shlex.split(instruction.args) if not w.startswith("--")]
            if any(w.startswith("--from") for w in instruction.args.split()):
                continue
            copies.extend(words[:-1])
        commands.extend(i.args for i in stage.all("RUN"))

    for key in SECRET_VARIABLES:
        for stage in stages:
            for instruction in stage.all("ENV") + stage.all("ARG"):
                if re.search(rf"\b{key}\b", instruction.args):
                    fail(f"Dockerfile line {instruction.line}: {key} must come at run time, never from the image")
        if key in global_args:
            fail(f"Dockerfile: {key} must come at run time, never from the image")

    return Image(
        base=final.base,
        env=env,
        uid=uid,
        gid=gid,
        entrypoint=exec_form(entrypoint, "ENTRYPOINT"),
        healthcheck=exec_form(probe, "HEALTHCHECK CMD"),
        healthcheck_timeout=parse_duration(options.get("timeout", "30s")),
        exposed=exposed,
        version_arg=version_arg,
        build_copies=copies,
        build_commands=commands,
    )


# ---- .dockerignore ---------------------------------------------------------------------------------


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exception, regex) in file order, with Docker's matching rules (`*` stops at `/`)."""
    patterns = []
    if not DOCKERIGNORE.exists():
        return patterns
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        line = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex, i = "", 0
        while i < len(line):
            if line.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif line.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif line[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif line[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(line[i]), i + 1
        patterns.append((exception, re.compile(regex)))
    return patterns


def in_context(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the build context holds `path`: the last pattern matching it or a parent decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for exception, regex in patterns:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            included = exception
    return included


def files_under(path: Path) -> list[str]:
    if path.is_file():
        return [path.relative_to(ROOT).as_posix()]
    found = []
    for directory, _, names in os.walk(path):
        for name in names:
            found.append((Path(directory) / name).relative_to(ROOT).as_posix())
    return found


def check_build_context(image: Image) -> None:
    patterns = ignore_patterns()
    if not image.build_copies:
        fail("Dockerfile: the build stage copies nothing from the build context")
    for source in image.build_copies:
        if not (ROOT / source).exists():
            fail(f"Dockerfile copies {source!r}, which does not exist")
        missing = [f for f in files_under(ROOT / source) if not in_context(f, patterns)]
        if source != "." and missing:
            fail(f"Dockerfile copies {source!r}, but .dockerignore leaves out {missing[0]!r}")
    ok(f"every COPY source of the build stage is in the build context ({', '.join(image.build_copies)})")

    # Cargo loads every workspace member even for `-p bloc-graphql`: each one's manifest, build
    # script and sources must reach the build stage.
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    packages = [ROOT]
    for member in manifest.get("workspace", {}).get("members", []):
        packages.extend(sorted(p for p in ROOT.glob(member) if (p / "Cargo.toml").exists()))
    needed = ["Cargo.lock"]
    for package in packages:
        for part in ["Cargo.toml", "build.rs", "src"]:
            if (package / part).exists():
                needed.extend(files_under(package / part))

    def copied(path: str) -> bool:
        return any(s == "." or path == s.rstrip("/") or path.startswith(s.rstrip("/") + "/") for s in image.build_copies)

    for path in needed:
        if not copied(path):
            fail(f"the build stage needs {path!r} (workspace packages: Cargo.toml, build.rs, src/) but no COPY brings it")
        if not in_context(path, patterns):
            fail(f"the build stage needs {path!r} but .dockerignore leaves it out of the build context")
    members = ", ".join(p.relative_to(ROOT).as_posix() or "." for p in packages)
    ok(f"the build stage gets every workspace package's manifest and sources ({members}), {len(needed)} files")

    for heavy in ["target/release/bloc-graphql", ".git/HEAD", "tests/conformance/node_modules/x"]:
        if in_context(heavy, patterns):
            fail(f".dockerignore lets {heavy.split('/')[0]}/ into the build context")
    ok(".dockerignore keeps target/, .git and node_modules/ out of the build context")

    if not any(re.search(r"cargo build\b.*--release.*--locked|cargo build\b.*--locked.*--release", c) for c in image.build_commands):
        fail("Dockerfile: the build stage must run `cargo build --release --locked`")
    ok("the build stage runs `cargo build --release --locked`")


def check_image_contract(image: Image) -> None:
    if not image.entrypoint[0].startswith("/"):
        fail("Dockerfile: ENTRYPOINT must name the binary by absolute path")
    if image.uid == 0:
        fail("Dockerfile: USER is root")
    host, port = split_host_port(image.env.get("LISTEN_ADDR", "127.0.0.1:8080"))
    if host in {"127.0.0.1", "localhost", "[::1]"}:
        fail("Dockerfile: LISTEN_ADDR must not be loopback in a container (nothing outside could connect)")
    if port not in image.exposed:
        fail(f"Dockerfile: EXPOSE {image.exposed} does not include LISTEN_ADDR's port {port}")
    if image.healthcheck[0] != image.entrypoint[0]:
        fail("Dockerfile: HEALTHCHECK must run the image's own binary (distroless has no curl or shell)")
    if image.healthcheck_timeout <= 0:
        fail("Dockerfile: HEALTHCHECK timeout must be positive")
    cargo_version = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]
    if image.version_arg is not None and image.version_arg != cargo_version:
        fail(f"Dockerfile: ARG VERSION={image.version_arg} but Cargo.toml says {cargo_version}")
    env = " ".join(f"{k}={v}" for k, v in image.env.items())
    ok(
        f"final stage {image.base}: ENV {env}; USER {image.uid}:{image.gid}; EXPOSE {port}; "
        f"ENTRYPOINT {json.dumps(image.entrypoint)}; HEALTHCHECK {json.dumps(image.healthcheck)} "
        f"(timeout {image.healthcheck_timeout:g}s); no CMD; no secret in ENV or ARG"
    )


# ---- Kubernetes manifests --------------------------------------------------------------------------


@dataclass
class Manifests:
    files: list[Path]
    objects: list[dict]

    def one(self, kind: str, name: str | None = None) -> dict:
        found = [o for o in self.all(kind) if name is None or o["metadata"]["name"] == name]
        if len(found) != 1:
            fail(f"deploy/kubernetes: expected one {kind}{' ' + name if name else ''}, found {len(found)}")
        return found[0]

    def all(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o.get("kind") == kind]


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.y*ml") if p.name not in {"kustomization.yaml", "kustomization.yml"})


def read_manifests() -> Manifests:
    files = manifest_files()
    objects = []
    for path in files:
        objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return Manifests(files, objects)


def lint(venv_bin: Path) -> None:
    result = subprocess.run(
        [venv_bin / "yamllint", "--strict", "--format", "parsable", "-c", DEPLOY / ".yamllint", DEPLOY],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        fail(f"yamllint:\n{result.stdout}{result.stderr}")
    linted = sorted(p.relative_to(ROOT).as_posix() for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"})
    ok(f"yamllint --strict: {len(linted)} files clean ({', '.join(linted)})")

    files = manifest_files()
    if not files:
        fail("deploy/kubernetes has no manifests")
    command = [venv_bin / "kubernetes-validate", "--strict"]
    for version in KUBERNETES_VERSIONS:
        command += ["-k", version]
    result = subprocess.run(command + files, capture_output=True, text=True)
    lines = (result.stdout + result.stderr).strip().splitlines()
    # A kind or apiVersion it has no schema for is only a WARN to kubernetes-validate, with exit 0.
    bad = [line for line in lines if not line.startswith("INFO ")]
    if result.returncode != 0 or bad:
        fail("kubernetes-validate --strict:\n" + "\n".join(bad or lines))
    passed = [line for line in lines if " passed for resource " in line]
    resources = sorted({line.split(" passed for resource ")[1].split(" against ")[0] for line in passed})
    ok(
        f"kubernetes-validate --strict against Kubernetes {' and '.join(KUBERNETES_VERSIONS)}: "
        f"{len(resources)} resources valid ({', '.join(resources)})"
    )


def check_kustomization(manifests: Manifests) -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = kustomization.get("resources", [])
    for name in listed:
        if not (K8S / name).is_file():
            fail(f"kustomization.yaml lists {name}, which does not exist")
    unlisted = [p.name for p in manifests.files if p.name not in listed]
    if unlisted:
        fail(f"kustomization.yaml does not list {', '.join(unlisted)}")
    images = {
        c["image"].rsplit(":", 1)[0]
        for deployment in manifests.all("Deployment")
        for c in deployment["spec"]["template"]["spec"]["containers"]
    }
    for entry in kustomization.get("images", []):
        if entry["name"] not in images:
            fail(f"kustomization.yaml sets image {entry['name']!r}, which no container uses")
    ok(f"kustomization.yaml lists every manifest ({', '.join(listed)})")


def env_source(manifests: Manifests, container: dict) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """The container's environment as kubelet builds it: ConfigMap values, and Secret references."""
    values: dict[str, str] = {}
    secret_refs: dict[str, tuple[str, str]] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            config = manifests.one("ConfigMap", source["configMapRef"]["name"])
            values.update(config.get("data", {}))
        elif "secretRef" in source:
            secret = manifests.one("Secret", source["secretRef"]["name"])
            for key in {**secret.get("data", {}), **secret.get("stringData", {})}:
                secret_refs[key] = (source["secretRef"]["name"], key)
    for entry in container.get("env", []):
        name = entry["name"]
        if "value" in entry:
            values[name] = entry["value"]
            secret_refs.pop(name, None)
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["secretKeyRef"]
            secret_refs[name] = (ref["name"], ref["key"])
            values.pop(name, None)
        elif "configMapKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["configMapKeyRef"]
            values[name] = manifests.one("ConfigMap", ref["name"])["data"][ref["key"]]
    return values, secret_refs


def secret_value(manifests: Manifests, name: str, key: str) -> str:
    secret = manifests.one("Secret", name)
    if key in secret.get("stringData", {}):
        return secret["stringData"][key]
    if key in secret.get("data", {}):
        return base64.b64decode(secret["data"][key]).decode()
    fail(f"Secret {name} has no key {key}")
    return ""


def check_manifests(manifests: Manifests, image: Image) -> None:
    deployment = manifests.one("Deployment", FACADE)
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    containers = spec["containers"]
    if len(containers) != 1:
        fail("the Deployment should run one container")
    container = containers[0]
    labels = pod["metadata"]["labels"]

    def selects(selector: dict) -> bool:
        return all(labels.get(k) == v for k, v in selector.items())

    if not selects(deployment["spec"]["selector"]["matchLabels"]):
        fail("the Deployment's selector does not match its pod labels")

    # The environment: secrets only by reference, and every reference resolvable.
    values, secret_refs = env_source(manifests, container)
    for key in SECRET_VARIABLES & set(values):
        fail(f"{key} is set in plain text (ConfigMap or value); it must come from a Secret")
    if "BLOC_SECRET_KEY" not in secret_refs:
        fail("the Deployment does not take BLOC_SECRET_KEY from a Secret")
    for name, (secret, key) in secret_refs.items():
        secret_value(manifests, secret, key)
    for config in manifests.all("ConfigMap"):
        for key in SECRET_VARIABLES & set(config.get("data", {})):
            fail(f"ConfigMap {config['metadata']['name']} holds {key}; it belongs in a Secret")
    refs = ", ".join(f"{name} from Secret {secret}" for name, (secret, _) in sorted(secret_refs.items()))
    ok(f"secrets only by reference ({refs}); the other {len(values)} variables from the ConfigMap")

    # Files named by the environment must be mounted.
    mounts = {m["mountPath"].rstrip("/"): m for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for name in ["CLIENTS_FILE", "JWT_PUBLIC_KEY_FILE", "PERSISTED_ONLY_FILE"]:
        if name not in values:
            continue
        path = values[name]
        directory, _, filename = path.rpartition("/")
        mount = mounts.get(directory)
        if mount is None:
            fail(f"{name}={path} but nothing is mounted at {directory}")
        volume = volumes[mount["name"]]
        source = volume.get("secret") or volume.get("configMap")
        if source is None:
            fail(f"volume {mount['name']} (for {name}) is neither a Secret nor a ConfigMap")
        kind = "Secret" if "secret" in volume else "ConfigMap"
        obj = manifests.one(kind, source.get("secretName") or source.get("name"))
        keys = {**obj.get("data", {}), **obj.get("stringData", {})}
        paths = {i["path"]: i["key"] for i in source.get("items", [])} or {k: k for k in keys}
        if filename not in paths or paths[filename] not in keys:
            fail(f"{name}={path}: {kind} {obj['metadata']['name']} does not provide {filename}")
    ok("every file the environment names is mounted from a Secret or ConfigMap that has it")

    # The port: the image's (or ConfigMap's) LISTEN_ADDR, the container port, the probes, the Service.
    listen = values.get("LISTEN_ADDR", image.env.get("LISTEN_ADDR"))
    port = split_host_port(listen)[1]
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if port not in ports.values():
        fail(f"LISTEN_ADDR {listen} but the container ports are {sorted(ports.values())}")

    def resolve(target: int | str) -> int:
        return ports[target] if isinstance(target, str) else target

    for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
        http = container.get(probe, {}).get("httpGet")
        if not http or http.get("path") != path or resolve(http["port"]) != port:
            fail(f"the {probe} must GET {path} on port {port}")
    service = manifests.one("Service", FACADE)
    if not selects(service["spec"]["selector"]):
        fail("the Service's selector does not match the pod labels")
    for service_port in service["spec"]["ports"]:
        if resolve(service_port["targetPort"]) != port:
            fail(f"the Service's port {service_port['port']} targets {service_port['targetPort']}, not {port}")
    for budget in [o for o in manifests.objects if o["kind"] == "PodDisruptionBudget"]:
        if not selects(budget["spec"]["selector"]["matchLabels"]):
            fail("the PodDisruptionBudget's selector does not match the pod labels")
    ok(f"port {port}: LISTEN_ADDR, containerPort, /healthz and /readyz probes and the Service agree")

    # Who the process runs as, and what it may do.
    check_security(f"Deployment {FACADE}", spec, container, image.uid, image.gid)
    ok(f"runs as {image.uid}:{image.gid} like the image, non-root, read-only root, no capabilities, no privilege escalation, seccomp RuntimeDefault")

    # Stopping: the preStop pause plus the server's drain (request deadline + 1 s) must fit the grace.
    deadline_ms = int(values.get("REQUEST_TIMEOUT_MS", "10000"))
    pause = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    needed = pause + deadline_ms / 1000 + 1
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace <= needed:
        fail(f"terminationGracePeriodSeconds {grace} must exceed preStop {pause}s + drain {deadline_ms / 1000 + 1:g}s")
    ok(f"terminationGracePeriodSeconds {grace} > preStop {pause}s + drain {deadline_ms / 1000 + 1:g}s (request deadline + 1 s)")

    resources = container.get("resources", {})
    if not resources.get("requests", {}).get("memory") or not resources.get("limits", {}).get("memory"):
        fail("the container needs a memory request and limit")


def check_security(what: str, spec: dict, container: dict, uid: int | None, gid: int | None) -> None:
    """Non-root (as uid:gid when given), read-only root, no capabilities, no escalation, RuntimeDefault."""
    security = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
    expected: dict[str, object] = {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
    }
    if uid is not None:
        expected |= {"runAsUser": uid, "runAsGroup": gid}
    for key, value in expected.items():
        if security.get(key) != value:
            fail(f"{what}: securityContext.{key} should be {value!r} (found {security.get(key)!r})")
    if uid is None and not security.get("runAsUser"):
        fail(f"{what}: securityContext.runAsUser must be set to a non-root uid (runAsNonRoot cannot check a user name)")
    if "ALL" not in security.get("capabilities", {}).get("drop", []):
        fail(f"{what}: the container must drop ALL capabilities")
    if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail(f"{what}: seccompProfile must be RuntimeDefault")


def redis_bytes(text: str) -> int:
    """A redis.conf memory size: 1k = 1000, 1kb = 1024, and so on (units are case-insensitive)."""
    match = re.fullmatch(r"(\d+)(k|kb|m|mb|g|gb)?", text.strip().lower())
    if not match:
        fail(f"cannot read Redis memory size {text!r}")
    units = {None: 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
    return int(match.group(1)) * units[match.group(2)]


def quantity_bytes(text: str) -> int:
    """A Kubernetes memory quantity (128Mi, 1G, 134217728)."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(text).strip())
    if not match:
        fail(f"cannot read memory quantity {text!r}")
    units = {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}
    return int(match.group(1)) * units[match.group(2)]


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@dataclass
class Redis:
    """The trial Redis (redis.yaml): its Service's name and port, and where its password comes from."""

    service: str
    port: int
    password_secret: tuple[str, str]


def redis_options(what: str, args: list[str]) -> dict[str, str]:
    """`redis-server --name value...` arguments as {name: value}, multi-word values joined by spaces."""
    words = list(args)
    if "redis-server" in words:  # after the image's entrypoint (docker-entrypoint.sh), if named
        words = words[words.index("redis-server") + 1 :]
    options: dict[str, list[str]] = {}
    name = None
    for word in words:
        if word.startswith("--"):
            name = word[2:]
            options[name] = []
        elif name is None:
            fail(f"{what}: cannot read argument {word!r}: this check reads the configuration from `--name value` arguments")
        else:
            options[name].append(word)
    return {key: " ".join(value) for key, value in options.items()}


def check_redis(manifests: Manifests) -> Redis | None:
    """The trial Redis, if the manifests have one: a pinned image, one instance, a password from a
    Secret, bounded memory with an evicting policy, no persistence, probes, locked down, a Service."""
    found = [
        d
        for d in manifests.all("Deployment")
        if any(c["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1] == "redis" for c in d["spec"]["template"]["spec"]["containers"])
    ]
    if not found:
        return None
    if len(found) > 1:
        fail(f"{len(found)} Redis Deployments; the replicas must share one Redis")
    deployment = found[0]
    name = deployment["metadata"]["name"]
    what = f"Deployment {name}"
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    labels = pod["metadata"]["labels"]
    (container,) = [c for c in spec["containers"] if c["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1] == "redis"]

    if not selects(deployment["spec"]["selector"]["matchLabels"], labels):
        fail(f"{what}: its selector does not match its pod labels")
    facade = manifests.one("Deployment", FACADE)["spec"]["template"]["metadata"]["labels"]
    for obj in [manifests.one("Service", FACADE), *manifests.all("PodDisruptionBudget")]:
        selector = obj["spec"]["selector"]
        selector = selector.get("matchLabels", selector) if obj["kind"] == "PodDisruptionBudget" else selector
        if selects(selector, labels):
            fail(f"{obj['kind']} {obj['metadata']['name']} selects the Redis pods too (their labels: {labels}, facade's: {facade})")

    image = container["image"]
    if not re.fullmatch(r"(?:[\w.-]+/)*redis:\d+\.\d+\.\d+(?:-[\w.]+)?(?:@sha256:[0-9a-f]{64})?|(?:[\w.-]+/)*redis@sha256:[0-9a-f]{64}", image):
        fail(f"{what}: image {image!r} is not pinned: name a full version (redis:7.4.2) or a digest")

    replicas = deployment["spec"].get("replicas", 1)
    if replicas != 1:
        fail(f"{what}: replicas {replicas}: unreplicated Redis pods behind one Service would each keep a bucket, and the facade's replicas would spend Bloc's budget once per Redis")
    strategy = deployment["spec"].get("strategy", {}).get("type", "RollingUpdate")
    if strategy != "Recreate":
        fail(f"{what}: strategy {strategy}: a rolling update runs two Redis at once, each with its own bucket; use Recreate")

    values, secret_refs = env_source(manifests, container)
    for key in SECRET_VARIABLES & set(values):
        fail(f"{what}: {key} is set in plain text; it must come from a Secret")

    options = redis_options(what, container.get("command", []) + container.get("args", []))
    password = options.get("requirepass")
    if not password:
        fail(f"{what}: no --requirepass: anything in the cluster could read and write the budget and the cache")
    match = re.fullmatch(r"\$\((\w+)\)", password)
    if not match:
        fail(f"{what}: --requirepass is a literal in the manifest; pass $(VARIABLE) with the variable from a Secret")
    if match.group(1) not in secret_refs:
        fail(f"{what}: --requirepass uses $({match.group(1)}), which does not come from a Secret")
    password_secret = secret_refs[match.group(1)]
    if not secret_value(manifests, *password_secret):
        fail(f"{what}: the password in Secret {password_secret[0]} ({password_secret[1]}) is empty")

    if "maxmemory" not in options:
        fail(f"{what}: no --maxmemory: Redis would grow until the container's memory limit kills it")
    maxmemory = redis_bytes(options["maxmemory"])
    limit = container.get("resources", {}).get("limits", {}).get("memory")
    if not limit or not container.get("resources", {}).get("requests", {}).get("memory"):
        fail(f"{what}: the container needs a memory request and limit")
    if maxmemory == 0 or maxmemory > 0.8 * quantity_bytes(limit):
        fail(
            f"{what}: --maxmemory {options['maxmemory']} must be set and at most 80% of the memory limit {limit} "
            f"(fragmentation and client buffers live outside maxmemory)"
        )
    policy = options.get("maxmemory-policy", "noeviction")
    if policy not in EVICTING_POLICIES:
        fail(f"{what}: --maxmemory-policy {policy}: once full, Redis would refuse writes; use volatile-lru (every key the facade writes has a TTL)")

    if options.get("save", None) != "" or options.get("appendonly") != "no":
        fail(f"{what}: persistence must be off (--save \"\" --appendonly no): it holds a cache and a budget counter, and the root filesystem is read-only")

    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    port = options.get("port", "6379")
    if int(port) not in ports.values():
        fail(f"{what}: Redis listens on {port} but the container ports are {sorted(ports.values())}")
    for probe in ["readinessProbe", "livenessProbe"]:
        if not container.get(probe):
            fail(f"{what}: no {probe}")

    check_security(what, spec, container, None, None)

    services = [s for s in manifests.all("Service") if selects(s["spec"].get("selector", {}), labels)]
    if len(services) != 1:
        fail(f"{what}: expected one Service selecting the Redis pods, found {len(services)}")
    service = services[0]
    (service_port,) = service["spec"]["ports"]
    target = service_port.get("targetPort", service_port["port"])
    if (ports.get(target) if isinstance(target, str) else target) != int(port):
        fail(f"Service {service['metadata']['name']}: port {service_port['port']} targets {target}, not Redis's {port}")

    ok(
        f"{what}: {image}, one instance (Recreate), --requirepass from Secret {password_secret[0]}, "
        f"--maxmemory {options['maxmemory']} (limit {limit}) with {policy}, no persistence, probes, "
        f"non-root with a read-only root; Service {service['metadata']['name']}:{service_port['port']}"
    )
    return Redis(service["metadata"]["name"], service_port["port"], password_secret)


def check_shared_budget(manifests: Manifests, redis: Redis | None) -> None:
    """REDIS_URL from a Secret, reaching the Redis the manifests run (or a TLS one outside), and
    UPSTREAM_RATE the whole of Bloc's budget, which the replicas share through it."""
    container = manifests.one("Deployment", FACADE)["spec"]["template"]["spec"]["containers"][0]
    values, secret_refs = env_source(manifests, container)
    if "REDIS_URL" not in secret_refs:
        fail(
            "the Deployment does not take REDIS_URL from a Secret: without Redis each replica spends "
            "the whole UPSTREAM_RATE on its own, and the autoscaler multiplies it"
        )
    url = secret_value(manifests, *secret_refs["REDIS_URL"])
    where = f"REDIS_URL (Secret {secret_refs['REDIS_URL'][0]})"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or 6379
    except ValueError as error:
        fail(f"{where}: cannot read it as a URL: {error}")
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        fail(f"{where}: must be redis://HOST:PORT/DB or rediss://… (TLS)")
    if not re.fullmatch(r"(/\d+)?", parts.path) or parts.query or parts.fragment:
        fail(f"{where}: the path may only be a database number (/0)")
    if not parts.password:
        fail(f"{where}: no password (redis://:PASSWORD@HOST:PORT/0)")
    if redis is not None:
        host = parts.hostname
        if host != redis.service and not re.fullmatch(re.escape(redis.service) + r"\.[a-z0-9-]+(\.svc(\.cluster\.local)?)?", host):
            fail(f"{where}: host {host!r} is not the Redis Service {redis.service}")
        if port != redis.port:
            fail(f"{where}: port {port}, but Service {redis.service} listens on {redis.port}")
        if urllib.parse.unquote(parts.password) != secret_value(manifests, *redis.password_secret):
            fail(f"{where}: its password is not Redis's --requirepass (Secret {redis.password_secret[0]}, key {redis.password_secret[1]})")
        reached = f"Service {redis.service}:{redis.port} with its --requirepass password"
    else:
        if parts.scheme != "rediss":
            fail(f"{where}: a Redis outside these manifests must be reached over TLS (rediss://)")
        reached = f"{parts.hostname}:{port} over TLS"

    rate = values.get("UPSTREAM_RATE")
    if rate is None or not rate.isdigit() or int(rate) != BLOC_CALLS_PER_MINUTE:
        fail(
            f"UPSTREAM_RATE is {rate!r}: with Redis it is the total across replicas, so the whole of Bloc's "
            f"budget ({BLOC_CALLS_PER_MINUTE}), not a share per replica"
        )
    burst = values.get("UPSTREAM_BURST", "50")
    if not burst.isdigit() or not 1 <= int(burst) <= int(rate):
        fail(f"UPSTREAM_BURST is {burst!r}: it must be between 1 and UPSTREAM_RATE ({rate})")
    ok(f"REDIS_URL from a Secret reaches {reached}; UPSTREAM_RATE {rate} (all of Bloc's budget, shared), UPSTREAM_BURST {burst}")


def check_autoscaler(manifests: Manifests) -> None:
    """One HPA scales the facade's Deployment, from at least 2, on CPU; the Deployment leaves the
    replica count to it."""
    deployment = manifests.one("Deployment", FACADE)
    autoscaler = manifests.one("HorizontalPodAutoscaler")
    what = f"HorizontalPodAutoscaler {autoscaler['metadata']['name']}"
    if autoscaler.get("apiVersion") != "autoscaling/v2":
        fail(f"{what}: apiVersion {autoscaler.get('apiVersion')}, expected autoscaling/v2")
    spec = autoscaler["spec"]
    target = spec["scaleTargetRef"]
    wanted = {"apiVersion": "apps/v1", "kind": "Deployment", "name": FACADE}
    if {k: target.get(k) for k in wanted} != wanted:
        fail(f"{what}: scales {target.get('kind')} {target.get('name')} ({target.get('apiVersion')}), not Deployment {FACADE} (apps/v1)")
    low, high = spec.get("minReplicas", 1), spec["maxReplicas"]
    if low < 2:
        fail(f"{what}: minReplicas {low}: with one replica a node drain or a crash leaves nothing serving")
    if high < low:
        fail(f"{what}: maxReplicas {high} is below minReplicas {low}")
    if "replicas" in deployment["spec"]:
        fail(
            f"Deployment {FACADE} sets replicas: {deployment['spec']['replicas']}, but {what} owns the count: "
            f"every `kubectl apply` would reset the autoscaler's choice"
        )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for metric in spec.get("metrics", []):
        resource = metric.get("resource", {})
        if metric.get("type") == "Resource" and resource.get("target", {}).get("type") == "Utilization":
            if not container.get("resources", {}).get("requests", {}).get(resource["name"]):
                fail(f"{what}: scales on {resource['name']} utilisation, but the container requests no {resource['name']}")
    if not any(m.get("type") == "Resource" and m.get("resource", {}).get("name") == "cpu" for m in spec.get("metrics", [])):
        fail(f"{what}: no CPU metric")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for budget in manifests.all("PodDisruptionBudget"):
        available = budget["spec"].get("minAvailable")
        if selects(budget["spec"]["selector"].get("matchLabels", {}), labels) and isinstance(available, int) and available >= low:
            fail(f"PodDisruptionBudget {budget['metadata']['name']}: minAvailable {available} with minReplicas {low} would block every drain")
    ok(f"{what} scales Deployment {FACADE} (which sets no replicas) from {low} to {high} on CPU; the PodDisruptionBudget leaves room to drain")


# ---- Running the binary ----------------------------------------------------------------------------


class Processes:
    """Every process this check starts, so that all of them are stopped whatever happens."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen] = []

    def start(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
        with open(log, "wb") as out:
            process = subprocess.Popen(
                argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with NO_PROXY.open(request, timeout=3) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def log_tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(errors="replace").strip().splitlines()
    return "\n".join("    " + line for line in text[-lines:]) or "    (no output)"


def wait_until_up(process: subprocess.Popen, url: str, log: Path, seconds: float = 15) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if process.poll() is not None:
            fail(f"the process exited with {process.returncode} before {url} answered:\n{log_tail(log)}")
        try:
            status, _ = http("GET", url)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    fail(f"{url} did not answer 200 within {seconds:g}s:\n{log_tail(log)}")


def expect_200(url: str, body: bytes) -> None:
    status, answer = http("GET", url)
    if status != 200 or answer.strip() != body:
        fail(f"GET {url}: {status} {answer[:200]!r}, expected 200 {body!r}")


def stop(process: subprocess.Popen, log: Path, what: str, seconds: float = 5) -> None:
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        code = process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        fail(f"{what} was still running {seconds:g}s after SIGTERM:\n{log_tail(log)}")
    if code != 0:
        fail(f"{what} exited with {code} after SIGTERM, expected 0:\n{log_tail(log)}")
    ok(f"{what}: SIGTERM, exit 0 after {time.monotonic() - started:.2f}s")


@dataclass
class Runner:
    """Runs the binary as the image's user: with setpriv when this check is root; when it is not,
    only if it already is that user (anything else fails: the check is never skipped)."""

    binary: Path
    workdir: Path
    prefix: list[str]
    who: str

    @classmethod
    def prepare(cls, image: Image, workdir: Path) -> "Runner":
        source = Path(os.environ.get("BLOC_GRAPHQL_BIN", ROOT / "target" / "release" / "bloc-graphql"))
        if not source.is_file() or not os.access(source, os.X_OK):
            fail(f"no binary at {source}: build it with `cargo build --release`, or set BLOC_GRAPHQL_BIN")
        # A copy the unprivileged user can read and run but not change, as in the image.
        workdir.chmod(0o755)
        binary = workdir / "bin" / "bloc-graphql"
        binary.parent.mkdir(mode=0o755)
        shutil.copy2(source, binary)
        binary.chmod(0o755)
        if os.geteuid() != 0:
            if (os.geteuid(), os.getegid()) != (image.uid, image.gid):
                fail(
                    f"running the binary as the image's user {image.uid}:{image.gid} needs root (for "
                    f"setpriv) or this check run as that user; it runs as uid {os.geteuid()}, gid "
                    f"{os.getegid()}"
                )
            return cls(binary, workdir, [], f"as uid {image.uid}, gid {image.gid} (this check's own user)")
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            fail("setpriv (util-linux) is needed to run the binary as the image's user")
        prefix = [
            setpriv,
            f"--reuid={image.uid}",
            f"--regid={image.gid}",
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--pdeathsig=TERM",
        ]
        return cls(binary, workdir, prefix, f"as uid {image.uid}, gid {image.gid} (setpriv: no capabilities, no new privileges)")

    def argv(self, image: Image, args: list[str]) -> list[str]:
        if args and args[0] == image.entrypoint[0]:
            args = [str(self.binary)] + args[1:]
        return self.prefix + args

    def check_identity(self, process: subprocess.Popen, image: Image) -> None:
        status = Path(f"/proc/{process.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uids, gids = fields["Uid"].split(), fields["Gid"].split()
        if set(uids) != {str(image.uid)} or set(gids) != {str(image.gid)}:
            fail(f"the server runs as uid {uids} gid {gids}, not {image.uid}:{image.gid}")
        if fields["CapEff"].strip("0\t "):
            fail(f"the server has capabilities {fields['CapEff'].strip()}")
        # setpriv sets no_new_privs; without it (already the image's user) Kubernetes'
        # allowPrivilegeEscalation: false, checked on the manifests, is what sets it.
        if self.prefix and fields["NoNewPrivs"].strip() != "1":
            fail("the server may gain privileges (no_new_privs is not set)")


def check_image_run(image: Image, runner: Runner, processes: Processes) -> None:
    """The image's own environment, user and entry point; only the port and BLOC_SANDBOX differ."""
    port = free_port()
    image_host = split_host_port(image.env["LISTEN_ADDR"])[0]
    env = dict(image.env)
    # Only 127.0.0.1 may be listened on here, so the image's 0.0.0.0 becomes loopback, on a free port.
    env["LISTEN_ADDR"] = f"127.0.0.1:{port}"
    # No Bloc key here: the built-in sandbox stands in for Bloc.
    env["BLOC_SANDBOX"] = "true"
    log = runner.workdir / "image.log"
    process = processes.start(runner.argv(image, list(image.entrypoint)), env, runner.workdir, log)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(process, base + "/healthz", log)
    runner.check_identity(process, image)
    expect_200(base + "/healthz", b"ok")
    expect_200(base + "/readyz", b"ready")
    ok(f"image entry point {runner.who} with the image's ENV (+ BLOC_SANDBOX=true, LISTEN_ADDR={env['LISTEN_ADDR']}): /healthz 200, /readyz 200")

    if image.env.get("LOG_FORMAT") == "json":
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        for line in lines:
            try:
                json.loads(line)
            except json.JSONDecodeError:
                fail(f"LOG_FORMAT=json, but the server printed a line that is not JSON: {line[:200]}")
        if not lines:
            fail("LOG_FORMAT=json, but the server logged nothing at start")
        ok(f"LOG_FORMAT=json: all {len(lines)} log lines so far are JSON objects")

    # The HEALTHCHECK command, with the image's LISTEN_ADDR host (0.0.0.0: it only connects, to
    # loopback, and binds nothing) and the test port, within the HEALTHCHECK timeout.
    def healthcheck(check_port: int) -> tuple[int, str, float]:
        check_env = dict(image.env)
        check_env["LISTEN_ADDR"] = f"{image_host}:{check_port}"
        started = time.monotonic()
        try:
            result = subprocess.run(
                runner.argv(image, list(image.healthcheck)),
                env=check_env,
                cwd=runner.workdir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=image.healthcheck_timeout,
            )
        except subprocess.TimeoutExpired:
            fail(f"HEALTHCHECK {json.dumps(image.healthcheck)} took longer than its timeout ({image.healthcheck_timeout:g}s)")
        return result.returncode, (result.stdout + result.stderr).strip(), time.monotonic() - started

    code, output, took = healthcheck(port)
    if code != 0:
        hint = ""
        if "unrecognized subcommand" in output or "unexpected argument" in output:
            hint = " (this binary has no `healthcheck` subcommand: rebuild it)"
        fail(f"HEALTHCHECK {json.dumps(image.healthcheck)} against a healthy server: exit {code}, expected 0{hint}:\n    {output}")
    ok(f"HEALTHCHECK {json.dumps(image.healthcheck)} with LISTEN_ADDR={image_host}:{port}: exit 0 in {took:.2f}s")

    dead = free_port()
    code, output, took = healthcheck(dead)
    # Docker reads 1 as unhealthy; 2 is reserved.
    if code != 1:
        fail(f"HEALTHCHECK with nothing listening on port {dead}: exit {code}, expected 1 (unhealthy):\n    {output}")
    ok(f"HEALTHCHECK with nothing listening (LISTEN_ADDR={image_host}:{dead}): exit 1 in {took:.2f}s ({output.splitlines()[0] if output else 'no output'})")

    stop(process, log, "image entry point")


def check_manifest_run(image: Image, manifests: Manifests, runner: Runner, processes: Processes) -> None:
    """The Deployment's environment and mounted clients file, in live mode, against the standalone sandbox."""
    deployment = manifests.one("Deployment", FACADE)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    spec = deployment["spec"]["template"]["spec"]
    values, secret_refs = env_source(manifests, container)
    # REDIS_URL names the in-cluster Redis Service, which does not resolve here: the server runs as a
    # replica does without Redis (its own budget and cache). check_shared_budget checks the URL; the
    # Rust tests cover Redis itself. So this check needs nothing the binary may not know yet.
    secret_refs.pop("REDIS_URL", None)
    env = {**image.env, **values}
    for name, (secret, key) in secret_refs.items():
        env[name] = secret_value(manifests, secret, key)

    # Lay the mounted volumes out under the work directory, as kubelet would under their mount paths.
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    root = runner.workdir / "pod"
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        source = volume.get("secret") or volume.get("configMap")
        if source is None:
            continue
        kind = "Secret" if "secret" in volume else "ConfigMap"
        obj = manifests.one(kind, source.get("secretName") or source.get("name"))
        keys = {**obj.get("data", {}), **obj.get("stringData", {})}
        items = {i["path"]: i["key"] for i in source.get("items", [])} or {k: k for k in keys}
        directory = root / mount["mountPath"].lstrip("/")
        directory.mkdir(parents=True, exist_ok=True)
        for path, key in items.items():
            content = secret_value(manifests, obj["metadata"]["name"], key) if kind == "Secret" else keys[key]
            (directory / path).write_text(content)
    for directory, _, names in os.walk(root):
        os.chmod(directory, 0o755)
        for name in names:
            os.chmod(Path(directory) / name, 0o444)
    for name, value in list(env.items()):
        for mount in container.get("volumeMounts", []):
            if value.startswith(mount["mountPath"].rstrip("/") + "/"):
                env[name] = str(root / value.lstrip("/"))

    # One throwaway client beside the placeholder entries, so that one authenticated query can go
    # through to the stand-in Bloc with the Secret's key.
    if "CLIENTS_FILE" not in env:
        fail("the Deployment sets no CLIENTS_FILE; this check authenticates with an API key")
    key = "bgq_" + secrets.token_hex(32)
    clients = Path(env["CLIENTS_FILE"])
    clients.chmod(0o644)
    with open(clients, "a") as out:
        digest = hashlib.sha256(key.encode()).hexdigest()
        out.write(f'\n[[clients]]\nid = "deploy-check"\nkey_sha256 = "{digest}"\nscopes = ["customers:read"]\n')
    clients.chmod(0o444)

    sandbox_port = free_port()
    sandbox_log = runner.workdir / "sandbox.log"
    sandbox = processes.start(
        runner.argv(image, [image.entrypoint[0], "sandbox", "--listen", f"127.0.0.1:{sandbox_port}"]),
        {"LOG_FORMAT": image.env.get("LOG_FORMAT", "pretty")},
        runner.workdir,
        sandbox_log,
    )
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    until = time.monotonic() + 15
    while True:
        if sandbox.poll() is not None:
            fail(f"the standalone sandbox exited with {sandbox.returncode}:\n{log_tail(sandbox_log)}")
        try:
            if http("GET", sandbox_url + "/v1/customers", headers={"Authorization": "Bearer sk_test_x"})[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > until:
            fail(f"the standalone sandbox did not answer:\n{log_tail(sandbox_log)}")
        time.sleep(0.1)

    port = free_port()
    env["LISTEN_ADDR"] = f"127.0.0.1:{port}"
    env["BLOC_API_URL"] = sandbox_url + "/v1"
    log = runner.workdir / "manifests.log"
    process = processes.start(runner.argv(image, list(image.entrypoint)), env, runner.workdir, log)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(process, base + "/healthz", log)
    runner.check_identity(process, image)
    expect_200(base + "/readyz", b"ready")
    shown = ", ".join(sorted(k for k in env if k not in secret_refs))
    ok(
        f"the Deployment's environment ({shown}; {', '.join(sorted(secret_refs))} from the Secret) and its mounted "
        f"clients file start the server in live mode (LISTEN_ADDR and BLOC_API_URL pointed at loopback, "
        f"no REDIS_URL: its Service is not reachable here)"
    )

    query = json.dumps({"query": "{ customer_count }"}).encode()
    headers = {"Content-Type": "application/json"}
    status, _ = http("POST", base + "/graphql", query, headers)
    if status != 401:
        fail(f"POST /graphql without credentials: {status}, expected 401 (anonymous access should be off)")
    status, body = http("POST", base + "/graphql", query, {**headers, "Authorization": f"Bearer {key}"})
    try:
        count = json.loads(body)["data"]["customer_count"]
    except (ValueError, KeyError, TypeError):
        count = None
    if status != 200 or not isinstance(count, int):
        fail(f"POST /graphql with a client key: {status} {body[:300]!r}")
    ok(f"no credentials: 401; a clients-file key: 200, customer_count {count} from the stand-in Bloc with the Secret's key")

    # `bloc-graphql check`, the deploy-pipeline probe, with the same environment: exit 0 means ready.
    check_env = {k: v for k, v in env.items() if k != "LISTEN_ADDR"}
    result = subprocess.run(
        runner.argv(image, [image.entrypoint[0], "check"]),
        env=check_env,
        cwd=runner.workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        fail(f"`bloc-graphql check` with the Deployment's environment: exit {result.returncode}, expected 0:\n    {output}")
    verdict = output.splitlines()[-1] if output else "no output"
    ok(f"`bloc-graphql check` with the Deployment's environment: exit 0 ({verdict})")

    stop(process, log, "server with the Deployment's environment")
    stop(sandbox, sandbox_log, "standalone sandbox")


# ---- main ------------------------------------------------------------------------------------------


def main() -> int:
    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)

    processes = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="bloc-graphql-deploy-check."))
    try:
        step("YAML lint and Kubernetes schemas")
        lint(Path(sys.executable).parent)

        step("Dockerfile, build context and manifests agree")
        image = read_image()
        check_image_contract(image)
        check_build_context(image)
        manifests = read_manifests()
        check_kustomization(manifests)
        check_manifests(manifests, image)
        redis = check_redis(manifests)
        check_shared_budget(manifests, redis)
        check_autoscaler(manifests)

        runner = Runner.prepare(image, workdir)
        step(f"The image's runtime contract, on {runner.binary.name} from {os.environ.get('BLOC_GRAPHQL_BIN', 'target/release')}")
        check_image_run(image, runner, processes)

        step("The Deployment's configuration, in live mode")
        check_manifest_run(image, manifests, runner, processes)
    except Failure as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr, flush=True)
        print(f"deploy/check: {PASSED} passed, 1 failed")
        return 1
    except KeyboardInterrupt as interruption:
        print(f"\ninterrupted ({interruption}); stopping what was started", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ndeploy/check: {PASSED} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
