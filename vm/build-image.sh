#!/bin/bash
# Build the pmem.optane test guest from Debian packages only (no bootloader):
#   <cache>/<key>/vmlinux      uncompressed kernel with a PVH note (QEMU -kernel boots it directly)
#   <cache>/<key>/initrd.img   small initrd (virtio + ext4 only)
#   <cache>/<key>/rootfs.raw   sparse ext4 root file system, used read-only as a qcow2 backing file
#   <cache>/<key>/id_ed25519   SSH key whose public half is root's authorized key in the image
#   <cache>/<key>/manifest.txt kernel version, package versions, build time
# <key> hashes vm/packages.txt and this script, so a change to either rebuilds and an
# unchanged pair reuses the cache.
#
# Usage: vm/build-image.sh [--print-dir] [--force]
#   --print-dir  print the image directory (built or not) and exit
#   --force      rebuild even when the cache is complete
# Environment: PMEM_VM_CACHE (default vm/cache), PMEM_VM_MIRROR (default http://deb.debian.org/debian),
#   PMEM_VM_SECURITY_MIRROR (default http://deb.debian.org/debian-security), PMEM_VM_SUITE (default bookworm),
#   PMEM_VM_BUILD_TIMEOUT seconds (default 1200).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${PMEM_VM_CACHE:-$HERE/cache}
SUITE=${PMEM_VM_SUITE:-bookworm}
MIRROR=${PMEM_VM_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${PMEM_VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
BUILD_TIMEOUT=${PMEM_VM_BUILD_TIMEOUT:-1200}

PACKAGES=$(grep -v -e '^#' -e '^[[:space:]]*$' "$HERE/packages.txt" | tr -d ' ' | paste -sd, -)
KEY=$( { echo "$SUITE"; cat "$HERE/packages.txt" "$HERE/build-image.sh"; } | sha256sum | cut -c1-16)
IMAGE_DIR=$CACHE/$KEY
ARTEFACTS=(vmlinux initrd.img rootfs.raw id_ed25519 id_ed25519.pub manifest.txt)

print_dir=0
force=0
for arg in "$@"; do
  case $arg in
    --print-dir) print_dir=1 ;;
    --force) force=1 ;;
    *) echo "build-image.sh: unknown argument '$arg' (allowed: --print-dir, --force)" >&2; exit 2 ;;
  esac
done
if [ "$print_dir" = 1 ]; then
  echo "$IMAGE_DIR"
  exit 0
fi

complete() {
  local f
  for f in "${ARTEFACTS[@]}"; do [ -s "$IMAGE_DIR/$f" ] || return 1; done
}

mkdir -p "$CACHE"
# One build at a time per cache; a second caller waits and then finds the cache complete.
exec 9>"$CACHE/.build.lock"
flock -w "$BUILD_TIMEOUT" 9 || { echo "build-image.sh: timed out waiting for $CACHE/.build.lock" >&2; exit 1; }

if [ "$force" = 0 ] && complete; then
  echo "image cache hit: $IMAGE_DIR" >&2
  echo "$IMAGE_DIR"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  # mkfs.ext4 -d copies ownership from the tree, so the tree must be built as real root.
  if sudo -n true 2>/dev/null; then
    exec sudo -n --preserve-env=PMEM_VM_CACHE,PMEM_VM_MIRROR,PMEM_VM_SECURITY_MIRROR,PMEM_VM_SUITE,PMEM_VM_BUILD_TIMEOUT \
      "$HERE/build-image.sh" "$@"
  fi
  echo "build-image.sh: building the guest image needs root (or password-less sudo)" >&2
  exit 1
fi

for tool in mmdebstrap mkfs.ext4 ssh-keygen python3; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: '$tool' is missing (make system-packages installs it)" >&2; exit 1; }
done

