package pygrub

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPartitionOffsets(t *testing.T) {
	active := mbrDisk(0x83, 2048, 0x83, 4096)
	active[446+16] = 0x80 // second partition active: still tried second
	solaris := mbrDisk(0xbf, 20)
	binary.LittleEndian.PutUint16(solaris[21*512+508:], 0xdabe)
	binary.LittleEndian.PutUint16(solaris[21*512+30:], 2)
	binary.LittleEndian.PutUint16(solaris[21*512+72+12:], 2) // slice 1 is V_ROOT
	binary.LittleEndian.PutUint32(solaris[21*512+72+12+4:], 16)
	tests := []struct {
		name string
		disk []byte
		want []int64
	}{
		{"no signature", make([]byte, 4096), []int64{0}},
		{"signature, no entries", mbrDisk(), []int64{0}},
		{"types ignored, swap skipped, extended tried", mbrDisk(0x83, 20, 0x82, 40, 0x05, 80), []int64{20 * 512, 80 * 512}},
		{"active flag ignored", active, []int64{2048 * 512, 4096 * 512}},
		{"gpt entries incl. empty ones", gptDisk(2048, 0, 4096), []int64{2048 * 512, 0, 4096 * 512, 0}},
		{"primary before 0xee kept", func() []byte {
			d := gptDisk(34)
			e := d[446:]
			copy(e[16:], e[:16]) // 0xee moves to slot 2
			e[4] = 0x83
			binary.LittleEndian.PutUint32(e[8:], 100)
			return d
		}(), []int64{100 * 512, 34 * 512, 0, 0, 0}},
		{"solaris root slice", solaris, []int64{(20 + 16) * 512}},
	}
	for _, tt := range tests {
		got, err := PartitionOffsets(bytes.NewReader(tt.disk), int64(len(tt.disk)))
		if err != nil {
			t.Errorf("%s: PartitionOffsets() error %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: PartitionOffsets() mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestPartitionOffsetsCrash(t *testing.T) {
	d := gptDisk(2048)
	binary.LittleEndian.PutUint32(d[512+80:], 1<<20) // more entries than the disk holds
	if got, err := PartitionOffsets(bytes.NewReader(d), int64(len(d))); err == nil {
		t.Errorf("PartitionOffsets(oversized GPT) = %v, want error (pygrub crashes)", got)
	}
}
