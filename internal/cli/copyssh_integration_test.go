package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/p2v/remote/sshtest"
)

// TestIntegrationCopySSH drives `xenify copy ssh://...` against a private
// sshd whose user has only busybox: the copy, its --sync pass, and the
// refusals, with their exit codes and messages.
func TestIntegrationCopySSH(t *testing.T) {
	srv := sshtest.Start(t)
	img := smallDisk(t)
	dev := disktest.Losetup(t, img, 0, 64<<20)
	srv.Grant(t, dev)
	url := "ssh://" + sshtest.HostAlias + dev
	dst := filepath.Join(t.TempDir(), "web1.img")

	out, errOut, code := xenify(t, "copy", "--json", "--verify", "--compress", "--bwlimit", "64M", "--ssh-config", srv.Config, url, dst)
	if code != 0 {
		t.Fatalf("copy %s = exit %d\n%s%s", url, code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last struct {
		Summary struct {
			Verified  bool  `json:"verified"`
			Size      int64 `json:"size"`
			BytesRead int64 `json:"bytes_read"`
		} `json:"summary"`
		SSH struct {
			BytesIn  int64 `json:"bytes_in"`
			Commands int   `json:"commands"`
		} `json:"ssh"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || !last.Summary.Verified || last.Summary.Size != 64<<20 ||
		last.SSH.BytesIn == 0 || last.SSH.BytesIn >= last.Summary.BytesRead {
		t.Errorf("copy --json --compress summary = %s (%v); want verified, 64 MiB, fewer (compressed) bytes received than read", lines[len(lines)-1], err)
	}
	if fileHash(t, dst) != fileHash(t, localCopy(t, img)) {
		t.Errorf("the copy over ssh differs from a local copy")
	}

	out, errOut, code = xenify(t, "copy", "--sync", "--ssh-config", srv.Config, url, dst)
	if code != 0 || !strings.Contains(out, "0 B re-sent") || !strings.Contains(out, "downtime") {
		t.Errorf("copy --sync of an unchanged source = exit %d\n%s%s\nwant exit 0, nothing re-sent, the downtime", code, out, errOut)
	}

	other := srv.ConfigWith(t, "other", srv.OtherHostKey(t))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"not a block device", []string{"copy", "--ssh-config", srv.Config, "ssh://" + sshtest.HostAlias + "/dev/null", filepath.Join(t.TempDir(), "x.img")}, 3, "not a block device"},
		{"changed host key", []string{"copy", "--ssh-config", other, url, filepath.Join(t.TempDir(), "x.img")}, 3, "REMOTE HOST IDENTIFICATION HAS CHANGED"},
		{"unreachable host", []string{"copy", "--ssh-config", srv.Config, "ssh://127.0.0.1:1/dev/sda", filepath.Join(t.TempDir(), "x.img")}, 1, "Connection refused"},
		{"existing destination", []string{"copy", "--ssh-config", srv.Config, url, dst}, 3, "--overwrite"},
		{"device path outside /dev", []string{"copy", "ssh://host/etc/passwd", dst}, 2, "under /dev"},
		{"convert without --copy-to", []string{"convert", url}, 2, "--copy-to"},
	} {
		_, errOut, code := xenify(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: xenify %s = exit %d, %q; want exit %d mentioning %q", tc.name, strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
	}
}

func localCopy(t *testing.T, img string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "local.img")
	if _, errOut, code := xenify(t, "copy", img, dst); code != 0 {
		t.Fatalf("copy %s = exit %d: %s", img, code, errOut)
	}
	return dst
}
