#!/usr/bin/env bash
# check-deploy.sh BINARY: check the deployment files under deploy/ against each other, the
# build and the binary. Exits 0 when every check passes; otherwise prints each failure
# as "check-deploy: FAIL: ..." and exits 1 (2 for a usage or missing-tool error).
#
#   tests/deploy/check-deploy.sh build/storygate
#
# BINARY is the built storygate: the systemd unit is verified with it as ExecStart, its
# --help names the options that STORYGATE_* variables may set, and its shared libraries
# must all come from the Dockerfile's runtime packages.
#
# What it checks:
#   systemd     systemd-analyze verify of deploy/systemd/storygate.service (with ExecStart
#               pointing at BINARY) prints nothing; systemd-analyze security --offline
#               exposure at most 2.5; reload by SIGHUP, stop timeout above the shutdown
#               timeout; storygate.env.example holds placeholders and known variables only
#   kubernetes  every YAML parses; probes GET /healthz (liveness) and /readyz (readiness)
#               on the container's port; non-root, read-only root filesystem, no
#               capabilities, resources; the ConfigMap key is mounted where --mapping
#               points and matches mappings/demo.yaml; every secretKeyRef exists in
#               secret.example.yaml; the Service, PDB and HPA point at the Deployment;
#               every file is in kustomization.yaml (secret.example.yaml on purpose not);
#               the overlays in deploy/kubernetes-overlays (ingress, NLB with the PROXY
#               protocol) build on it, list their files and pass only options storygate has;
#               the ingress overlay's Ingress hashes on the Authorization header and leads
#               to the Service;
#               `kubectl kustomize` builds the base and each overlay when kubectl is installed
#   docker      the build stage installs exactly the build packages of
#               scripts/install-deps.sh; the runtime stage has the package of every
#               library BINARY needs; the files the build stage copies are enough for
#               CMake to configure; non-root USER, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD
#   compose     docker-compose.yml parses, every file it mounts or builds from exists,
#               secrets come from the environment without defaults, ports on 127.0.0.1
#   tags        every storygate image tag and kustomize newTag under deploy/ is the
#               project's version (CMakeLists.txt)
#
# Needs (Debian 12): bash, python3 with python3-yaml, systemd (systemd-analyze), binutils
# (readelf), dpkg, cmake and the build dependencies (for the configure check).
# CHECK_DEPLOY_ROOT=DIR checks a copy of the repository in DIR instead of this one.
set -euo pipefail

