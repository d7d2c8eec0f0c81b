#!/usr/bin/env bash
# scripts/install-system-deps.sh -- install the Debian packages peerlane's
# tests and tools need (Debian 12 / bookworm). Run via `make system-deps`.
#
# * Idempotent: checks each package with dpkg-query first; when everything is
#   present it prints one short line and exits 0 (no apt-get, well under 1 s).
# * Runs `apt-get update` only when something is missing.
# * Waits (up to $APT_LOCK_TIMEOUT s, default 600) for a dpkg/apt lock held by
#   another apt-get instead of failing.
# * Not root and something missing: prints the exact `sudo apt-get install`
#   command and exits 1.
# * Server packages (postgresql, redis-server, nginx, coturn) are installed
#   with their init scripts prevented from starting (temporary policy-rc.d),
#   then any system service is stopped and disabled, errors ignored (works
#   with or without systemd). The tests start their own instances on loopback
#   in temporary directories; the Debian "main" PostgreSQL cluster is not used.
set -euo pipefail

PACKAGES=(
    chromium          # headless browser for Playwright e2e tests (/usr/bin/chromium)
    firefox-esr       # the second browser of the e2e tests, driven over WebDriver BiDi
    postgresql        # server binaries (/usr/lib/postgresql/*/bin) for tests
    redis-server      # bus backend tests
    coturn            # TURN server (turnserver) for WebRTC fallback tests
    nginx             # reverse-proxy deployment tests
    iproute2          # ip, used by scripts/netns-run and the netlab scenario matrix
    nftables          # nft: NAT and filtering in the netlab scenario matrix (tests/netlab)
    util-linux        # unshare, used by scripts/netns-run
    fonts-liberation  # readable text in screenshots
    podman            # container image and compose tests (tests/container)
    runc              # OCI runtime podman uses in the container tests (crun fails here)
    mmdebstrap        # builds the local Debian base image for the container tests
    podman-compose    # runs compose.yaml in the compose stack test
    golang-github-containernetworking-plugin-dnsname  # service names resolve in podman's CNI networks
)
SERVICES=(postgresql redis-server nginx coturn)
APT_LOCK_TIMEOUT=${APT_LOCK_TIMEOUT:-600}

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "system-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

if [[ $EUID -ne 0 ]]; then
    {
        echo "system-deps: missing Debian packages: ${missing[*]}"
        echo "Install them with:"
        echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
        echo "then re-run this command."
    } >&2
    exit 1
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o "DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT}" -o Dpkg::Use-Pty=0)

# `apt-get update` takes the lists lock; DPkg::Lock::Timeout does not cover it
# on every apt version, so retry while another apt process holds a lock.
apt_update() {
    local deadline=$((SECONDS + APT_LOCK_TIMEOUT)) err
    while true; do
        if err=$(apt-get "${apt_opts[@]}" -q update 2>&1 >/dev/null); then
            return 0
        fi
        if grep -qi 'lock' <<<"$err" && ((SECONDS < deadline)); then
            echo "system-deps: waiting for another apt/dpkg process to release its lock..."
            sleep 5
            continue
        fi
        echo "$err" >&2
        return 1
    done
}

# Keep maintainer scripts from starting services during the install.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, written by peerlane scripts/install-system-deps.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
fi
cleanup() { if [[ $own_policy == 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt_update
apt-get "${apt_opts[@]}" -q -y install --no-install-recommends "${missing[@]}"

# Stop and disable any system service the packages brought along.
have_systemd=0
[[ -d /run/systemd/system ]] && have_systemd=1
for svc in "${SERVICES[@]}"; do
    [[ -e /etc/init.d/$svc || -e /lib/systemd/system/$svc.service ]] || continue
    if ((have_systemd)); then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
    elif command -v systemctl >/dev/null 2>&1; then
        systemctl disable "$svc" >/dev/null 2>&1 || true  # works offline
    fi
    service "$svc" stop >/dev/null 2>&1 || true
    update-rc.d "$svc" disable >/dev/null 2>&1 || true
done
# PostgreSQL clusters created by the package (e.g. 15/main): stop, never autostart.
if command -v pg_lsclusters >/dev/null 2>&1; then
    while read -r ver name _; do
        [[ $ver =~ ^[0-9]+$ ]] || continue
        pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
        conf=/etc/postgresql/$ver/$name/start.conf
        [[ -w $conf ]] && echo manual >"$conf"
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
fi

still=()
for pkg in "${missing[@]}"; do
    is_installed "$pkg" || still+=("$pkg")
done
if [[ ${#still[@]} -gt 0 ]]; then
    echo "system-deps: still missing after apt-get install: ${still[*]}" >&2
    exit 1
fi
echo "system-deps: installed ${missing[*]}"
