#!/usr/bin/env bash
# scripts/container-base-image.sh -- make the local Debian base image the container
# tests build on, when no registry is reachable (Debian 12, as root, podman + mmdebstrap).
#
#   scripts/container-base-image.sh [IMAGE]      (default: localhost/peerlane-base:bookworm)
#
# * mmdebstrap writes a minimal bookworm root filesystem with python3, python3-venv and
#   ca-certificates into a tarball under $PEERLANE_CACHE (default ~/.cache/peerlane),
#   named after its package list: made only when missing (about two minutes).
# * `podman import` turns the tarball into IMAGE, only when podman does not have it yet.
# * Prints the image name on the last line of stdout.
#
# Real deployments do not need this: the Containerfile's default base is the public
# python:3.11-slim-bookworm image.
set -euo pipefail

IMAGE=${1:-localhost/peerlane-base:bookworm}
CACHE=${PEERLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/peerlane}
PACKAGES=python3,python3-venv,ca-certificates
MIRRORS=(
    "deb http://deb.debian.org/debian bookworm main"
    "deb http://deb.debian.org/debian bookworm-updates main"
    "deb http://deb.debian.org/debian-security bookworm-security main"
)

tag=$(printf '%s\n' "$PACKAGES" "${MIRRORS[@]}" | sha256sum | cut -c1-12)
tarball=$CACHE/base-bookworm-$tag.tar

if [[ ! -s $tarball ]]; then
    mkdir -p "$CACHE"
    echo "container-base: making $tarball with mmdebstrap (about two minutes)" >&2
    partial=$tarball.partial.$$
    trap 'rm -f "$partial"' EXIT
    # minbase: no recommends, no docs or man pages (dpkg excludes them), apt lists dropped.
    mmdebstrap --variant=minbase --include="$PACKAGES" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
        --format=tar bookworm "$partial" "${MIRRORS[@]}" >&2
    mv "$partial" "$tarball"
    trap - EXIT
fi

# The tag label ties an imported image to its tarball: a new package list imports again.
if [[ $(podman image inspect --format '{{index .Labels "peerlane.base"}}' "$IMAGE" 2>/dev/null) != "$tag" ]]; then
    echo "container-base: importing $tarball as $IMAGE" >&2
    podman import --change "LABEL peerlane.base=$tag" --change 'CMD ["/bin/bash"]' \
        "$tarball" "$IMAGE" >&2
fi
echo "$IMAGE"
