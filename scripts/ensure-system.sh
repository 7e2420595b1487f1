#!/usr/bin/env bash
# Installs the system packages the test suite needs (Debian): NGINX with the nchan module (scale-out
# tests and benchmark baseline) and Chromium (browser tests). Does nothing when all are present.
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] || need+=(libnginx-mod-nchan)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# kubectl kustomize (offline) renders docs/deploy/kubernetes in test/integration/kubernetes-manifests.
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
if [ ${#need[@]} -gt 0 ]; then
  echo "[switchyard] installing system packages: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
# The Debian package starts a system nginx on port 80; tests run their own instances.
if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx >/dev/null 2>&1 || true; fi
