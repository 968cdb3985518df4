#!/usr/bin/env bash
# make-configmap.sh [MAPPING]: print configmap.yaml, the ConfigMap "storygate-mapping" holding
# MAPPING (default: mappings/demo.yaml) verbatim under the key mapping.yaml.
#
#   deploy/kubernetes/make-configmap.sh > deploy/kubernetes/configmap.yaml
#   deploy/kubernetes/make-configmap.sh my-mapping.yaml > overlay/configmap.yaml
set -euo pipefail

mapping=${1:-$(dirname "$0")/../../mappings/demo.yaml}
[[ -r $mapping ]] || { echo "make-configmap.sh: cannot read $mapping" >&2; exit 1; }

cat <<'HEAD'
# storygate mapping ConfigMap: storygate reads it at /etc/storygate/mapping.yaml
# (deployment.yaml mounts the key mapping.yaml there). The EXAMPLE here is
# mappings/demo.yaml, the demo database's mapping, copied verbatim: put your own instead,
#   deploy/kubernetes/make-configmap.sh your-mapping.yaml > deploy/kubernetes/configmap.yaml
# (tests/deploy/check-deploy.sh checks that this copy means the same as mappings/demo.yaml;
# regenerate it with make-configmap.sh when the demo mapping changes).
# Applied, it reaches running pods within about a minute and storygate reloads it by
# itself; or kubectl rollout restart deployment/storygate (see deploy/README.md).
apiVersion: v1
kind: ConfigMap
metadata:
  name: storygate-mapping
  labels:
    app.kubernetes.io/name: storygate
data:
  mapping.yaml: |
HEAD
# Indent every line by four spaces; empty lines stay empty (YAML keeps them in the block).
sed -e 's/^\(..*\)$/    \1/' "$mapping"
