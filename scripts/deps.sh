#!/usr/bin/env bash
# Installs what xsync's tests and demo need on a Debian machine with Go:
# redis-server and redis-tools, and nodejs and npm (ioredis through the gateway,
# tests/gateway), from Debian's packages, when they are missing.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
	echo "deps: installing ${need[*]} from Debian's packages" >&2
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
	# The package starts a system-wide server on 6379; xsync's tests and demo start
	# their own servers on free ports and do not need it.
	$SUDO systemctl stop redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
if ! command -v go >/dev/null 2>&1; then
	if [ -x /usr/local/go/bin/go ]; then
		echo "deps: add /usr/local/go/bin to PATH" >&2
	else
		echo "deps: Go 1.26 or newer is required (https://go.dev/dl/)" >&2
	fi
	exit 1
fi
echo "deps: $(redis-server --version | cut -d' ' -f1-3), $(go version | cut -d' ' -f3)" >&2
