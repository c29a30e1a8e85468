package disktest

import (
	"os"
	"path/filepath"
)

// LUKS is a LUKS volume made with the real cryptsetup on a temp file (no
// device-mapper is needed to format) and copied in: the header and key
// slots, which is all a probe reads. The passphrase is "secret"; the key
// slots are small (1 MiB) so the volume fits small test images.
type LUKS struct {
	Version int // 1 or 2 (default 2)
	UUID    string
	Label   string // LUKS2 only
}

func (l LUKS) build(b *builder, where string, off, size int64) {
	t := b.t
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "luks")
	if err := os.WriteFile(tmp, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(tmp, size); err != nil {
		t.Fatal(err)
	}
	args := []string{"cryptsetup", "luksFormat", "--batch-mode", "--key-file=-", "--pbkdf-force-iterations", "1000"}
	if l.Version == 1 {
		args = append(args, "--type", "luks1")
	} else {
		args = append(args, "--type", "luks2", "--pbkdf", "pbkdf2", "--luks2-metadata-size", "16k", "--luks2-keyslots-size", "1m")
		if l.Label != "" {
			args = append(args, "--label", l.Label)
		}
	}
	if l.UUID != "" {
		args = append(args, "--uuid", l.UUID)
	}
	Run(t, []byte("secret"), append(args, tmp)...)
	f, err := os.Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, min(size, 2*MiB))
	if _, err := f.ReadAt(head, 0); err != nil {
		t.Fatal(err)
	}
	WriteAt(t, b.path, head, off)
	b.add(Volume{Where: where, Kind: "crypto_LUKS", Offset: off, Size: size, UUID: l.UUID, Label: l.Label, Linear: true})
}
