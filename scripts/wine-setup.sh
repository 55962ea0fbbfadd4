#!/usr/bin/env bash
# Prepares this machine (Debian 12, amd64) to run Go test binaries built for
# windows/amd64 under Wine, so that `GOOS=windows go test` runs them.
#
#   eval "$(bash scripts/wine-setup.sh [PREFIX])"
#   GOOS=windows go test ./internal/npipe
#   bash scripts/wine-setup.sh --stop [PREFIX]    # stops the wineserver
#
# It prints the environment to use: WINEPREFIX, WINEDEBUG, WINEDLLOVERRIDES,
# and PATH with the go_windows_amd64_exec wrapper in front (`go test` runs a
# foreign binary through go_$GOOS_$GOARCH_exec when that is on PATH). For
# the race detector also set CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc.
#
# What it does, and why:
# - installs wine64 and the MinGW-w64 compiler when missing (as root, with
#   apt-get; about 200 MB to download);
# - creates the Wine prefix (PREFIX, default /tmp/mpconn-wine-$UID);
# - compiles scripts/wine/bcryptprimitives.c into the prefix's system32: the
#   Go runtime (1.22+) loads bcryptprimitives.dll from system32 at start
#   and Debian 12's Wine 8.0 has none (Wine added it in 8.13); next to the
#   .exe does not work, the runtime asks for system32 only;
# - starts a persistent wineserver and runs one program through it, with
#   its output detached: otherwise the wineserver and Wine's helper
#   processes, started by the first test binary, inherit that binary's
#   stdout and `go test` waits for them ("Test I/O incomplete").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver

stop=false
if [ "${1:-}" = --stop ]; then
  stop=true
  shift
fi
prefix=${1:-${WINEPREFIX:-/tmp/mpconn-wine-$(id -u)}}
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

if $stop; then
  [ -x "$wineserver" ] && "$wineserver" -k 2>/dev/null || true
  exit 0
fi

if [ ! -x "$wine" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
  echo "wine-setup: installing wine64 and gcc-mingw-w64-x86-64" >&2
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      wine64 gcc-mingw-w64-x86-64; } >&2
fi

if [ ! -d "$prefix/drive_c/windows/system32" ]; then
  echo "wine-setup: creating the prefix $prefix" >&2
  "$wine" wineboot --init </dev/null >/dev/null 2>&1 || true
  "$wineserver" -w || true
fi
if [ ! -d "$prefix/drive_c/windows/system32" ]; then
  echo "wine-setup: wineboot did not create $prefix" >&2
  exit 1
fi

dll="$prefix/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$dll" ] || [ "$here/wine/bcryptprimitives.c" -nt "$dll" ]; then
  x86_64-w64-mingw32-gcc -O2 -shared -s -o "$dll" "$here/wine/bcryptprimitives.c" -ladvapi32 >&2
fi

bindir="$prefix/bin"
mkdir -p "$bindir"
cat >"$bindir/go_windows_amd64_exec" <<WRAP
#!/usr/bin/env bash
# Runs a windows/amd64 Go binary under Wine (written by scripts/wine-setup.sh).
export WINEPREFIX="\${WINEPREFIX:-$prefix}" WINEDEBUG="\${WINEDEBUG:--all}" WINEDLLOVERRIDES="\${WINEDLLOVERRIDES:-mscoree,mshtml=}"
exec $wine "\$@"
WRAP
chmod +x "$bindir/go_windows_amd64_exec"

"$wineserver" -p </dev/null >/dev/null 2>&1 || true
"$wine" cmd /c exit 0 </dev/null >/dev/null 2>&1 || true

echo "export WINEPREFIX='$prefix' WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' PATH='$bindir':\"\$PATH\""
