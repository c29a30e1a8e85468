# Builds the benchmark disk image shared by bench/copy and bench/remote.
# Needs: $work, $img, $files, $size_gib, and a variable loop (detached on
# error by the caller's cleanup). Writes $work/layout.env (lv_off, lv_size).

mib() { echo $(( $1 * 1024 * 1024 )); }

build_image() {
echo "== building a ${size_gib} GiB image in $work"
# Old data everywhere: free space must not be zero, or every sparse-aware
# tool looks fast.
dd if=/dev/urandom of="$img" bs=4M count=$(( size_gib * 256 )) iflag=fullblock status=none
# p1 512M ext4 (/boot-like), p2 1G swap, p3 LVM PV (VG benchvg, LV root
# ext4 over all extents), p4 the rest ext3.
sfdisk --quiet --no-reread --no-tell-kernel "$img" <<EOF
label: dos
start=1MiB, size=512MiB, type=83
size=1GiB, type=82
size=$(( size_gib * 1024 - 512 - 1024 - 1024 - 2 ))MiB, type=8e
type=83
EOF
mapfile -t starts < <(sfdisk --dump "$img" | sed -n 's/.*start= *\([0-9]*\), size= *\([0-9]*\).*/\1:\2/p')
part_off() { echo $(( ${starts[$1]%%:*} * 512 )); }
part_size() { echo $(( ${starts[$1]##*:} * 512 )); }

mkfiles() { # dir MiB seed
	mkdir -p "$1"
	local left=$2 i=0
	while [ "$left" -gt 0 ]; do
		local n=$(( (i * 7919 + $3) % 48 + 1 ))
		[ "$n" -gt "$left" ] && n=$left
		mkdir -p "$1/d$(( i % 5 ))"
		head -c $(( n * 1024 * 1024 )) /dev/urandom > "$1/d$(( i % 5 ))/f$i"
		left=$(( left - n )); i=$(( i + 1 ))
	done
}
mkfiles "$files/boot" 100 1
mkfiles "$files/root" 700 2
mkfiles "$files/data" 200 3

mke2fs -q -F -t ext4 -E offset=$(part_off 0),nodiscard -d "$files/boot" "$img" $(( $(part_size 0) / 1024 ))k
head -c $(mib 1) /dev/zero > "$work/swap" && truncate -s $(part_size 1) "$work/swap" && mkswap -q "$work/swap"
dd if="$work/swap" of="$img" bs=4096 count=1 seek=$(( $(part_off 1) / 4096 )) conv=notrunc status=none
rm -f "$work/swap"

lvmconf='global{activation=0} backup{backup=0 archive=0} devices{obtain_device_list_from_udev=0}'
loop=$(losetup --find --show --offset "$(part_off 2)" --sizelimit "$(part_size 2)" "$img")
pvcreate --devices "$loop" --config "$lvmconf" -q -ff -y "$loop" >/dev/null
vgcreate --devices "$loop" --config "$lvmconf" -q -s 4m benchvg "$loop" >/dev/null
lvcreate --devices "$loop" --config "$lvmconf" -q -an -Zn -y -l 100%FREE -n root benchvg >/dev/null 2>&1
pe_start=$(pvs --devices "$loop" --config "$lvmconf" --noheadings --units b --nosuffix -o pe_start "$loop" 2>/dev/null | tr -d ' ')
lv_size=$(lvs --devices "$loop" --config "$lvmconf" --noheadings --units b --nosuffix -o lv_size benchvg/root 2>/dev/null | tr -d ' ')
losetup -d "$loop"; loop=
lv_off=$(( $(part_off 2) + pe_start ))
mke2fs -q -F -t ext4 -E offset=$lv_off,nodiscard -d "$files/root" "$img" $(( lv_size / 1024 ))k
mke2fs -q -F -t ext3 -E offset=$(part_off 3),nodiscard -d "$files/data" "$img" $(( $(part_size 3) / 1024 ))k
rm -rf "$files"
echo "lv_off=$lv_off lv_size=$lv_size" > "$work/layout.env"
}
