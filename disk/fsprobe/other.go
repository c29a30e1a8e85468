package fsprobe

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

func probeXFS(r io.ReaderAt, size int64) (Result, bool, error) {
	sb, ok, err := read(r, size, 0, 512)
	if !ok || err != nil {
		return Result{}, false, err
	}
	if string(sb[:4]) != "XFSB" {
		return Result{}, false, nil
	}
	bs := be.Uint32(sb[4:])
	if bs < 512 || bs > 65536 || bs&(bs-1) != 0 {
		return Result{}, false, nil
	}
	x := &XFSInfo{
		VersionNum: be.Uint16(sb[100:]),
		DataBlocks: be.Uint64(sb[8:]),
		FreeBlocks: be.Uint64(sb[144:]),
		SectorSize: int(be.Uint16(sb[102:])),
		InodeSize:  int(be.Uint16(sb[104:])),
		AGCount:    be.Uint32(sb[88:]),
		Features2:  be.Uint32(sb[200:]),
	}
	x.Version = int(x.VersionNum & 0xf)
	if x.Version == 5 {
		x.FeaturesIncompat = be.Uint32(sb[216:])
	}
	res := Result{
		Type:      XFS,
		UUID:      formatUUID(sb[32:48]),
		Label:     cstring(sb[108:120]),
		Version:   fmt.Sprint(x.Version),
		BlockSize: int64(bs),
		XFS:       x,
	}
	if x.DataBlocks < 1<<40 {
		res.Size = int64(x.DataBlocks) * int64(bs)
	}
	return res, true, nil
}

func probeBtrfs(r io.ReaderAt, size int64) (Result, bool, error) {
	sb, ok, err := read(r, size, 64*1024, 4096)
	if !ok || err != nil {
		return Result{}, false, err
	}
	if string(sb[0x40:0x48]) != "_BHRfS_M" {
		return Result{}, false, nil
	}
	b := &BtrfsInfo{
		TotalBytes: le.Uint64(sb[0x70:]),
		BytesUsed:  le.Uint64(sb[0x78:]),
		NumDevices: le.Uint64(sb[0x88:]),
		// dev_item starts at 0xc9; its uuid is at +0x42.
		DevUUID: formatUUID(sb[0xc9+0x42 : 0xc9+0x52]),
	}
	res := Result{
		Type:      Btrfs,
		UUID:      formatUUID(sb[0x20:0x30]),
		Label:     cstring(sb[0x12b : 0x12b+256]),
		BlockSize: int64(le.Uint32(sb[0x90:])),
		Btrfs:     b,
	}
	if b.TotalBytes < 1<<62 {
		res.Size = int64(b.TotalBytes)
	}
	return res, true, nil
}

func probeSwap(r io.ReaderAt, size int64) (Result, bool, error) {
	for _, ps := range []int{4096, 8192, 16384, 65536} {
		buf, ok, err := read(r, size, 0, ps)
		if err != nil {
			return Result{}, false, err
		}
		if !ok {
			break
		}
		magic := string(buf[ps-10:])
		switch magic {
		case "SWAP-SPACE":
			return Result{Type: Swap, Version: "0", Swap: &SwapInfo{PageSize: ps, Version: 0}}, true, nil
		case "SWAPSPACE2":
			s := &SwapInfo{PageSize: ps, Version: int(le.Uint32(buf[1024:])), LastPage: le.Uint32(buf[1028:])}
			res := Result{Type: Swap, Version: fmt.Sprint(s.Version), BlockSize: int64(ps), Swap: s}
			if s.Version == 1 {
				res.UUID = formatUUID(buf[1036:1052])
				res.Label = cstring(buf[1052:1068])
				res.Size = (int64(s.LastPage) + 1) * int64(ps)
			}
			return res, true, nil
		}
		if strings.HasPrefix(magic, "S1SUSP") || strings.HasPrefix(magic, "S2SUSP") ||
			strings.HasPrefix(magic, "ULSUSP") || strings.HasPrefix(magic, "LINHIB") {
			return Result{Type: SwSuspend, Swap: &SwapInfo{PageSize: ps}}, true, nil
		}
	}
	return Result{}, false, nil
}