started=$(date +%s)
WORK=$(mktemp -d "$CACHE/.build.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
OUT=$WORK/out
mkdir -p "$OUT"

ssh-keygen -q -t ed25519 -N '' -C pmem-optane-vm -f "$OUT/id_ed25519"

# Kernel module directories a headless NVDIMM test guest never loads; dropping them keeps
# the image and the depmod run small. drivers/{nvdimm,dax,acpi,virtio,block,md} stay.
EXCLUDES=(
  '/usr/share/man/*' '/usr/share/doc/*' '/usr/share/locale/*' '/usr/share/info/*' '/lib/firmware/*'
)
for d in sound drivers/gpu drivers/media drivers/net/wireless drivers/net/ethernet drivers/infiniband \
  drivers/staging drivers/bluetooth drivers/usb drivers/hid drivers/iio drivers/isdn drivers/mtd \
  drivers/input drivers/net/can drivers/net/usb drivers/scsi drivers/ata drivers/mmc drivers/thunderbolt \
  drivers/hwmon drivers/video drivers/misc drivers/platform drivers/firewire drivers/mfd drivers/leds \
  drivers/spi drivers/i2c drivers/pinctrl drivers/power drivers/rtc drivers/watchdog drivers/w1 \
  net/wireless net/mac80211 net/bluetooth fs/nls fs/ocfs2 fs/gfs2 fs/ceph fs/nfs fs/smb fs/ubifs fs/jffs2; do
  EXCLUDES+=("/lib/modules/*/kernel/$d/*" "/usr/lib/modules/*/kernel/$d/*")
done
DPKG_OPTS=(--dpkgopt='force-confold' --dpkgopt='force-confdef')
for p in "${EXCLUDES[@]}"; do DPKG_OPTS+=(--dpkgopt="path-exclude=$p"); done
# Keep the copyright files (licence obligations) although the rest of /usr/share/doc goes.
DPKG_OPTS+=(--dpkgopt='path-include=/usr/share/doc/*/copyright')

# Runs before any package is installed: initramfs-tools then builds a small initrd that
# only knows how to mount an ext4 root on virtio-blk.
SETUP_HOOK='mkdir -p "$1/etc/initramfs-tools/conf.d" &&
  printf "MODULES=list\nCOMPRESS=gzip\n" > "$1/etc/initramfs-tools/conf.d/pmem-optane-vm.conf" &&
  printf "virtio_pci\nvirtio_blk\next4\n" > "$1/etc/initramfs-tools/modules"'

# Runs after all packages are installed, with the tree in $1.
CUSTOMIZE_HOOK='set -e
  root="$1"
  echo pmemvm > "$root/etc/hostname"
  printf "127.0.0.1 localhost\n127.0.1.1 pmemvm\n::1 localhost ip6-localhost ip6-loopback\n" > "$root/etc/hosts"
  printf "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n" > "$root/etc/fstab"
  printf "LANG=C.UTF-8\n" > "$root/etc/default/locale"
  # The QEMU user-mode (slirp) network is fixed: a static address avoids waiting for DHCP.
  mkdir -p "$root/etc/systemd/network"
  printf "[Match]\nType=ether\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\nDNS=10.0.2.3\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n" \
    > "$root/etc/systemd/network/10-slirp.network"
  rm -f "$root/etc/resolv.conf"; printf "nameserver 10.0.2.3\n" > "$root/etc/resolv.conf"
  chroot "$root" systemctl enable systemd-networkd.service
  chroot "$root" systemctl mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
    man-db.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
  # QEMU NVDIMMs have no SMART data: ndctl-monitor exits 250 at boot and marks the
  # system degraded. A role that wants it can enable it again.
  chroot "$root" systemctl disable ndctl-monitor.service 2>/dev/null || true
  mkdir -p "$root/etc/ssh/sshd_config.d"
  printf "PasswordAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n" > "$root/etc/ssh/sshd_config.d/pmem-optane-vm.conf"
  install -d -m 700 "$root/root/.ssh"
  install -m 600 "'"$OUT"'/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
  mkdir -p "$root/etc/systemd/journald.conf.d"
  printf "[Journal]\nSystemMaxUse=32M\n" > "$root/etc/systemd/journald.conf.d/pmem-optane-vm.conf"
  cp "$root"/boot/vmlinuz-* "'"$OUT"'/vmlinuz"
  cp "$root"/boot/initrd.img-* "'"$OUT"'/initrd.img"
  { echo "kernel: $(basename "$root"/boot/vmlinuz-* | sed s/^vmlinuz-//)";
    chroot "$root" dpkg-query -W -f "\${Package} \${Version}\n"; } > "'"$OUT"'/packages.txt"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb'

echo "building guest image $KEY (suite $SUITE, mirror $MIRROR)" >&2
timeout "$BUILD_TIMEOUT" mmdebstrap --mode=root --variant=minbase \
  --include="$PACKAGES" \
  --aptopt='Acquire::Languages "none"' --aptopt='Acquire::Retries "3"' \
  "${DPKG_OPTS[@]}" \
  --setup-hook="$SETUP_HOOK" \
  --customize-hook="$CUSTOMIZE_HOOK" \
  "$SUITE" "$WORK/rootfs" \
  "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main"
debootstrapped=$(date +%s)

# The Debian vmlinuz is a bzImage; QEMU boots the ELF inside it through its PVH note,
# which skips the real-mode setup and the decompressor (seconds under TCG).
python3 "$HERE/extract_vmlinux.py" "$OUT/vmlinuz" "$OUT/vmlinux"
rm -f "$OUT/vmlinuz"

# A sparse 4 GiB ext4 file filled from the tree: no loop device, no partition table.
truncate -s 4G "$OUT/rootfs.raw"
mkfs.ext4 -q -F -L root -E root_owner=0:0 -d "$WORK/rootfs" "$OUT/rootfs.raw"
finished=$(date +%s)

{
  echo "key: $KEY"
  echo "suite: $SUITE"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "mmdebstrap_seconds: $((debootstrapped - started))"
  echo "total_seconds: $((finished - started))"
  cat "$OUT/packages.txt"
} > "$OUT/manifest.txt"
rm -f "$OUT/packages.txt"

rm -rf "$IMAGE_DIR"
mv "$OUT" "$IMAGE_DIR"
# Images of other package lists or script versions are stale now.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -regextype egrep -regex '.*/[0-9a-f]{16}' \
  ! -path "$IMAGE_DIR" -exec rm -rf {} +
# Built through sudo: hand the artefacts (the SSH key above all) to the calling user.
if [ -n "${SUDO_UID:-}" ]; then chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$IMAGE_DIR"; fi
echo "built guest image in $((finished - started)) s: $IMAGE_DIR" >&2
echo "$IMAGE_DIR"
