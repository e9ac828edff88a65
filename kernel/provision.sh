#!/usr/bin/env bash
# Provision refsim kernel-check: a Debian Linux 6.1 kernel (unpacked, never installed),
# QEMU, the refsim_page module built against the matching headers, the guest
# interpreter (static) and an initramfs, all cached outside the repository.
#
#   kernel/provision.sh            provision (or reuse the cache); prints the manifest's path last
#   kernel/provision.sh --check    say what is there and what is missing; change nothing
#
# Environment: REFSIM_KERNEL_CACHE (default ~/.cache/refsim-kernel), REFSIM_KERNEL_ABI and
# REFSIM_KERNEL_VERSION to pin another 6.1 build. Exit 0 provisioned, 3 cannot provision
# (the message says why: not root and tools missing, no network to the package mirror).
set -euo pipefail

ABI="${REFSIM_KERNEL_ABI:-6.1.0-50}"            # Debian 12 point release kernel, 6.1.176
VERSION="${REFSIM_KERNEL_VERSION:-6.1.176-1}"
FLAVOUR="$ABI-amd64"
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${REFSIM_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/refsim-kernel}"
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

say() { echo "provision: $*" >&2; }
fail() { echo "provision: cannot provision: $*" >&2; exit 3; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T0=$(now)

# ---- host tools, from Debian's packages
# tool -> package
TOOLS="qemu-system-x86_64:qemu-system-x86 busybox:busybox-static gcc:gcc make:make cpio:cpio xz:xz-utils
mkfs.ext4:e2fsprogs depmod:kmod gzip:gzip dpkg-deb:dpkg apt-get:apt"
missing=()
for tp in $TOOLS; do
  t="${tp%%:*}"; p="${tp#*:}"
  command -v "$t" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$t" >/dev/null 2>&1 || missing+=("$p")
done
# a static busybox (busybox-static; Debian's plain busybox is dynamic) and static libc for the interpreter
if command -v busybox >/dev/null 2>&1 && ! file -L "$(command -v busybox)" 2>/dev/null | grep -q "statically linked"; then
  [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q "statically linked" || missing+=(busybox-static)
fi
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
command -v file >/dev/null 2>&1 || missing+=(file)
export PATH="$PATH:/usr/sbin:/sbin"

if [ ${#missing[@]} -gt 0 ]; then
  if [ $CHECK = 1 ]; then say "missing Debian packages: ${missing[*]}"; exit 3; fi
  if [ "$(id -u)" != 0 ]; then
    fail "missing Debian packages: ${missing[*]}; not root, so not installing them (run: sudo apt-get install -y --no-install-recommends ${missing[*]})"
  fi
  say "installing ${missing[*]}"
  t=$(now)
  apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed: no network to Debian's package mirror?"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/refsim-kernel-apt.log 2>&1 \
    || { tail -5 /tmp/refsim-kernel-apt.log >&2; fail "apt-get install ${missing[*]} failed (log: /tmp/refsim-kernel-apt.log)"; }
  APT_SECONDS=$(since "$t")
  APT_BYTES=$(grep -o "Need to get [0-9.,]* [kMG]B" /tmp/refsim-kernel-apt.log | head -1 | sed 's/Need to get //' || true)
fi

# ---- the kernel, its modules and headers: downloaded and unpacked, not installed
SRC_HASH=$(cat "$HERE/provision.sh" "$HERE/guest/init.sh" "$HERE/guest/interp.c" "$HERE/module/refsim_page.c" "$HERE/module/Kbuild" | sha256sum | cut -c1-12)
KDIR="$CACHE/linux-$VERSION"
BUILD="$CACHE/build-$VERSION-$SRC_HASH"
MANIFEST="$BUILD/manifest.json"
if [ -f "$MANIFEST" ]; then
  [ $CHECK = 1 ] && say "provisioned: $MANIFEST"
  echo "$MANIFEST"
  exit 0
fi
if [ $CHECK = 1 ]; then say "tools present; kernel $VERSION not built yet (cache $CACHE)"; exit 3; fi

mkdir -p "$CACHE/debs"
PKGS="linux-image-$FLAVOUR-unsigned=$VERSION linux-headers-$FLAVOUR=$VERSION linux-headers-$ABI-common=$VERSION linux-kbuild-6.1=$VERSION"
DL_SECONDS=0
if [ ! -f "$KDIR/.unpacked" ]; then
  t=$(now)
  ( cd "$CACHE/debs"
    chmod 0777 . 2>/dev/null || true
    if ! apt-get download $PKGS >/tmp/refsim-kernel-download.log 2>&1; then
      if [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 && apt-get download $PKGS >/tmp/refsim-kernel-download.log 2>&1; then :; else
        tail -3 /tmp/refsim-kernel-download.log >&2
        fail "apt-get download of $PKGS failed: no network to Debian's package mirror, or the pinned $VERSION is gone from it (set REFSIM_KERNEL_ABI and REFSIM_KERNEL_VERSION to one 'apt-cache madison linux-image-6.1.0-NN-amd64-unsigned' lists)"
      fi
    fi )
  DL_SECONDS=$(since "$t")
  rm -rf "$KDIR"; mkdir -p "$KDIR"
  for p in $PKGS; do
    name="${p%%=*}"
    deb=$(ls "$CACHE/debs/${name}_"*.deb | grep -F "_${VERSION}_" | head -1)
    dpkg-deb -x "$deb" "$KDIR"
  done
  # the headers' Makefile includes the common headers by absolute path
  sed -i "s#/usr/src/#$KDIR/usr/src/#" "$KDIR/usr/src/linux-headers-$FLAVOUR/Makefile"
  # the uncompressed kernel (ELF with the PVH note) boots in 3-4 s under TCG, the bzImage in 6-12 s
  img="$KDIR/boot/vmlinuz-$FLAVOUR"
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$img" | head -1 | cut -d: -f1)
  [ -n "$off" ] || fail "no xz stream in $img (Debian 6.1 kernels are xz-compressed)"
  tail -c +$((off + 1)) "$img" | xz -dc --single-stream > "$KDIR/vmlinux" 2>/dev/null || true
  file "$KDIR/vmlinux" | grep -q "ELF 64-bit" || fail "could not unpack vmlinux from $img"
  depmod -b "$KDIR" "$FLAVOUR"
  touch "$KDIR/.unpacked"
fi
DEB_BYTES=$(du -cb "$CACHE"/debs/*"_${VERSION}_"*.deb | tail -1 | cut -f1)

# ---- build: module, interpreter, fsdax image, initramfs
t=$(now)
rm -rf "$BUILD.tmp"; mkdir -p "$BUILD.tmp/module" "$BUILD.tmp/root/bin" "$BUILD.tmp/root/lib/modules"
cp "$HERE/module/refsim_page.c" "$HERE/module/Kbuild" "$BUILD.tmp/module/"
make -s -C "$KDIR/usr/src/linux-headers-$FLAVOUR" M="$BUILD.tmp/module" modules >"$BUILD.tmp/module.log" 2>&1 \
  || { cat "$BUILD.tmp/module.log" >&2; fail "building the refsim_page module failed"; }
gcc -static -O2 -Wall -o "$BUILD.tmp/root/interp" "$HERE/guest/interp.c" 2>"$BUILD.tmp/interp.log" \
  || { cat "$BUILD.tmp/interp.log" >&2; fail "building the guest interpreter failed"; }
R="$BUILD.tmp/root"
cp "$(file -L /bin/busybox | grep -q statically && echo /bin/busybox || command -v busybox)" "$R/bin/busybox"
cp "$HERE/guest/init.sh" "$R/init"; chmod +x "$R/init"
cp "$BUILD.tmp/module/refsim_page.ko" "$R/lib/modules/"
# pmem (memmap=128M!1G -> nd_e820 -> /dev/pmem0) and ext4 for the fsdax files, with their dependencies in load order
MODDIR="$KDIR/lib/modules/$FLAVOUR"
: > "$R/modules.list"
add_module() {
  local rel dep
  rel=$(grep -E "(^|/)$1\.ko:" "$MODDIR/modules.dep" | cut -d: -f1)
  [ -n "$rel" ] || fail "module $1 not in $FLAVOUR"
  for dep in $(grep -E "^$rel:" "$MODDIR/modules.dep" | cut -d: -f2); do add_module "$(basename "$dep" .ko)"; done
  grep -qx "$1" "$R/modules.list" || { echo "$1" >> "$R/modules.list"; cp "$MODDIR/$rel" "$R/lib/modules/"; }
}
for m in nd_pmem nd_e820 crc32c_generic ext4; do add_module "$m"; done
mkdir -p "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/mnt/dax"
: > "$R/input"
truncate -s 120M "$BUILD.tmp/dax.img"
mkfs.ext4 -q -F -b 4096 -O ^has_journal "$BUILD.tmp/dax.img"
gzip -1 -c "$BUILD.tmp/dax.img" > "$R/dax.img.gz"; rm "$BUILD.tmp/dax.img"
( cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 ) > "$BUILD.tmp/initrd.gz"
BUILD_SECONDS=$(since "$t")
QEMU_VERSION=$(qemu-system-x86_64 --version | head -1)
TOTAL=$(since "$T0")
cat > "$BUILD.tmp/manifest.json" <<EOF
{
  "kernelVersion": "$VERSION",
  "kernelRelease": "$FLAVOUR",
  "vmlinux": "$KDIR/vmlinux",
  "initrd": "$BUILD/initrd.gz",
  "qemu": "$(command -v qemu-system-x86_64)",
  "qemuVersion": "$QEMU_VERSION",
  "kernelDebBytes": $DEB_BYTES,
  "aptBytes": "${APT_BYTES:-}",
  "seconds": { "apt": ${APT_SECONDS:-0}, "download": ${DL_SECONDS:-0}, "build": ${BUILD_SECONDS:-0}, "total": ${TOTAL:-0} },
  "sourceHash": "$SRC_HASH"
}
EOF
rm -rf "$BUILD"; mv "$BUILD.tmp" "$BUILD"
sed -i "s#$BUILD.tmp#$BUILD#g" "$BUILD/manifest.json"
say "provisioned kernel $VERSION in ${TOTAL}s (cache $CACHE)"
echo "$MANIFEST"
