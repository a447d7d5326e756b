#!/usr/bin/env bash
# PostgreSQL and Redis from the system's packages, for `make test-scale` (Debian, as root: apt-get).
# Installs only what is missing; the test starts its own servers on 127.0.0.1, never the system ones.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
[[ ${#missing[@]} -eq 0 ]] && exit 0
if ! command -v apt-get >/dev/null || [[ "$(id -u)" != 0 ]]; then
  echo "PostgreSQL and Redis are required for the scale test: apt-get install ${missing[*]}" >&2
  exit 1
fi
# policy-rc.d keeps the packages from starting their own system services (the test needs none).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.ka2 && chmod +x /usr/sbin/policy-rc.d.ka2
had_policy=0; [[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
[[ $had_policy == 0 ]] && cp /usr/sbin/policy-rc.d.ka2 /usr/sbin/policy-rc.d
trap '[[ $had_policy == 0 ]] && rm -f /usr/sbin/policy-rc.d; rm -f /usr/sbin/policy-rc.d.ka2' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
