#!/usr/bin/env bash
# Installs what the type check and the tests need on Debian 12: the npm
# packages, the Debian packages the real-component tests run (Nginx, Redis,
# PostgreSQL, wrk), and OAuth2-Proxy and actionlint built with `go install`.
#
# Idempotent: every step checks first and does nothing when its tool is
# already present at the pinned version, so a second run takes about a second.
# Run it from anywhere as `bash scripts/setup.sh`; it prints one line per step.
#
# System services: the Debian packages ship services that would listen on the
# default ports (80, 6379, 5432). This script installs them with starts
# denied (a temporary policy-rc.d), so a fresh machine does not get them
# running. Services that were already running are left alone: the tests start
# their own instances in temp dirs on free 127.0.0.1 ports and never use the
# default ports.
set -euo pipefail

readonly OAUTH2_PROXY_MODULE="github.com/oauth2-proxy/oauth2-proxy/v7"
readonly OAUTH2_PROXY_VERSION="v7.15.6"
readonly ACTIONLINT_MODULE="github.com/rhysd/actionlint"
readonly ACTIONLINT_PACKAGE="github.com/rhysd/actionlint/cmd/actionlint"
readonly ACTIONLINT_VERSION="v1.7.7"
# The go.mod of OAuth2-Proxy v7.15.6 requires Go 1.26.0 or newer.
readonly GO_MIN_MAJOR=1
readonly GO_MIN_MINOR=26

# The Debian packages the tests run. `nginx` provides /usr/sbin/nginx, and
# Debian 12's nginx-light only adds the echo module on top of it. The
# `postgresql` package pulls in postgresql-15, whose binaries are in
# /usr/lib/postgresql/15/bin.
readonly DEBIAN_PACKAGES=(nginx redis-server postgresql wrk)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gobin="${XDG_CACHE_HOME:-$HOME/.cache}/netos-infra/gobin"

step() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

check_platform() {
  if [[ ! -r /etc/debian_version ]] || ! grep -q '^12\.' /etc/debian_version; then
    fail "this script supports Debian 12 only (found: $(cat /etc/debian_version 2>/dev/null || uname -s)). On another system install by hand: Node.js 20 or newer, Go >= ${GO_MIN_MAJOR}.${GO_MIN_MINOR}, Nginx 1.22+, Redis 7, PostgreSQL 15 with its binaries in /usr/lib/postgresql/15/bin, wrk; then run the go install steps of this script."
  fi
  step "platform: Debian $(cat /etc/debian_version)"
}

# npm writes node_modules/.package-lock.json at the end of every successful
# `npm ci` or `npm install`, so that file is the stamp: node_modules is stale
# when it is missing or older than package-lock.json.
install_npm_packages() {
  local stamp="$repo_root/node_modules/.package-lock.json"
  if [[ -f "$stamp" && ! "$repo_root/package-lock.json" -nt "$stamp" ]]; then
    step "npm packages: up to date"
    return
  fi
  command -v npm >/dev/null || fail "npm not found; install Node.js 20 or newer, which includes npm, and run this script again. Debian 12's own nodejs package is Node.js 18, which is too old."
  step "npm packages: running npm ci"
  (cd "$repo_root" && npm ci --no-audit --no-fund)
}

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

install_debian_packages() {
  local missing=()
  local package
  for package in "${DEBIAN_PACKAGES[@]}"; do
    is_installed "$package" || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    step "debian packages: present (${DEBIAN_PACKAGES[*]})"
    return
  fi
  if ((EUID != 0)); then
    fail "missing Debian packages: ${missing[*]}. Run this script as root (sudo bash scripts/setup.sh) or install them with: sudo apt-get install ${missing[*]}"
  fi

  # Deny service starts during the install unless the machine already has a
  # policy (container images usually ship one that denies everything).
  local policy=/usr/sbin/policy-rc.d
  local own_policy=false
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# Temporary, written by netos-infra scripts/setup.sh.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=true
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi

  step "debian packages: installing ${missing[*]} (service starts denied)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

  if [[ "$own_policy" == true ]]; then
    rm -f "$policy"
    trap - EXIT
  fi
}

check_go() {
  command -v go >/dev/null || fail "go not found; install Go ${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer and put it on PATH."
  local version major minor
  version="$(go env GOVERSION)"
  if [[ ! "$version" =~ ^go([0-9]+)\.([0-9]+) ]]; then
    fail "cannot parse the Go version '$version'; install Go ${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer."
  fi
  major="${BASH_REMATCH[1]}"
  minor="${BASH_REMATCH[2]}"
  if ((major < GO_MIN_MAJOR || (major == GO_MIN_MAJOR && minor < GO_MIN_MINOR))); then
    fail "Go $version is too old; OAuth2-Proxy ${OAUTH2_PROXY_VERSION} needs Go ${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer."
  fi
  step "go: $version"
}

# Reads the main module version from the binary's build info. `go install`
# leaves OAuth2-Proxy's own `--version` output as "undefined" because the
# release version is only set by its release build, so `--version` cannot be used.
built_module_version() {
  local binary="$1" module="$2"
  [[ -x "$binary" ]] || return 0
  go version -m "$binary" 2>/dev/null | awk -v module="$module" '$1 == "mod" && $2 == module { print $3 }'
}

go_install() {
  local name="$1" module="$2" package="$3" version="$4"
  local found
  found="$(built_module_version "$gobin/$name" "$module")"
  if [[ "$found" == "$version" ]]; then
    step "$name: $version present in $gobin"
    return
  fi
  step "$name: building $version into $gobin (found: ${found:-none})"
  mkdir -p "$gobin"
  GOBIN="$gobin" go install "$package@$version"
  found="$(built_module_version "$gobin/$name" "$module")"
  [[ "$found" == "$version" ]] || fail "$name built, but $gobin/$name reports version '${found:-none}' instead of $version."
}

# The pinned @pulumi/pulumi and the test runner's flags need Node.js 20 or newer.
check_node() {
  command -v node >/dev/null || fail "node not found; install Node.js 20 or newer and run this script again. Debian 12's own nodejs package is Node.js 18, which is too old."
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || fail "Node.js $(node --version) is too old; install Node.js 20 or newer and run this script again."
  step "node: $(node --version)"
}

check_platform
check_node
install_npm_packages
install_debian_packages
check_go
go_install oauth2-proxy "$OAUTH2_PROXY_MODULE" "$OAUTH2_PROXY_MODULE" "$OAUTH2_PROXY_VERSION"
go_install actionlint "$ACTIONLINT_MODULE" "$ACTIONLINT_PACKAGE" "$ACTIONLINT_VERSION"
step "done"
