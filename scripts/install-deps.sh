#!/bin/sh
# Installs the Debian packages shoal builds with, and only those that
# `dpkg -s` reports missing, so a machine that has them all does nothing.
# `install-deps.sh bench` adds what benchmarking uses beyond the build:
# gnuplot-nox, for shoal-bench --plot (make test does not need it).
set -eu

PACKAGES="build-essential cmake pkg-config python3 libuv1-dev libmsgpack-dev libxxhash-dev \
libcmocka-dev liblmdb-dev libhttp-parser-dev"
if [ "${1:-}" = "bench" ]; then
	PACKAGES="$PACKAGES gnuplot-nox"
fi

missing=""
for pkg in $PACKAGES; do
	if ! dpkg -s "$pkg" >/dev/null 2>&1; then
		missing="$missing $pkg"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "install-deps: installing$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || echo "install-deps: apt-get update failed, trying the install anyway"
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
