#!/usr/bin/env bash
# Brings a fresh Debian machine (Node 20+, root) to the point where netmode
# builds and runs: system tools, pnpm, the locked dependencies, the build.
# Safe to run again: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# Node 20 or later.
if ! command -v node >/dev/null 2>&1; then
  say "Node.js 20 or later is required and was not found"; exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or later is required; this is $(node --version)"; exit 1
fi

# The kernel tools netmode drives, each with the Debian package that has it.
missing=()
# ping, conntrack and sysctl serve the bridge driver (arp_notify, stale UDP
# flows) and its tests; with --test, runc and busybox serve the test that runs
# a real OCI container in a namespace netmode prepared, and Debian's docker
# CLI (/usr/bin/docker, from docker.io) is the API server's real client.
tools="ip:iproute2 nft:nftables iptables:iptables nsenter:util-linux sysctl:procps conntrack:conntrack ping:iputils-ping"
[ "${1:-}" = "--test" ] && tools="$tools runc:runc busybox:busybox-static docker:docker.io"
for pair in $tools; do
  tool=${pair%%:*} pkg=${pair#*:}
  found=
  for dir in /usr/sbin /usr/bin /sbin /bin; do [ -x "$dir/$tool" ] && found=1 && break; done
  [ -n "$found" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing packages: ${missing[*]}; run as root or install them with apt-get"; exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # docker.io's package scripts would start dockerd on the machine itself:
  # policy-rc.d's exit 101 forbids it (it is put there only for the install).
  policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
fi

# pnpm, at the version package.json names (corepack's signature check fails here).
want_pnpm=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$want_pnpm" ]; then
  say "installing pnpm $want_pnpm"
  npm install -g --silent "pnpm@$want_pnpm" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm run --silent build
