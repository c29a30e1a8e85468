package setup

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/xerr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(p, "/") {
			continue
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var debianTree = map[string]string{
	"sys/class/net/eth0/flags": "0x1003\n",
	"proc/net/route":           "Iface\tDestination\tGateway\nenp1s0\t00000000\t0100A8C0\n",
	"etc/network/interfaces": `# The loopback network interface
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet static
    address 192.168.1.10/24
    gateway 192.168.1.1
`,
}

var redhatTree = map[string]string{
	"sys/class/net/eth0/flags": "0x1003\n",
	"etc/sysconfig/network-scripts/ifcfg-eth0": `DEVICE=eth0
BOOTPROTO=static
HWADDR=00:16:3e:aa:bb:cc
IPADDR=10.0.0.5
NETMASK=255.255.255.0
GATEWAY=10.0.0.1
ONBOOT=yes
`,
	"etc/xen/xend-config.sxp": "# -*- sh -*-\n(xend-relocation-server no)\n(network-script network-bridge)\n#(network-script network-route)\n(vif-script vif-bridge)\n",
}

var networkdTree = map[string]string{
	"sys/class/net/ens3/flags":            "0x1003\n",
	"etc/systemd/network/10-ens3.network": "[Match]\nName=ens3\n\n[Network]\nDHCP=yes\n",
}

func TestBridgeGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		o     Options
	}{
		{"debian", debianTree, Options{Bridge: "xenbr0", Uplink: "eth0"}},
		{"debian-routed", debianTree, Options{Bridge: "xenbr1", Uplink: "eth0", Routed: true, Address: "10.0.100.1/24"}},
		{"redhat-xen3", redhatTree, Options{Bridge: "xenbr0", Uplink: "eth0"}},
		{"networkd", networkdTree, Options{Bridge: "xenbr0", Uplink: "ens3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Root = tree(t, tc.files)
			p, err := Bridge(tc.o)
			if err != nil {
				t.Fatalf("Bridge(%+v) = %v", tc.o, err)
			}
			got := "format: " + p.Format + "\n" + p.Diff()
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("Bridge(%s) diff:\n%s\nwant:\n%s", tc.name, got, want)
			}
		})
	}
}

func TestBridgeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		o     Options
		code  int
		want  string
	}{
		{"shell characters", debianTree, Options{Bridge: "br0;reboot", Uplink: "eth0"}, xerr.ExitUsage, "only letters"},
		{"path characters", debianTree, Options{Bridge: "../../etc/passwd", Uplink: "eth0"}, xerr.ExitUsage, "bridge name"},
		{"no uplink names the default route", debianTree, Options{Bridge: "xenbr0"}, xerr.ExitUsage, "--uplink enp1s0"},
		{"uplink missing", debianTree, Options{Bridge: "xenbr0", Uplink: "eth9"}, xerr.ExitUsage, "no such interface"},
		{"routed without address", debianTree, Options{Bridge: "xenbr0", Uplink: "eth0", Routed: true}, xerr.ExitUsage, "--address"},
		{"unknown manager", map[string]string{"sys/class/net/eth0/flags": "1", "etc/NetworkManager/system-connections/": ""}, Options{Bridge: "xenbr0", Uplink: "eth0"}, xerr.ExitRefused, "interfaces.d/BRIDGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Root = tree(t, tc.files)
			_, err := Bridge(tc.o)
			if xerr.Code(err) != tc.code || err == nil || !strings.Contains(err.Error()+refusalFix(err), tc.want) {
				t.Errorf("Bridge(%+v) = %v (exit %d), want exit %d mentioning %q", tc.o, err, xerr.Code(err), tc.code, tc.want)
			}
		})
	}
}

func refusalFix(err error) string {
	var r *xerr.Refused
	if errors.As(err, &r) {
		return r.Fix
	}
	return ""
}

func TestApplyRollbackRestoresBytes(t *testing.T) {
	root := tree(t, redhatTree)
	before := snapshot(t, root)
	p, err := Bridge(Options{Root: root, Bridge: "xenbr0", Uplink: "eth0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(context.Background(), root, p, ApplyOptions{}); err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/sysconfig/network-scripts/ifcfg-xenbr0")); !strings.Contains(string(b), "TYPE=Bridge") {
		t.Fatalf("after Apply() ifcfg-xenbr0 = %q, want a bridge", b)
	}
	if err := Apply(context.Background(), root, p, ApplyOptions{}); xerr.Code(err) != xerr.ExitRefused {
		t.Errorf("second Apply() before rollback = %v, want refused", err)
	}
	if err := Rollback(context.Background(), root, nil); err != nil {
		t.Fatalf("Rollback() = %v", err)
	}
	after := snapshot(t, root)
	if len(after) != len(before) {
		t.Errorf("after Rollback() files = %v, want %v", keys(after), keys(before))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("after Rollback() %s = %q, want %q", k, after[k], v)
		}
	}
}

func TestConfirmKeeps(t *testing.T) {
	root := tree(t, networkdTree)
	p, err := Bridge(Options{Root: root, Bridge: "xenbr0", Uplink: "ens3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(context.Background(), root, p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	ok, err := ConfirmOrRollback(context.Background(), root, nil, strings.NewReader("yes\n"), 1<<40)
	if !ok || err != nil {
		t.Fatalf("ConfirmOrRollback(yes) = %v, %v; want kept", ok, err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/systemd/network/xenbr0.netdev")); err != nil {
		t.Errorf("confirmed setup lost xenbr0.netdev: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/xenify")); err == nil {
		t.Errorf("confirmed setup left its journal")
	}
	// Anything but yes (here end of input) rolls back.
	if err := Apply(context.Background(), root, mustBridge(t, Options{Root: root, Bridge: "xenbr1", Uplink: "ens3", Routed: true, Address: "10.1.0.1/24"}), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	ok, err = ConfirmOrRollback(context.Background(), root, nil, strings.NewReader(""), 1<<40)
	if ok || err != nil {
		t.Fatalf("ConfirmOrRollback(EOF) = %v, %v; want rolled back", ok, err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/systemd/network/xenbr1.netdev")); err == nil {
		t.Errorf("unconfirmed setup kept xenbr1.netdev")
	}
}

func mustBridge(t *testing.T, o Options) *Plan {
	t.Helper()
	p, err := Bridge(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if info.IsDir() {
			m[rel+"/"] = info.Mode().String()
			return nil
		}
		b, _ := os.ReadFile(p)
		m[rel] = info.Mode().String() + " " + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
