#!/usr/bin/env bash
# Berth's OCI client tools and conformance suite, pinned and cached. See deploy/tools/README.md.
#
#   install.sh [tool...]   install the missing or outdated tools (idempotent; no args = the default set)
#   install.sh path        print the bin directory
#   install.sh versions    print "<tool> <module@version that was built>" for each installed tool
#   install.sh times       print the install-time log (one line per build)
#
# default set: conformance crane oras regctl helm skopeo
# extra (only when named): distribution   (CNCF Distribution v3 `registry`, a reference registry)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

DEFAULT_TOOLS=(conformance crane oras regctl helm skopeo)
EXTRA_TOOLS=(distribution)

# ---------------------------------------------------------------- settings
default_cache() {
  if { [ -d /opt/berth ] || mkdir -p /opt/berth 2>/dev/null; } && [ -w /opt/berth ]; then
    echo /opt/berth
  else
    echo "${HOME:-/tmp}/.cache/berth"
  fi
}
TOOLS_DIR=${BERTH_TOOLS_DIR:-${BERTH_STACK_CACHE:-$(default_cache)}/tools}
BIN_DIR=$TOOLS_DIR/bin
STAMP_DIR=$TOOLS_DIR/stamps    # <tool>: the module@version its binary was built from
LOG_DIR=$TOOLS_DIR/logs        # <tool>.log: the last build's output
TIMES_LOG=$TOOLS_DIR/install-times.log

# Pins: "<module path> <version> [fallback version...]". Versions are tried in order; the first one the
# module proxy serves and that builds wins, and its stamp records which one it was.
# The conformance suite has no tags of its own (only pseudo-versions). 967efdc (2026-07-16) is the
# reference pin; the proxy refuses it ("This module version is not available"), as it refuses @main, so
# the next candidate is the newest pseudo-version it does serve (97274622c111, 2026-08-31), then @main and
# @latest as a last resort.
declare -A MODULE=(
  [conformance]=github.com/opencontainers/distribution-spec/conformance
  [crane]=github.com/google/go-containerregistry/cmd/crane
  [oras]=oras.land/oras/cmd/oras
  [regctl]=github.com/regclient/regclient/cmd/regctl
  [helm]=helm.sh/helm/v3/cmd/helm
  [distribution]=github.com/distribution/distribution/v3/cmd/registry
)
declare -A VERSIONS=(
  [conformance]="v0.0.0-20260716174315-967efdc079b9 v0.0.0-20260831232431-97274622c111 main latest"
  [crane]=v0.22.1
  [oras]=v1.3.6
  [regctl]=v0.11.7
  [helm]=v3.22.0
  [distribution]=v3.1.2
)
# Binary name that `go install` produces, and the name it gets in $BIN_DIR.
declare -A GO_BIN=([conformance]=conformance [crane]=crane [oras]=oras [regctl]=regctl [helm]=helm [distribution]=registry)
declare -A BIN_NAME=([conformance]=oci-conformance [crane]=crane [oras]=oras [regctl]=regctl [helm]=helm [distribution]=distribution-registry)
# Link flags some tools use to report their version (cosmetic, as in their own release builds).
declare -A LDFLAGS=(
  [helm]="-X helm.sh/helm/v3/internal/version.version=%V"
  [distribution]="-X github.com/distribution/distribution/v3/version.version=%V"
)

