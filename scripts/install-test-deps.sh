#!/usr/bin/env bash
# Installs everything the test suites need on a fresh Debian/Ubuntu machine, then the workspace's
# npm packages. Idempotent: what is already there is left alone, and `apt-get update` runs only
# when something is missing. Runs as root, or through sudo when it is available.
#
#   bash scripts/install-test-deps.sh
#
# What the tests use from the system:
#   chromium        end-to-end tests (playwright-core drives /usr/bin/chromium, nothing is downloaded)
#   postgresql      integration tests start throwaway clusters with initdb/postgres from
#                   /usr/lib/postgresql/*/bin, as the `postgres` user when run as root
#   redis-server    integration tests for shared rate limits and the socket.io adapter
#   nginx           the fault suite runs deploy/nginx.conf in front of two app instances
#   unzip           the library tests open folder links' zips with the real unzip
#   fonts           so that pages render text in headless Chromium
#   firefox-esr     the P2P suite across engines (puppeteer-core drives it over WebDriver BiDi)
#   coturn          the P2P suite's TURN server on loopback, and the shipped TURN configuration
#                   started for real and probed (turnserver)
#   iproute2        the fault suite counts the connections nginx holds to an instance (ss)
set -euo pipefail

cd "$(dirname "$0")/.."

log() { printf '[install-test-deps] %s\n' "$*"; }
die() { printf '[install-test-deps] error: %s\n' "$*" >&2; exit 1; }

# --- privileges ---------------------------------------------------------------------------------
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    SUDO=(none)
  fi
fi
as_root() {
  if [ "${SUDO[0]:-}" = none ]; then
    die "need root (or sudo) to run: $*"
  fi
  "${SUDO[@]}" "$@"
}

# --- node ---------------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node is not installed (ShareSync needs Node.js >= 20.19)"
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  die "node $(node -v) is too old: ShareSync needs Node.js >= 20.19"
fi

# --- system packages ----------------------------------------------------------------------------
has_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
have_chromium() { [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] || [ -x /usr/bin/google-chrome ]; }
have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }

missing=()
have_chromium || missing+=(chromium)
have_postgres || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
have_nginx() { [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; }
have_nginx || missing+=(nginx)
{ [ -x /usr/bin/firefox-esr ] || [ -x /usr/bin/firefox ]; } || missing+=(firefox-esr)
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
# The library's folder links are checked with the real unzip binary.
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
if command -v dpkg-query >/dev/null 2>&1; then
  has_pkg fonts-liberation || missing+=(fonts-liberation)
  # Optional: emoji in file names render as glyphs rather than boxes in screenshots.
  has_pkg fonts-noto-color-emoji || missing+=(fonts-noto-color-emoji)
  # The Chinese pages of the language e2e are screenshotted: a CJK font draws them (not empty boxes).
  has_pkg fonts-wqy-microhei || missing+=(fonts-wqy-microhei)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get: install them by hand"
  log "installing from the distribution: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq

  # Keep only what the distribution offers (Ubuntu calls the browser chromium-browser, and
  # fonts-noto-color-emoji is optional).
  wanted=()
  for pkg in "${missing[@]}"; do
    if [ -n "$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}')" ]; then
      wanted+=("$pkg")
    elif [ "$pkg" = chromium ]; then
      wanted+=(chromium-browser)
    elif [ "$pkg" = firefox-esr ]; then
      wanted+=(firefox)
    elif [ "$pkg" = fonts-noto-color-emoji ]; then
      log "skipping optional $pkg (not offered here)"
    else
      die "the distribution offers no package $pkg"
    fi
  done

  # The tests start their own PostgreSQL and Redis on random loopback ports: keep the packages'
  # post-install scripts from starting system-wide daemons (the usual container policy-rc.d).
  policy=/usr/sbin/policy-rc.d
  created_policy=no
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    created_policy=yes
  fi
  cleanup_policy() { if [ "$created_policy" = yes ]; then as_root rm -f "$policy"; fi; }
  trap cleanup_policy EXIT

  as_root apt-get install -y -qq --no-install-recommends "${wanted[@]}"
  cleanup_policy
  created_policy=no
  trap - EXIT
else
  log "system packages already present"
fi

have_chromium || die "chromium is still missing after the install"
have_postgres || die "PostgreSQL server binaries are still missing after the install"
command -v redis-server >/dev/null 2>&1 || die "redis-server is still missing after the install"
have_nginx || die "nginx is still missing after the install"
command -v unzip >/dev/null 2>&1 || die "unzip is still missing after the install"
[ -x /usr/bin/turnserver ] || die "coturn (turnserver) is still missing after the install"

# The test harness runs initdb/postgres as `postgres` when it is root (PostgreSQL refuses root).
if ! id postgres >/dev/null 2>&1; then
  log "creating the postgres system user"
  as_root useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

# --- pnpm ---------------------------------------------------------------------------------------
# The version pinned in package.json's packageManager field. corepack cannot fetch pnpm here
# (signature check), so npm installs it.
want_pnpm="$(node -p 'require("./package.json").packageManager.split("@")[1]')"
have_pnpm="$(pnpm --version 2>/dev/null || true)"
if [ "${have_pnpm%%.*}" != "${want_pnpm%%.*}" ]; then
  log "installing pnpm@$want_pnpm (found: ${have_pnpm:-none})"
  if [ -w "$(npm prefix -g)/lib" ] 2>/dev/null; then
    npm install -g --no-fund --no-audit "pnpm@$want_pnpm"
  else
    as_root npm install -g --no-fund --no-audit "pnpm@$want_pnpm"
  fi
  hash -r
fi
command -v pnpm >/dev/null 2>&1 || die "pnpm is not on PATH after the install"

# --- workspace packages -------------------------------------------------------------------------
log "pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile --prefer-offline

log "done: node $(node -v), pnpm $(pnpm --version), chromium, postgresql $(basename "$(dirname "$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n1)")")"), $(redis-server --version | awk '{print $1, $3}')"
