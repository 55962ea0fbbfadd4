#!/usr/bin/env bash
# Lets this amd64 Linux machine run linux/arm and linux/386 binaries, for
# the 32-bit test phases of scripts/test: installs qemu-user-static when
# missing (apt-get) and registers its ARM interpreter with binfmt_misc, so
# that `GOARCH=arm go test` runs its test binaries (and the processes they
# start) directly. Its i386 interpreter is registered only when the kernel
# cannot run a 386 binary itself (this machine's: exec format error).
set -euo pipefail
if ! command -v qemu-arm-static >/dev/null 2>&1; then
  apt-get update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y qemu-user-static >/dev/null
fi
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/register" ]; then
  mount -t binfmt_misc binfmt_misc "$binfmt"
fi
if [ ! -e "$binfmt/qemu-arm" ]; then
  if [ -r /usr/lib/binfmt.d/qemu-arm.conf ]; then
    cat /usr/lib/binfmt.d/qemu-arm.conf >"$binfmt/register"
  else
    printf '%s' ':qemu-arm:M::\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-arm-static:F' >"$binfmt/register"
  fi
fi
# linux/386: natively if the kernel can, else under qemu-i386 (which
# scripts/test's 386 phases work around: see there).
if [ ! -e "$binfmt/qemu-i386" ]; then
  probe=$(mktemp -d)
  trap 'rm -rf "$probe"' EXIT
  printf 'package main\n\nfunc main() {}\n' >"$probe/main.go"
  (cd "$probe" && GOARCH=386 go build -o i386 main.go)
  if ! "$probe/i386" 2>/dev/null; then
    printf '%s' ':qemu-i386:M::\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-i386-static:F' >"$binfmt/register"
  fi
fi
