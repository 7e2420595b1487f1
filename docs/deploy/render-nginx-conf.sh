#!/bin/sh
# Renders docs/deploy/nginx.conf.template: every ${SWITCHYARD_*} placeholder is replaced from the
# environment, and each line holding ${SWITCHYARD_UPSTREAM} is repeated once per address of
# SWITCHYARD_UPSTREAMS. NGINX's own $variables and comment lines are left alone. Fails on an
# unset placeholder.
#
#   SWITCHYARD_UPSTREAMS="10.0.0.11:8080 10.0.0.12:8080" \
#   SWITCHYARD_TLS_LISTEN=443 SWITCHYARD_HTTP_LISTEN=80 \
#   SWITCHYARD_TLS_CERT=/etc/ssl/edge.pem SWITCHYARD_TLS_KEY=/etc/ssl/edge.key \
#   SWITCHYARD_STREAMS_PER_IP=64 \
#   sh docs/deploy/render-nginx-conf.sh > /srv/switchyard-edge/nginx.conf
#
# Optional first argument: the template path (default: next to this script).
set -eu
template="${1:-$(dirname "$0")/nginx.conf.template}"
: "${SWITCHYARD_UPSTREAMS:?set SWITCHYARD_UPSTREAMS to the gateway addresses, e.g. \"10.0.0.11:8080 10.0.0.12:8080\"}"
exec awk -v upstreams="$SWITCHYARD_UPSTREAMS" '
  function fill(line,    out, name, value) {
    out = ""
    while (match(line, /\$\{SWITCHYARD_[A-Z_]+\}/)) {
      name = substr(line, RSTART + 2, RLENGTH - 3)
      if (name == "SWITCHYARD_UPSTREAM") value = current
      else if (name in ENVIRON) value = ENVIRON[name]
      else { printf "render-nginx-conf: %s is not set\n", name > "/dev/stderr"; failed = 1; exit 1 }
      out = out substr(line, 1, RSTART - 1) value
      line = substr(line, RSTART + RLENGTH)
    }
    return out line
  }
  BEGIN { n = split(upstreams, list, /[ ,]+/) }
  /^[ \t]*#/ { print; next }
  {
    if (index($0, "${SWITCHYARD_UPSTREAM}") > 0) {
      for (i = 1; i <= n; i++) if (list[i] != "") { current = list[i]; print fill($0) }
    } else print fill($0)
  }
  END { if (failed) exit 1 }
' "$template"