# ---------------------------------------------------------------- helpers
log()  { printf '[tools] %s\n' "$*" >&2; }
die()  { printf '[tools] ERROR: %s\n' "$*" >&2; exit 1; }
now()  { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

is_go_tool() { [ -n "${MODULE[$1]:-}" ]; }
known_tool() { local t; for t in "${DEFAULT_TOOLS[@]}" "${EXTRA_TOOLS[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

# The stamp a tool must carry to count as installed: its pin list (so editing a pin rebuilds it).
wanted_stamp() { echo "${MODULE[$1]} ${VERSIONS[$1]}"; }

go_tool_installed() {
  local t=$1
  [ -x "$BIN_DIR/${BIN_NAME[$t]}" ] && [ -f "$STAMP_DIR/$t" ] \
    && [ "$(sed -n 1p "$STAMP_DIR/$t")" = "$(wanted_stamp "$t")" ]
}

show_log() {
  local f=$1
  printf -- '----- last 40 lines of %s -----\n' "$f" >&2
  tail -n 40 "$f" >&2 || true
  printf -- '----- end of %s -----\n' "$f" >&2
}

# Serialise installs between concurrent callers (parallel test files call this script in beforeAll).
take_lock() {
  mkdir -p "$TOOLS_DIR"
  exec 9>"$TOOLS_DIR/.lock"
  if ! flock -n 9; then
    log "another install.sh is running; waiting for its lock"
    flock 9
  fi
}

# Build one Go tool into a private GOBIN, then move it into $BIN_DIR: an interrupted build never leaves
# a half-written binary behind. Writes the stamp and one line to $TIMES_LOG. Runs in a subshell.
build_go_tool() {
  local t=$1 v built='' t0 blog=$LOG_DIR/$1.log tmpbin
  t0=$(now)
  tmpbin=$(mktemp -d "$TOOLS_DIR/.build-$t.XXXXXX")
  : >"$blog"
  for v in ${VERSIONS[$t]}; do
    local ld=${LDFLAGS[$t]:-}
    ld=${ld//%V/$v}
    echo "==== $(date -Is) go install ${MODULE[$t]}@$v" >>"$blog"
    if (exec 9>&-; GOBIN=$tmpbin CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS='-trimpath -buildvcs=false' \
          go install -ldflags "-s -w $ld" "${MODULE[$t]}@$v") >>"$blog" 2>&1 \
       && [ -x "$tmpbin/${GO_BIN[$t]}" ]; then
      built=$v
      break
    fi
    echo "==== ${MODULE[$t]}@$v failed" >>"$blog"
  done
  if [ -z "$built" ]; then
    rm -rf "$tmpbin"
    show_log "$blog"
    log "$t: every candidate failed (${VERSIONS[$t]})"
    return 1
  fi
  # For a query (main/latest) record the version it resolved to.
  local resolved=$built
  if [[ $built != v* ]]; then
    resolved=$(GOTOOLCHAIN=local go version -m "$tmpbin/${GO_BIN[$t]}" 2>/dev/null | awk '$1 == "mod" { print $3; exit }')
    resolved=${resolved:-$built}
  fi
  mv -f "$tmpbin/${GO_BIN[$t]}" "$BIN_DIR/${BIN_NAME[$t]}"
  rm -rf "$tmpbin"
  printf '%s\n%s@%s\n' "$(wanted_stamp "$t")" "${MODULE[$t]}" "$resolved" >"$STAMP_DIR/$t"
  local took; took=$(secs "$t0")
  printf '%s %s %s@%s %ss\n' "$(date -Is)" "$t" "${MODULE[$t]}" "$resolved" "$took" >>"$TIMES_LOG"
  [ "$built" = "${VERSIONS[$t]%% *}" ] || log "$t: pin ${VERSIONS[$t]%% *} refused; used $built ($resolved)"
  log "$t: built ${MODULE[$t]}@$resolved in ${took}s"
}

# ---------------------------------------------------------------- skopeo (Debian package)
skopeo_installed() { command -v skopeo >/dev/null 2>&1; }

skopeo_link() {
  ln -sfn "$(command -v skopeo)" "$BIN_DIR/skopeo"
  mkdir -p "$STAMP_DIR"
  printf 'apt skopeo\nskopeo %s\n' "$(skopeo --version 2>/dev/null | awk '{print $3}')" >"$STAMP_DIR/skopeo"
}

skopeo_install() {
  if skopeo_installed; then skopeo_link; return 0; fi
  local sudo=() t0 inst
  t0=$(now)
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "skopeo: need root (or sudo) to apt-get install skopeo"
    sudo=(sudo)
  fi
  # Lock::Timeout: wait for another apt/dpkg (e.g. deploy/local/stack.sh installing Postgres) instead of failing.
  inst=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends skopeo)
  log "skopeo: apt-get install skopeo"
  if ! (exec 9>&-; "${inst[@]}") >>"$LOG_DIR/skopeo.log" 2>&1; then
    log "skopeo: apt-get install failed; running apt-get update and retrying"
    (exec 9>&-; "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q) >>"$LOG_DIR/skopeo.log" 2>&1 || true
    (exec 9>&-; "${inst[@]}") >>"$LOG_DIR/skopeo.log" 2>&1 || { show_log "$LOG_DIR/skopeo.log"; die "skopeo: apt-get install failed"; }
  fi
  skopeo_installed || die "skopeo: still missing after apt-get install"
  skopeo_link
  printf '%s skopeo apt:%s %ss\n' "$(date -Is)" "$(skopeo --version | awk '{print $3}')" "$(secs "$t0")" >>"$TIMES_LOG"
}

# ---------------------------------------------------------------- commands
cmd_install() {
  local tools=("$@") t missing=() pids=() names=() failed=() t0
  [ ${#tools[@]} -gt 0 ] || tools=("${DEFAULT_TOOLS[@]}")
  for t in "${tools[@]}"; do known_tool "$t" || die "unknown tool '$t' (known: ${DEFAULT_TOOLS[*]} ${EXTRA_TOOLS[*]})"; done

  # Fast path without the lock: everything already there.
  for t in "${tools[@]}"; do
    if [ "$t" = skopeo ]; then
      { skopeo_installed && [ -e "$BIN_DIR/skopeo" ]; } || missing+=("$t")
    else
      go_tool_installed "$t" || missing+=("$t")
    fi
  done
  [ ${#missing[@]} -gt 0 ] || return 0

  take_lock
  mkdir -p "$BIN_DIR" "$STAMP_DIR" "$LOG_DIR"
  t0=$(now)
  for t in "${missing[@]}"; do
    if [ "$t" = skopeo ]; then continue; fi
    go_tool_installed "$t" && continue      # built by the caller who held the lock before us
    command -v go >/dev/null || die "'go' is not on PATH (need Go >= 1.26 to build ${MODULE[$t]})"
    log "$t: building ${MODULE[$t]}@${VERSIONS[$t]%% *} (log $LOG_DIR/$t.log)"
    # All Go builds at once: they share the module and build caches (both safe for concurrent use) and
    # overlap downloading with compiling; the go command itself already uses every core.
    build_go_tool "$t" &
    pids+=($!); names+=("$t")
  done
  # skopeo (apt) meanwhile, in the foreground.
  for t in "${missing[@]}"; do [ "$t" = skopeo ] && skopeo_install; done
  local i
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
  done
  [ ${#failed[@]} -eq 0 ] || die "failed to install: ${failed[*]}"
  log "installed ${missing[*]} in $(secs "$t0")s; bin: $BIN_DIR"
}

cmd_versions() {
  local t
  for t in "${DEFAULT_TOOLS[@]}" "${EXTRA_TOOLS[@]}"; do
    if [ -f "$STAMP_DIR/$t" ]; then printf '%-13s %s\n' "$t" "$(sed -n 2p "$STAMP_DIR/$t")"; fi
  done
}

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  case ${1:-} in
    path) [ $# -eq 1 ] || usage; echo "$BIN_DIR" ;;
    versions) cmd_versions ;;
    times) [ -f "$TIMES_LOG" ] && cat "$TIMES_LOG" ;;
    -h|--help|help) usage ;;
    *) cmd_install "$@" ;;
  esac
}

main "$@"