func probeISO(r io.ReaderAt, size int64) (Result, bool, error) {
	pvd, ok, err := read(r, size, 16*2048, 2048)
	if !ok || err != nil {
		return Result{}, false, err
	}
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		return Result{}, false, nil
	}
	res := Result{
		Type:      ISO9660,
		Label:     strings.TrimRight(cstring(pvd[40:72]), " "),
		BlockSize: int64(le.Uint16(pvd[128:])),
		Size:      int64(le.Uint32(pvd[80:])) * int64(le.Uint16(pvd[128:])),
	}
	// blkid derives the UUID from the creation (or modification) date:
	// "YYYY-MM-DD-HH-MM-SS-cc".
	for _, d := range [][]byte{pvd[813:830], pvd[830:847]} {
		if allDigits(d[:16]) && !bytes.Equal(d[:16], []byte("0000000000000000")) {
			res.UUID = fmt.Sprintf("%s-%s-%s-%s-%s-%s-%s", d[0:4], d[4:6], d[6:8], d[8:10], d[10:12], d[12:14], d[14:16])
			break
		}
	}
	return res, true, nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func probeVFAT(r io.ReaderAt, size int64) (Result, bool, error) {
	bs, ok, err := read(r, size, 0, 512)
	if !ok || err != nil {
		return Result{}, false, err
	}
	if bs[510] != 0x55 || bs[511] != 0xaa {
		return Result{}, false, nil
	}
	bps := le.Uint16(bs[11:])
	spc := bs[13]
	reserved := le.Uint16(bs[14:])
	nfats := bs[16]
	media := bs[21]
	if bps < 512 || bps > 4096 || bps&(bps-1) != 0 || spc == 0 || spc&(spc-1) != 0 ||
		reserved == 0 || nfats == 0 || nfats > 4 || (media != 0xf0 && media < 0xf8) {
		return Result{}, false, nil
	}
	fat16Size := le.Uint16(bs[22:])
	var serial []byte
	var label []byte
	version := "FAT16"
	if fat16Size == 0 { // FAT32
		if string(bs[82:87]) != "FAT32" && bs[66] != 0x29 {
			return Result{}, false, nil
		}
		version = "FAT32"
		serial, label = bs[67:71], bs[71:82]
	} else {
		if !strings.HasPrefix(string(bs[54:62]), "FAT") && bs[38] != 0x29 {
			return Result{}, false, nil
		}
		if string(bs[54:59]) == "FAT12" {
			version = "FAT12"
		}
		serial, label = bs[39:43], bs[43:54]
	}
	total := int64(le.Uint16(bs[19:]))
	if total == 0 {
		total = int64(le.Uint32(bs[32:]))
	}
	res := Result{
		Type:      VFAT,
		Version:   version,
		UUID:      fmt.Sprintf("%04X-%04X", le.Uint16(serial[2:]), le.Uint16(serial[0:])),
		BlockSize: int64(bps) * int64(spc),
		Size:      total * int64(bps),
	}
	if l := strings.TrimRight(cstring(label), " "); l != "NO NAME" {
		res.Label = l
	}
	return res, true, nil
}

// LUKSInfo holds LUKS header details.
type LUKSInfo struct {
	// Version is 1 or 2.
	Version int
}

// probeLUKS reads a LUKS1 or LUKS2 header ("LUKS\xba\xbe", version
// big-endian at 6, UUID as text at 168; LUKS2 also a label at 24), as
// cryptsetup writes it at the start of the encrypted device.
func probeLUKS(r io.ReaderAt, size int64) (Result, bool, error) {
	b, ok, err := read(r, size, 0, 256)
	if err != nil || !ok {
		return Result{}, false, err
	}
	if string(b[0:6]) != "LUKS\xba\xbe" {
		return Result{}, false, nil
	}
	v := int(be.Uint16(b[6:8]))
	if v != 1 && v != 2 {
		return Result{}, false, nil
	}
	res := Result{Type: LUKS, UUID: cstring(b[168:208]), Version: fmt.Sprint(v), LUKS: &LUKSInfo{Version: v}}
	if v == 2 {
		res.Label = cstring(b[24:72])
	}
	return res, true, nil
}
