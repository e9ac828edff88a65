#!/bin/busybox sh
# refsim kernel-check guest: set the kernel up the way refsim's E2 model sees it, load
# the refsim_page module, run the op lists in /input, write the results to the second
# serial port, power off. Provisioned by kernel/provision.sh; see kernel/README.md.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mkdir -p /tmp/refsim /mnt/dax
T=/sys/kernel/mm/transparent_hugepage
# refsim maps THPs only in MADV_HUGEPAGE vmas and never collapses (Debian's default is "always")
echo madvise > $T/enabled
echo madvise > $T/defrag
echo 4294967295 > $T/khugepaged/scan_sleep_millisecs
echo 4294967295 > $T/khugepaged/alloc_sleep_millisecs
# refsim maps one page per fault: no fault-around (do_fault_around maps cached neighbours)
echo 4096 > /sys/kernel/debug/fault_around_bytes
for m in $(cat /modules.list) refsim_page; do
  insmod /lib/modules/$m.ko || echo "refsim-guest: insmod $m failed"
done
if [ -b /dev/pmem0 ]; then
  zcat /dax.img.gz > /dev/pmem0 && mount -t ext4 -o dax /dev/pmem0 /mnt/dax || echo "refsim-guest: no fsdax mount"
else
  echo "refsim-guest: no /dev/pmem0 (memmap=128M!1G missing?)"
fi
echo "refsim-guest: ready"
timeout ${REFSIM_GUEST_TIMEOUT:-600} /interp /tmp/refsim /mnt/dax < /input > /dev/ttyS1
echo "refsim-guest: done $?"
poweroff -f
