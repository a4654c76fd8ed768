#!/usr/bin/env bash
# Builds the local test image auto-etl-test/busybox:latest when it is missing.
#
# No image registry is reachable on the build machines, so the image is made
# with `docker import` from a rootfs tar holding a static busybox and its
# applet links (sh, sleep, nc, ...). Installs busybox-static when /bin/busybox
# is absent (CI runs as root on a fresh machine).
set -euo pipefail

IMAGE="${AUTO_ETL_TEST_IMAGE:-auto-etl-test/busybox:latest}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "test-image: $IMAGE already present"
    exit 0
fi

BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ]; then
    echo "test-image: $BUSYBOX missing, installing busybox-static" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y busybox-static
fi
if ! "$BUSYBOX" --list >/dev/null 2>&1; then
    echo "test-image: $BUSYBOX does not run" >&2
    exit 1
fi
# The image must run on its own: a dynamically linked busybox would need the
# host's libc inside the image.
if command -v file >/dev/null 2>&1 && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
    echo "test-image: $BUSYBOX is not statically linked (install busybox-static)" >&2
    exit 1
fi

ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/bin" "$ROOT/tmp" "$ROOT/etc" "$ROOT/data" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev"
chmod 1777 "$ROOT/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$ROOT/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
echo 'root:x:0:' >"$ROOT/etc/group"

tar -C "$ROOT" -cf - . | docker import \
    -c 'ENV PATH=/bin' \
    -c 'CMD ["sh"]' \
    -m "auto-etl test image: static busybox" \
    - "$IMAGE" >/dev/null
echo "test-image: built $IMAGE"
