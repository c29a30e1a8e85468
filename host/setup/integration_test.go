package setup

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/host/check"
	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/verify"
	"github.com/xenify/xenify/xen/domain"
)

// nsRunner runs every command inside a network namespace.
type nsRunner struct{ ns string }

func (r nsRunner) Run(ctx context.Context, c run.Cmd) ([]byte, error) {
	c.Argv = append([]string{"ip", "netns", "exec", r.ns}, c.Argv...)
	return run.Exec{}.Run(ctx, c)
}

func sh(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// bridgeCheck runs host-check's bridge check for a config naming br,
// inside network namespace ns (this test binary re-executed there by
// ip netns exec, which mounts the namespace's own /sys).
func bridgeCheck(t *testing.T, ns, br string) verify.Check {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestHostCheckHelper$")
	cmd.Env = append(os.Environ(), "XENIFY_TEST_HOSTCHECK_BRIDGE="+br)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("host-check in %s: %v\n%s", ns, err, out)
	}
	line := out
	if i := strings.Index(string(out), "{"); i >= 0 {
		line = out[i:]
	}
	if j := strings.Index(string(line), "\n"); j >= 0 {
		line = line[:j]
	}
	var c verify.Check
	if err := json.Unmarshal(line, &c); err != nil {
		t.Fatalf("host-check in %s printed %q: %v", ns, out, err)
	}
	return c
}

// TestHostCheckHelper is bridgeCheck's far side: without its variable
// it does nothing.
func TestHostCheckHelper(t *testing.T) {
	br := os.Getenv("XENIFY_TEST_HOSTCHECK_BRIDGE")
	if br == "" {
		return
	}
	r := check.Check(context.Background(), &check.Host{Root: "/"}, check.Input{Domain: &domain.Config{Vifs: []domain.Vif{{Bridge: br}}}})
	for _, c := range r.Checks {
		if c.Name == "bridge[0]" {
			b, _ := json.Marshal(c)
			fmt.Printf("%s\n", b)
		}
	}
}

// TestIntegrationBridgeInNetns: on namespaces of its own (never this
// machine's interfaces), host-check reports the missing bridge with its
// fix; host-setup creates it over the uplink; a guest-side veth in it
// reaches, through the bridge, a machine on the uplink's side (ping);
// rollback removes the bridge and restores the files byte for byte.
func TestIntegrationBridgeInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the integration tier runs as root in CI")
		}
		t.Skip("needs root (network namespaces)")
	}
	for _, tool := range []string{"ip", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("needs %s (scripts/install-deps.sh installs it)", tool)
		}
	}
	id := fmt.Sprintf("xfy%d", os.Getpid()%100000)
	dom0, lan, guest := id+"d", id+"l", id+"g"
	for _, ns := range []string{dom0, lan, guest} {
		sh(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	// dom0's uplink "upl" faces the LAN; "vif1.0" is a guest's vif.
	sh(t, "ip", "-n", dom0, "link", "add", "upl", "type", "veth", "peer", "name", "eth0", "netns", lan)
	sh(t, "ip", "-n", dom0, "link", "add", "vif1.0", "type", "veth", "peer", "name", "eth0", "netns", guest)
	sh(t, "ip", "-n", lan, "addr", "add", "10.77.0.1/24", "dev", "eth0")
	sh(t, "ip", "-n", guest, "addr", "add", "10.77.0.2/24", "dev", "eth0")
	for _, l := range [][2]string{{lan, "eth0"}, {guest, "eth0"}, {dom0, "upl"}, {dom0, "vif1.0"}} {
		sh(t, "ip", "-n", l[0], "link", "set", l[1], "up")
	}

	const br = "xenbr7"
	if c := bridgeCheck(t, dom0, br); c.Status != verify.Fail || !strings.Contains(c.Fix, "xenify host-setup bridge "+br) {
		t.Fatalf("host-check before setup: %+v, want bridge %s missing, with the host-setup fix", c, br)
	}

	root := tree(t, map[string]string{
		"sys/class/net/upl/flags": "0x1003\n",
		"etc/network/interfaces":  "auto lo\niface lo inet loopback\n\nauto upl\niface upl inet manual\n\nsource /etc/network/interfaces.d/*\n",
	})
	before := snapshot(t, root)
	p, err := Bridge(Options{Root: root, Bridge: br, Uplink: "upl"})
	if err != nil {
		t.Fatalf("Bridge() = %v", err)
	}
	r := nsRunner{dom0}
	ctx := context.Background()
	if err := Apply(ctx, root, p, ApplyOptions{Runner: r, Live: true}); err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	// xl's vif-bridge script does this for a starting guest.
	sh(t, "ip", "-n", dom0, "link", "set", "vif1.0", "master", br)
	if c := bridgeCheck(t, dom0, br); c.Status != verify.Pass || !strings.Contains(c.Detail, "2 ports") {
		t.Errorf("host-check after setup: %+v, want bridge %s up with 2 ports", c, br)
	}
	if out, err := exec.Command("ip", "netns", "exec", guest, "ping", "-c", "3", "-W", "5", "10.77.0.1").CombinedOutput(); err != nil {
		t.Errorf("ping from the guest side through %s to the LAN: %v\n%s\n%s", br, err, out, sh(t, "ip", "-n", dom0, "-d", "link"))
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/network/interfaces.d", br)); !strings.Contains(string(b), "bridge_ports upl") {
		t.Errorf("after Apply() interfaces.d/%s = %q, want bridge_ports upl", br, b)
	}

	if err := Rollback(ctx, root, r); err != nil {
		t.Fatalf("Rollback() = %v", err)
	}
	if err := exec.Command("ip", "-n", dom0, "link", "show", "dev", br).Run(); err == nil {
		t.Errorf("after Rollback() bridge %s still exists in %s", br, dom0)
	}
	if c := bridgeCheck(t, dom0, br); c.Status != verify.Fail {
		t.Errorf("host-check after rollback: %+v, want the bridge missing again", c)
	}
	after := snapshot(t, root)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("after Rollback() %s = %q, want %q", k, after[k], v)
		}
	}
	if len(after) != len(before) {
		t.Errorf("after Rollback() files %v, want %v", keys(after), keys(before))
	}
}
