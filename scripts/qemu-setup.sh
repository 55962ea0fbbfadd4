#!/usr/bin/env bash
# Lets this amd64 Linux machine run linux/arm binaries, for the 32-bit test
# phase of scripts/test: installs qemu-user-static when missing (apt-get)
# and registers its ARM interpreter with binfmt_misc, so that `GOARCH=arm
# go test` runs its test binaries (and the processes they start) directly.
#
# Why ARM and not 386: this machine's kernel has no 32-bit x86 support
# (exec format error), and qemu-i386 7.2 crashes Go 386 binaries in the
# runtime (morestack on g0); linux/386 is built and vetted only.
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