prog=check-deploy
usage() {
    echo "usage: $0 BINARY   (the built storygate, e.g. build/storygate)" >&2
    exit 2
}
(($# == 1)) || usage
[[ -f $1 && -x $1 ]] || { echo "$prog: $1 is not an executable file" >&2; exit 2; }
binary=$(realpath "$1")

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(realpath "${CHECK_DEPLOY_ROOT:-$here/../..}")
[[ -d $root/deploy ]] || { echo "$prog: no deploy/ directory in $root" >&2; exit 2; }

need() {  # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 ||
        { echo "$prog: '$1' not found: install the Debian package $2" >&2; exit 2; }
}
need systemd-analyze systemd
need readelf binutils
need dpkg-query dpkg
need cmake cmake

# Debian's python3 with python3-yaml; any python3 that has the yaml module will do.
python=""
for candidate in /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' 2>/dev/null; then
        python=$candidate
        break
    fi
done
[[ -n $python ]] || { echo "$prog: no python3 with the yaml module: install python3-yaml" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/check-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
    echo "$prog: FAIL: $*" >&2
    failures=$((failures + 1))
}
ok() { echo "$prog: ok: $*"; }

# --- systemd ------------------------------------------------------------------------
unit=$root/deploy/systemd/storygate.service
if [[ ! -f $unit ]]; then
    fail "missing $unit"
elif ! grep -q '^ExecStart=/usr/bin/storygate ' "$unit"; then
    fail "$unit: ExecStart= must start with /usr/bin/storygate (where the Debian package installs it)"
else
    mkdir -p "$work/unit"
    # The installed path does not exist here: verify the same unit with the built binary.
    sed "s|^ExecStart=/usr/bin/storygate |ExecStart=$binary |" "$unit" >"$work/unit/storygate.service"
    if ! out=$(systemd-analyze verify --man=no "$work/unit/storygate.service" 2>&1); then
        fail "systemd-analyze verify failed on $unit:"$'\n'"$out"
    elif [[ -n $out ]]; then
        fail "systemd-analyze verify warns about $unit (copy with ExecStart=$binary):"$'\n'"$out"
    else
        ok "systemd-analyze verify $unit: no warnings"
    fi
    if ! out=$(systemd-analyze security --offline=yes --threshold=25 "$work/unit/storygate.service" 2>&1); then
        fail "systemd-analyze security: exposure of $unit above 2.5:"$'\n'"$(grep -v '^✓' <<<"$out")"
    else
        ok "systemd-analyze security: $(grep -o 'exposure level.*' <<<"$out" | tail -1)"
    fi
fi

# --- shell scripts under deploy/ parse ---------------------------------------------------
while IFS= read -r -d '' script; do
    if ! out=$(bash -n "$script" 2>&1); then fail "bash -n $script:"$'\n'"$out"; fi
    [[ -x $script ]] || fail "$script is not executable"
done < <(find "$root/deploy" -name '*.sh' -print0)

# --- image tags: the version the build makes ------------------------------------------------
# An operator copies the tag from these files; one left at an older release pulls it.
version=$(sed -n 's/^project(storygate VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
stale=$(grep -rnoE 'storygate:[0-9][0-9A-Za-z.+~-]*|newTag: *[0-9][0-9A-Za-z.+~-]*' "$root/deploy" |
    grep -vE "(storygate:|newTag: *)$version\$" || true)
if [[ -z $version ]]; then
    fail "no project version in CMakeLists.txt"
elif [[ -n $stale ]]; then
    fail "image tags other than the project's version $version:"$'\n'"$stale"
else
    ok "every image tag under deploy/ is $version"
fi

# --- kustomize build, when kubectl is there -----------------------------------------------
if command -v kubectl >/dev/null 2>&1; then
    if ! out=$(kubectl kustomize "$root/deploy/kubernetes" 2>&1 >"$work/kustomized.yaml"); then
        fail "kubectl kustomize deploy/kubernetes failed:"$'\n'"$out"
    else
        ok "kubectl kustomize deploy/kubernetes builds"
    fi
    for overlay in "$root"/deploy/kubernetes-overlays/*/; do
        [[ -f $overlay/kustomization.yaml ]] || continue
        if ! out=$(kubectl kustomize "$overlay" 2>&1 >/dev/null); then
            fail "kubectl kustomize ${overlay#"$root"/} failed:"$'\n'"$out"
        else
            ok "kubectl kustomize ${overlay#"$root"/} builds"
        fi
    done
else
    echo "$prog: note: kubectl not installed, kustomize build not tried (the YAML checks still run)"
fi

# --- everything parsed: Kubernetes, Dockerfile, compose, env file ----------------------------
if ! "$python" - "$root" "$binary" "$work" <<'PY'; then
import os
import re
import shlex
import shutil
import subprocess
import sys

import yaml

root, binary, work = sys.argv[1:4]
deploy = os.path.join(root, "deploy")
failures = []


def fail(message):
    failures.append(message)
    print(f"check-deploy: FAIL: {message}", file=sys.stderr)


def ok(message):
    print(f"check-deploy: ok: {message}")


def rel(path):
    return os.path.relpath(path, root)


# Options of the binary: STORYGATE_<OPTION> may set each (settings.cpp), plus the two
# credential variables that startup.cpp reads.
help_text = subprocess.run([binary, "--help"], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin"}).stdout
options = set(re.findall(r"^\s+(?:-\w \[ )?--([a-z0-9-]+)", help_text, re.M)) - {"help", "version"}
if "mapping" not in options:
    fail(f"cannot read the options from `{binary} --help`")
known_env = {"STORYGATE_" + o.upper().replace("-", "_") for o in options}
known_env |= {"STORYGATE_BEARER_TOKENS", "STORYGATE_BASIC_CREDENTIALS",
              "STORYGATE_TRUSTED_PROXIES", "STORYGATE_CLIENT_KEY"}
SECRET_ENV = {"STORYGATE_BEARER_TOKENS", "STORYGATE_BASIC_CREDENTIALS", "STORYGATE_DATABASE_URL",
              "PGPASSWORD"}


def check_env_names(where, names):
    for name in names:
        if name.startswith("STORYGATE_") and name not in known_env:
            fail(f"{where}: {name} names no storygate option (see storygate --help)")


def millis_option(env, name, default):
    value = env.get(name)
    return int(value) if value and value.isdigit() else default


# ------------------------------------------------------------------ systemd unit + env file
unit_path = os.path.join(deploy, "systemd", "storygate.service")
unit = {}
if os.path.exists(unit_path):
    section = None
    for line in open(unit_path):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        unit.setdefault((section, key), []).append(value)

    def unit_value(key, section="Service"):
        values = unit.get((section, key), [])
        return values[-1] if values else None

    expect = {"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
              "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
              "CapabilityBoundingSet": "", "AmbientCapabilities": "", "UMask": "0077",
              "Restart": "on-failure", "LimitNOFILE": "65536",
              "EnvironmentFile": "-/etc/storygate/storygate.env",
              "ExecReload": "/bin/kill -HUP $MAINPID"}
    for key, want in expect.items():
        if unit_value(key) != want:
            fail(f"{rel(unit_path)}: expected {key}={want}, found {unit_value(key)!r}")
    if unit_value("Type") not in ("simple", "exec"):
        fail(f"{rel(unit_path)}: Type= must be simple or exec")
    exec_start = shlex.split(unit_value("ExecStart") or "")
    if exec_start[:2] != ["/usr/bin/storygate", "serve"] or "--mapping" not in exec_start:
        fail(f"{rel(unit_path)}: ExecStart= must run /usr/bin/storygate serve --mapping FILE")
    for arg in exec_start[2:]:
        if arg.startswith("--") and arg[2:].split("=")[0] not in options:
            fail(f"{rel(unit_path)}: ExecStart= uses unknown option {arg}")
    stop = unit_value("TimeoutStopSec") or ""
    match = re.fullmatch(r"(\d+)s?", stop)
    shutdown_ms = 10000  # --shutdown-timeout-ms default; the unit does not change it
    if not match or int(match.group(1)) * 1000 <= shutdown_ms:
        fail(f"{rel(unit_path)}: TimeoutStopSec={stop} must be more than the shutdown timeout ({shutdown_ms} ms)")
    ok(f"{rel(unit_path)}: sandbox, reload, stop timeout and environment file settings")

env_example = os.path.join(deploy, "systemd", "storygate.env.example")
if not os.path.exists(env_example):
    fail(f"missing {rel(env_example)}")
else:
    names = []
    for number, line in enumerate(open(env_example), 1):
        stripped = line.strip()
        commented = stripped.startswith("#")
        body = stripped.lstrip("#").strip()
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", body)
        if not m:
            if stripped and not commented:
                fail(f"{rel(env_example)}:{number}: not KEY=VALUE: {stripped}")
            continue
        name, value = m.groups()
        names.append(name)
        if name in SECRET_ENV and "REPLACE" not in value:
            fail(f"{rel(env_example)}:{number}: {name} must hold a REPLACE-... placeholder, not a value")
    check_env_names(rel(env_example), names)
    for name in ("STORYGATE_DATABASE_URL", "STORYGATE_BEARER_TOKENS"):
        if name not in names:
            fail(f"{rel(env_example)}: does not show {name}")
    ok(f"{rel(env_example)}: placeholders and known variables only")

# ------------------------------------------------------------------------------ Kubernetes
kdir = os.path.join(deploy, "kubernetes")
docs = {}  # file -> list of documents
for name in sorted(os.listdir(kdir)) if os.path.isdir(kdir) else []:
    if not name.endswith((".yaml", ".yml")):
        continue
    try:
        docs[name] = [d for d in yaml.safe_load_all(open(os.path.join(kdir, name))) if d is not None]
    except yaml.YAMLError as e:
        fail(f"deploy/kubernetes/{name} does not parse: {e}")
if not docs:
    fail("no YAML files in deploy/kubernetes")


def objects(kind):
    return [(f, d) for f, ds in docs.items() for d in ds
            if isinstance(d, dict) and d.get("kind") == kind]


def one(kind):
    found = objects(kind)
    if len(found) != 1:
        fail(f"deploy/kubernetes: expected exactly one {kind}, found {len(found)}")
        return None, {}
    return found[0]


for f, ds in docs.items():
    for d in ds:
        if f == "kustomization.yaml":
            continue
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind") \
                or not (d.get("metadata") or {}).get("name"):
            fail(f"deploy/kubernetes/{f}: every document needs apiVersion, kind and metadata.name")

CONTAINER_FIELDS = {"name", "image", "command", "args", "workingDir", "ports", "envFrom", "env",
                    "resources", "resizePolicy", "restartPolicy", "volumeMounts",
                    "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe",
                    "lifecycle", "terminationMessagePath", "terminationMessagePolicy",
                    "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"}
POD_FIELDS = {"activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "containers",
              "dnsConfig", "dnsPolicy", "enableServiceLinks", "ephemeralContainers",
              "hostAliases", "hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname",
              "imagePullSecrets", "initContainers", "nodeName", "nodeSelector", "os",
              "overhead", "preemptionPolicy", "priority", "priorityClassName",
              "readinessGates", "resourceClaims", "resources", "restartPolicy",
              "runtimeClassName", "schedulerName", "schedulingGates", "securityContext",
              "serviceAccount", "serviceAccountName", "setHostnameAsFQDN",
              "shareProcessNamespace", "subdomain", "terminationGracePeriodSeconds",
              "tolerations", "topologySpreadConstraints", "volumes"}

dep_file, dep = one("Deployment")
dep_name = (dep.get("metadata") or {}).get("name")
pod = ((dep.get("spec") or {}).get("template") or {}).get("spec") or {}
pod_labels = (((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
containers = pod.get("containers") or []
container = containers[0] if len(containers) == 1 else {}
where = f"deploy/kubernetes/{dep_file}"
if dep:
    spec = dep["spec"]
    if (spec.get("replicas") or 0) < 2:
        fail(f"{where}: replicas must be at least 2")
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
        fail(f"{where}: selector.matchLabels {selector} do not match the pod labels {pod_labels}")
    for key in set(pod) - POD_FIELDS:
        fail(f"{where}: unknown pod spec field {key!r}")
    if len(containers) != 1:
        fail(f"{where}: expected one container, found {len(containers)}")
    for key in set(container) - CONTAINER_FIELDS:
        fail(f"{where}: unknown container field {key!r}")

    # Port, and the probes on it.
    ports = container.get("ports") or []
    port_ids = {p.get("containerPort") for p in ports} | {p.get("name") for p in ports if p.get("name")}
    if 8080 not in port_ids:
        fail(f"{where}: the container must expose containerPort 8080")
    env = {e["name"]: e for e in container.get("env") or [] if "name" in e}
    env_values = {k: v.get("value") for k, v in env.items() if "value" in v}
    if "STORYGATE_PORT" in env_values and env_values["STORYGATE_PORT"] != "8080":
        fail(f"{where}: STORYGATE_PORT is {env_values['STORYGATE_PORT']} but the containerPort is 8080")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (container.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path:
            fail(f"{where}: {probe} must GET {path}, found {get.get('path')!r}")
        if get.get("port") not in port_ids:
            fail(f"{where}: {probe} port {get.get('port')!r} is not the container's port {sorted(map(str, port_ids))}")

    # Non-root, read-only, no capabilities.
    pod_sc = pod.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
        fail(f"{where}: runAsNonRoot must be true")
    if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
        fail(f"{where}: runAsUser must not be 0")
    if sc.get("readOnlyRootFilesystem") is not True:
        fail(f"{where}: readOnlyRootFilesystem must be true")
    if sc.get("allowPrivilegeEscalation") is not False:
        fail(f"{where}: allowPrivilegeEscalation must be false")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        fail(f"{where}: capabilities.drop must contain ALL")
    if (sc.get("capabilities") or {}).get("add"):
        fail(f"{where}: capabilities.add must be empty")

    resources = container.get("resources") or {}
    for part, key in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")):
        if key not in (resources.get(part) or {}):
            fail(f"{where}: resources.{part}.{key} is required")
    if (resources.get("limits") or {}).get("memory") != "128Mi":
        fail(f"{where}: resources.limits.memory must be 128Mi")

    # Arguments: serve, --mapping PATH, --listen 0.0.0.0.
    args = [str(a) for a in container.get("args") or []]

    def arg_value(flag):
        for i, a in enumerate(args):
            if a == flag and i + 1 < len(args):
                return args[i + 1]
            if a.startswith(flag + "="):
                return a.split("=", 1)[1]
        return None

    if not args or args[0] != "serve":
        fail(f"{where}: args must start with serve")
    for a in args:
        if a.startswith("--") and a[2:].split("=")[0] not in options:
            fail(f"{where}: args use unknown option {a}")
    if arg_value("--listen") != "0.0.0.0":
        fail(f"{where}: args must have --listen 0.0.0.0")
    mapping_path = arg_value("--mapping")
    if not mapping_path:
        fail(f"{where}: args must have --mapping PATH")

    # Graceful stop: grace period > preStop pause + storygate's shutdown timeout.
    pre_stop = ((container.get("lifecycle") or {}).get("preStop")) or {}
    pause = 0
    if "sleep" in pre_stop:
        pause = int((pre_stop["sleep"] or {}).get("seconds", 0))
    elif "exec" in pre_stop:
        command = [str(c) for c in pre_stop["exec"].get("command") or []]
        if len(command) == 2 and os.path.basename(command[0]) == "sleep" and command[1].isdigit():
            pause = int(command[1])
        else:
            fail(f"{where}: preStop exec must be [sleep, SECONDS], found {command}")
    shutdown_ms = millis_option(env_values, "STORYGATE_SHUTDOWN_TIMEOUT_MS", 10000)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace * 1000 <= pause * 1000 + shutdown_ms:
        fail(f"{where}: terminationGracePeriodSeconds {grace} must exceed the preStop pause "
             f"({pause} s) plus the shutdown timeout ({shutdown_ms} ms)")

    # The mapping: a ConfigMap key mounted at the path --mapping names.
    if mapping_path:
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        found = None
        for m in container.get("volumeMounts") or []:
            mount = m.get("mountPath", "").rstrip("/")
            if m.get("subPath"):
                if mount == mapping_path:
                    found = (m, m["subPath"])
            elif mapping_path.startswith(mount + "/"):
                found = (m, mapping_path[len(mount) + 1:])
        if not found:
            fail(f"{where}: no volumeMount provides {mapping_path}")
        else:
            m, inner = found
            volume = volumes.get(m.get("name")) or {}
            cm = volume.get("configMap")
            if not cm:
                fail(f"{where}: {mapping_path} must come from a configMap volume")
            else:
                items = cm.get("items")
                key = inner if m.get("subPath") or not items else None
                for item in items or []:
                    if item.get("path") == inner:
                        key = item.get("key")
                if not key:
                    fail(f"{where}: the configMap volume has no item with path {inner}")
                cms = [d for f, d in objects("ConfigMap") if d["metadata"]["name"] == cm.get("name")]
                if not cms:
                    fail(f"{where}: ConfigMap {cm.get('name')!r} is not defined in deploy/kubernetes")
                elif key:
                    data = (cms[0].get("data") or {}).get(key)
                    if data is None:
                        fail(f"ConfigMap {cm.get('name')!r} has no key {key!r} (mounted at {mapping_path})")
                    else:
                        demo = yaml.safe_load(open(os.path.join(root, "mappings", "demo.yaml")))
                        if yaml.safe_load(data) != demo:
                            fail(f"ConfigMap {cm.get('name')!r} key {key!r} differs from mappings/demo.yaml; "
                                 "regenerate it: deploy/kubernetes/make-configmap.sh > deploy/kubernetes/configmap.yaml")
                        else:
                            ok(f"ConfigMap {cm.get('name')}/{key} is mounted at {mapping_path} "
                               "and matches mappings/demo.yaml")

    # Environment: known options; secrets from the Secret in secret.example.yaml.
    check_env_names(where, env)
    secrets = {}
    secret_file = "secret.example.yaml"
    for d in docs.get(secret_file, []):
        if d.get("kind") == "Secret":
            secrets[d["metadata"]["name"]] = {**(d.get("stringData") or {}), **(d.get("data") or {})}
    if not secrets:
        fail(f"deploy/kubernetes/{secret_file} must define the example Secret")
    for values in secrets.values():
        for key, value in values.items():
            if "REPLACE" not in str(value):
                fail(f"deploy/kubernetes/{secret_file}: {key} must be a REPLACE-... placeholder")
    refs = []
    for e in env.values():
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            refs.append((e["name"], ref.get("name"), ref.get("key")))
        elif e["name"] in SECRET_ENV:
            fail(f"{where}: {e['name']} must come from a Secret (secretKeyRef), not a literal value")
    for env_name, secret_name, key in refs:
        if key not in secrets.get(secret_name, {}):
            fail(f"{where}: {env_name} refers to Secret {secret_name!r} key {key!r}, "
                 f"which {secret_file} does not define")
    for required in ("STORYGATE_DATABASE_URL", "STORYGATE_BEARER_TOKENS"):
        if required not in {r[0] for r in refs}:
            fail(f"{where}: {required} must come from the Secret")
    ok(f"{where}: probes, security context, resources, args, grace period, "
       f"{len(refs)} secretKeyRefs")

    # Service: selects the pods, targets the container port.
    for f, svc in objects("Service"):
        sel = (svc.get("spec") or {}).get("selector") or {}
        if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
            fail(f"deploy/kubernetes/{f}: Service selector {sel} does not select the Deployment's pods")
        for p in (svc.get("spec") or {}).get("ports") or []:
            if p.get("targetPort", p.get("port")) not in port_ids:
                fail(f"deploy/kubernetes/{f}: targetPort {p.get('targetPort')!r} is not the container's port")
    if not objects("Service"):
        fail("deploy/kubernetes: no Service")

    for f, pdb in objects("PodDisruptionBudget"):
        sel = ((pdb.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
            fail(f"deploy/kubernetes/{f}: PodDisruptionBudget selector does not select the Deployment's pods")

hpa_file, hpa = one("HorizontalPodAutoscaler")
if hpa:
    where = f"deploy/kubernetes/{hpa_file}"
    spec = hpa.get("spec") or {}
    target = spec.get("scaleTargetRef") or {}
    if hpa.get("apiVersion") != "autoscaling/v2":
        fail(f"{where}: apiVersion must be autoscaling/v2")
    if target.get("kind") != "Deployment" or target.get("name") != dep_name \
            or target.get("apiVersion") != "apps/v1":
        fail(f"{where}: scaleTargetRef must be apps/v1 Deployment {dep_name!r}, found {target}")
    if not any((m.get("resource") or {}).get("name") == "cpu" for m in spec.get("metrics") or []):
        fail(f"{where}: must scale on the cpu resource metric")
    if not 1 <= (spec.get("minReplicas") or 1) <= (spec.get("maxReplicas") or 0):
        fail(f"{where}: need 1 <= minReplicas <= maxReplicas")
    ok(f"{where}: scales Deployment {dep_name} on CPU")

base_services = {(svc.get("metadata") or {}).get("name") for _, svc in objects("Service")}


def check_affinity(where, ingress):
    """Affinity by client (issue 15): without it, a load balancer spreads a walk's pages over
    the replicas and every page that lands elsewhere falls back to OFFSET."""
    annotations = (ingress.get("metadata") or {}).get("annotations") or {}
    if annotations.get("nginx.ingress.kubernetes.io/upstream-hash-by") != "$http_authorization":
        fail(f"{where}: needs nginx.ingress.kubernetes.io/upstream-hash-by: \"$http_authorization\" "
             "(one client on one replica)")
        return False
    backends = [((p.get("backend") or {}).get("service") or {}).get("name")
                for rule in (ingress.get("spec") or {}).get("rules") or []
                for p in (rule.get("http") or {}).get("paths") or []]
    if not backends or any(b not in base_services for b in backends):
        fail(f"{where}: every path must lead to a Service of deploy/kubernetes, found {backends}")
        return False
    ok(f"{where}: routes by the Authorization header to Service {backends[0]}")
    return True


if objects("Ingress"):
    fail("deploy/kubernetes: the Ingress belongs in deploy/kubernetes-overlays/ingress (the NLB overlay has none)")

kust = (docs.get("kustomization.yaml") or [{}])[0]
if not kust:
    fail("deploy/kubernetes/kustomization.yaml is missing")
else:
    resources = kust.get("resources") or []
    kust_text = open(os.path.join(kdir, "kustomization.yaml")).read()
    for r in resources:
        if not os.path.exists(os.path.join(kdir, r)):
            fail(f"kustomization.yaml lists {r}, which does not exist")
    for f in docs:
        if f == "kustomization.yaml":
            continue
        if f == "secret.example.yaml":
            # Applying placeholders would overwrite the real Secret: named, never a resource.
            if f in resources:
                fail("kustomization.yaml must not list secret.example.yaml as a resource")
            elif f not in kust_text:
                fail("kustomization.yaml must mention secret.example.yaml (in a comment)")
        elif f not in resources:
            fail(f"kustomization.yaml does not list {f} in resources")
    images = {i.get("name") for i in kust.get("images") or []}
    image = str(container.get("image", "")).split(":")[0]
    if images and image not in images:
        fail(f"kustomization.yaml images {sorted(images)} do not name the container image {image!r}")
    ok(f"kustomization.yaml lists {len(resources)} resources")

# Overlays (deploy/kubernetes-overlays/*/: the ingress and the NLB with the PROXY protocol;
# kustomize wants them outside the base): each parses, builds on the base, lists files
# that exist, and passes only options storygate has.
odir_root = os.path.join(deploy, "kubernetes-overlays")
affine_ingresses = 0
for overlay in sorted(os.listdir(odir_root)) if os.path.isdir(odir_root) else []:
    odir = os.path.join(odir_root, overlay)
    if not os.path.isdir(odir):
        continue
    where = f"deploy/kubernetes-overlays/{overlay}"
    try:
        odocs = {n: [d for d in yaml.safe_load_all(open(os.path.join(odir, n))) if d is not None]
                 for n in sorted(os.listdir(odir)) if n.endswith((".yaml", ".yml"))}
    except yaml.YAMLError as e:
        fail(f"{where}: does not parse: {e}")
        continue
    okust = (odocs.get("kustomization.yaml") or [{}])[0]
    listed = (okust.get("resources") or []) + [p.get("path") for p in okust.get("patches") or []]
    if "../../kubernetes" not in listed:
        fail(f"{where}/kustomization.yaml must build on the base (resources: ../../kubernetes)")
    for r in listed:
        if not os.path.exists(os.path.join(odir, r)):
            fail(f"{where}/kustomization.yaml lists {r}, which does not exist")
    for n, ds in odocs.items():
        if n != "kustomization.yaml" and n not in listed:
            fail(f"{where}/kustomization.yaml does not list {n}")
        for d in ds:
            for c in (((d.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
                for a in c.get("args") or []:
                    if str(a).startswith("--") and str(a)[2:].split("=")[0] not in options:
                        fail(f"{where}/{n}: {a} is not a storygate option")
        for d in ds:
            if d.get("kind") == "Ingress" and check_affinity(f"{where}/{n}", d):
                affine_ingresses += 1
    ok(f"{where}: an overlay of the base, {len(odocs)} files")
if not affine_ingresses:
    fail("deploy/kubernetes-overlays: no Ingress keeps one client on one replica")

# ------------------------------------------------------------------------------ Dockerfile
def dockerfile_stages(path):
    """[(from_line, [instructions])]; each instruction is (KEYWORD, text), continuations joined."""
    lines, current = [], ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if not current and line.lstrip().startswith("#"):
            continue
        if current and (line.lstrip().startswith("#") or not line.strip()):
            continue  # a comment or empty line inside a continued instruction (Docker skips both)
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            lines.append(current.strip())
        current = ""
    stages = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stages.append((rest.strip(), []))
        elif stages:
            stages[-1][1].append((keyword, rest.strip()))
    return stages


def apt_packages(instructions):
    packages = []
    for keyword, text in instructions:
        if keyword != "RUN" or "apt-get install" not in text:
            continue
        for command in re.split(r"&&|;", text):
            words = command.split()
            if words[:2] == ["apt-get", "install"]:
                packages += [w for w in words[2:] if not w.startswith("-")]
    return packages


def install_deps_packages(path):
    text = open(path).read()
    m = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M)
    if not m:
        return None
    words = []
    for line in m.group(1).splitlines():
        words += line.split("#", 1)[0].split()
    return words


dockerfile = os.path.join(deploy, "Dockerfile")
install_deps = os.path.join(root, "scripts", "install-deps.sh")
# install-deps.sh packages the image build does not need: tests, the demo's server,
# and what the runtime stage installs by its own (runtime) names.
NOT_FOR_BUILD = {"libgtest-dev", "googletest", "postgresql-15", "postgresql-client-15",
                 "tzdata", "curl", "ca-certificates", "python3", "python3-yaml", "systemd", "openssl", "pgbouncer",
                 "nginx-light", "haproxy", "sslscan", "redis-server",
                 "help2man", "lintian", "mmdebstrap", "prometheus"}  # the Debian package, its tests, promtool
# Libraries of debian:12-slim itself (apt needs them), so no install line names them.
IN_BASE_IMAGE = {"libc6", "libgcc-s1", "libstdc++6"}

if not os.path.exists(dockerfile):
    fail("missing deploy/Dockerfile")
else:
    stages = dockerfile_stages(dockerfile)
    build = [s for s in stages if re.search(r"\bAS\s+build$", s[0], re.I)]
    if len(stages) < 2 or len(build) != 1:
        fail("deploy/Dockerfile must have a stage 'AS build' and a final runtime stage")
    else:
        build_from, build_instr = build[0]
        final_from, final_instr = stages[-1]
        for image in (build_from.split()[0], final_from.split()[0]):
            if image != "debian:12-slim":
                fail(f"deploy/Dockerfile: base image {image}, expected debian:12-slim")

        # Build packages == install-deps.sh's build packages.
        deps = install_deps_packages(install_deps)
        if deps is None:
            fail("cannot find the packages=( ... ) list in scripts/install-deps.sh")
        else:
            stale = NOT_FOR_BUILD - set(deps)
            if stale:
                fail(f"tests/deploy/check-deploy.sh: NOT_FOR_BUILD names {sorted(stale)}, which "
                     "scripts/install-deps.sh no longer installs; update the list in this check")
            want = set(deps) - NOT_FOR_BUILD
            have = apt_packages(build_instr)
            if len(have) != len(set(have)):
                fail("deploy/Dockerfile: the build stage names a package twice")
            if set(have) != want:
                missing, extra = sorted(want - set(have)), sorted(set(have) - want)
                fail("deploy/Dockerfile build stage packages differ from scripts/install-deps.sh: "
                     f"missing {missing}, not in install-deps.sh {extra}")
            else:
                ok(f"deploy/Dockerfile build stage installs the {len(want)} build packages of "
                   "scripts/install-deps.sh")

        # Runtime packages cover every library the binary is linked with.
        runtime = set(apt_packages(final_instr))
        for needed in ("tzdata", "ca-certificates"):
            if needed not in runtime:
                fail(f"deploy/Dockerfile runtime stage must install {needed}")
        readelf = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
        sonames = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", readelf)
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
        lib_packages = {}
        for soname in sonames:
            path = paths.get(soname)
            owner = None
            candidates = [path, os.path.realpath(path)] if path else []
            candidates += [c.replace("/usr/lib/", "/lib/", 1) if c.startswith("/usr/lib/")
                           else c.replace("/lib/", "/usr/lib/", 1) for c in list(candidates)]
            for c in candidates:
                r = subprocess.run(["dpkg-query", "-S", c], capture_output=True, text=True)
                if r.returncode == 0:
                    owner = r.stdout.split(":")[0].split(",")[0].strip()
                    break
            if not owner:
                fail(f"no Debian package owns {soname} ({path}), which {binary} needs")
            else:
                lib_packages[soname] = owner
        uncovered = {s: p for s, p in lib_packages.items() if p not in runtime | IN_BASE_IMAGE}
        if uncovered:
            fail("deploy/Dockerfile runtime stage lacks the packages of libraries the binary needs: "
                 + ", ".join(f"{p} ({s})" for s, p in sorted(uncovered.items())))
        elif sonames:
            ok(f"deploy/Dockerfile runtime packages cover the binary's {len(sonames)} libraries "
               f"({', '.join(sorted(set(lib_packages.values())))})")

        # User, port, health check, entry point, command.
        def last(keyword, instr):
            found = [t for k, t in instr if k == keyword]
            return found[-1] if found else None

        user = last("USER", final_instr)
        if not user or user.split(":")[0] in ("root", "0"):
            fail("deploy/Dockerfile: the final stage must switch to a non-root USER")
        elif not user.split(":")[0].isdigit():
            fail("deploy/Dockerfile: USER should be numeric, so runAsNonRoot can verify it")
        if "8080" not in (last("EXPOSE", final_instr) or "").split():
            fail("deploy/Dockerfile: EXPOSE 8080 missing")
        health = last("HEALTHCHECK", final_instr) or ""
        if "CMD" not in health:
            fail("deploy/Dockerfile: HEALTHCHECK ... CMD missing")
        if "curl" in health or "curl" in apt_packages(final_instr):
            fail("deploy/Dockerfile: the health check should not need curl")
        import json
        try:
            entry = json.loads(last("ENTRYPOINT", final_instr) or "null")
            cmd = json.loads(last("CMD", final_instr) or "null")
        except ValueError:
            entry = cmd = None
        if entry != ["storygate"]:
            fail(f"deploy/Dockerfile: ENTRYPOINT must be [\"storygate\"], found {entry}")
        want_cmd = ["serve", "--mapping", "/etc/storygate/mapping.yaml", "--listen", "0.0.0.0", "--plain-http"]
        if cmd != want_cmd:
            fail(f"deploy/Dockerfile: CMD must be {want_cmd}, found {cmd}")

        # COPY sources exist (and survive the ignore file); the build stage's are enough
        # for CMake to configure.
        ignore_path = dockerfile + ".dockerignore"
        ignore = [l.strip() for l in open(ignore_path)] if os.path.exists(ignore_path) else []
        reincluded = [l[1:].rstrip("/") for l in ignore if l.startswith("!")]
        build_sources = []
        for stage_from, instr in stages:
            for keyword, text in instr:
                if keyword not in ("COPY", "ADD"):
                    continue
                words = [w for w in text.split() if not w.startswith("--")]
                if "--from=" in text:
                    continue
                for source in words[:-1]:
                    source = source.rstrip("/")
                    if not os.path.exists(os.path.join(root, source)):
                        fail(f"deploy/Dockerfile copies {source}, which does not exist")
                    if "*" in ignore and not any(source == r or source.startswith(r + "/")
                                                 for r in reincluded):
                        fail(f"deploy/Dockerfile copies {source}, which Dockerfile.dockerignore excludes")
                    if (stage_from, instr) == build[0]:
                        build_sources.append(source)
        context = os.path.join(work, "context")
        for source in build_sources:
            src, dst = os.path.join(root, source), os.path.join(context, source)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, dst)
        r = subprocess.run(["cmake", "-S", context, "-B", os.path.join(work, "context-build"),
                            "-DCMAKE_BUILD_TYPE=Release", "-DSTORYGATE_BUILD_TESTS=OFF"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("CMake cannot configure from only what deploy/Dockerfile's build stage copies "
                 f"({', '.join(build_sources)}):\n" + (r.stderr or r.stdout)[-2000:])
        else:
            ok(f"CMake configures from what the build stage copies ({', '.join(build_sources)})")
        ok("deploy/Dockerfile: USER, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD, COPY sources")

# ------------------------------------------------------------------------- docker compose
compose_path = os.path.join(deploy, "docker-compose.yml")
if not os.path.exists(compose_path):
    fail("missing deploy/docker-compose.yml")
else:
    try:
        compose = yaml.safe_load(open(compose_path))
    except yaml.YAMLError as e:
        compose = None
        fail(f"deploy/docker-compose.yml does not parse: {e}")
    services = (compose or {}).get("services") or {}
    base = os.path.dirname(compose_path)
    db = services.get("db") or {}
    app = services.get("storygate") or {}
    if not db or not app:
        fail("deploy/docker-compose.yml must define services db and storygate")
    if not str(db.get("image", "")).startswith("postgres:15"):
        fail("deploy/docker-compose.yml: db must use the postgres:15 image")
    mounts = 0
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            if source and source.startswith((".", "/")):
                mounts += 1
                if not os.path.exists(os.path.normpath(os.path.join(base, source))):
                    fail(f"deploy/docker-compose.yml: service {name} mounts {source}, which does not exist")
        for port in service.get("ports") or []:
            if not str(port).startswith("127.0.0.1:"):
                fail(f"deploy/docker-compose.yml: service {name} publishes {port} beyond 127.0.0.1")
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
        for key, value in env.items():
            secretish = key in SECRET_ENV or re.search(r"PASSWORD|TOKEN|CREDENTIAL|SECRET", key)
            if secretish and key != "STORYGATE_DATABASE_URL" and \
                    not re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", str(value)):
                fail(f"deploy/docker-compose.yml: {name}.{key} must be ${{VAR:?...}} "
                     "(from the environment, no default)")
        if name == "storygate":
            check_env_names("deploy/docker-compose.yml", env)
            url = str(env.get("STORYGATE_DATABASE_URL", ""))
            if not re.match(r"postgres(ql)?://storygate_reader@db[:/]", url):
                fail("deploy/docker-compose.yml: STORYGATE_DATABASE_URL must connect to db as storygate_reader")
    init = [v for v in db.get("volumes") or [] if isinstance(v, str)
            and v.split(":")[1].startswith("/docker-entrypoint-initdb.d/")]
    if not any(v.split(":")[0].endswith("scripts/demo-database.sql") for v in init):
        fail("deploy/docker-compose.yml: db must mount scripts/demo-database.sql into /docker-entrypoint-initdb.d")
    if "healthcheck" not in db:
        fail("deploy/docker-compose.yml: db needs a healthcheck")
    if ((app.get("depends_on") or {}).get("db") or {}).get("condition") != "service_healthy":
        fail("deploy/docker-compose.yml: storygate must depend on db with condition service_healthy")
    build_spec = app.get("build") or {}
    context = os.path.normpath(os.path.join(base, build_spec.get("context", ".")))
    if not os.path.isfile(os.path.join(context, build_spec.get("dockerfile", "Dockerfile"))):
        fail("deploy/docker-compose.yml: storygate.build does not name an existing Dockerfile")
    elif os.path.realpath(context) != os.path.realpath(root):
        fail("deploy/docker-compose.yml: the build context must be the repository root")
    targets = [v.split(":")[1] for v in app.get("volumes") or [] if isinstance(v, str)]
    if "/etc/storygate/mapping.yaml" not in targets:
        fail("deploy/docker-compose.yml: storygate must mount a mapping at /etc/storygate/mapping.yaml")
    ok(f"deploy/docker-compose.yml: {len(services)} services, {mounts} mounted files exist, "
       "secrets from the environment")

sys.exit(1 if failures else 0)
PY
    failures=$((failures + 1))
fi

if ((failures)); then
    echo "$prog: FAILED: see the FAIL lines above" >&2
    exit 1
fi
echo "$prog: all deployment checks passed"
