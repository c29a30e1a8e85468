// Package sshtest runs a private OpenSSH server on 127.0.0.1 for tests of
// remote copies: a random port, a temporary host key, a client key in
// authorized_keys, and a dedicated user whose PATH holds only busybox
// applets, so that the remote side is as bare as an old server.
// It needs root (a user account, a listening sshd); tests using it are
// integration tests.
package sshtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xenify/xenify/disk/disktest"
)

// HostAlias is the Host name the client configuration defines.
const HostAlias = "xenify-test"

// Server is a running sshd.
type Server struct {
	Port int
	// Dir holds keys, configuration and the busybox bin directory.
	Dir string
	// User is the remote account; Group its primary group (devices the
	// test copies are given to it).
	User, Group string
	// Config is an ssh -F file for HostAlias that trusts the host key.
	Config string
	cmd    *exec.Cmd
	exited chan error
}

// Start starts sshd and stops it (and removes the user) at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	disktest.RequireRoot(t)
	disktest.RequireTools(t, "ssh", "ssh-keygen", "busybox", "useradd", "userdel")
	const sshd = "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		t.Fatalf("%s missing (install openssh-server, see scripts/install-deps.sh): %v", sshd, err)
	}
	dir, err := os.MkdirTemp("", "xenify-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// sshd reads authorized_keys as the user: the directory must be
	// traversable.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir, User: fmt.Sprintf("xenify-p2v-%d", os.Getpid()%100000), Group: "disk", exited: make(chan error, 1)}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	disktest.Run(t, nil, bb, "--install", "-s", bin)
	disktest.Run(t, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "hostkey"))
	disktest.Run(t, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "id"))
	copyFile(t, filepath.Join(dir, "id.pub"), filepath.Join(dir, "authorized_keys"), 0o644)

	_ = exec.Command("userdel", s.User).Run() // a leftover of a killed run
	disktest.Run(t, nil, "useradd", "-M", "-N", "-g", s.Group, "-d", bin, "-s", filepath.Join(bin, "sh"), "-p", "*", s.User)
	t.Cleanup(func() { _ = exec.Command("userdel", s.User).Run() })

	s.Port = freePort(t)
	cfg := filepath.Join(dir, "sshd_config")
	writeFile(t, cfg, fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile none
AuthorizedKeysFile %s
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers %s
SetEnv PATH=%s
MaxSessions 64
MaxStartups 64
LogLevel INFO
`, s.Port, filepath.Join(dir, "hostkey"), filepath.Join(dir, "authorized_keys"), s.User, bin))
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(sshd, "-D", "-e", "-f", cfg)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait(); log.Close() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			t.Logf("sshd log:\n%s", b)
		}
	})
	for {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-s.exited:
			b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			t.Fatalf("sshd exited before listening: %v\n%s", err, b)
		case <-time.After(20 * time.Millisecond):
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "hostkey.pub"))
	if err != nil {
		t.Fatal(err)
	}
	s.Config = s.ConfigWith(t, "trusted", fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, pub))
	return s
}

// ConfigWith writes a client configuration for HostAlias whose
// known_hosts file holds knownHosts, and returns its path.
func (s *Server) ConfigWith(t testing.TB, name, knownHosts string) string {
	t.Helper()
	kh := filepath.Join(s.Dir, "known_hosts."+name)
	writeFile(t, kh, knownHosts)
	cfg := filepath.Join(s.Dir, "ssh_config."+name)
	writeFile(t, cfg, fmt.Sprintf(`Host %s
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  UpdateHostKeys no
`, HostAlias, s.Port, s.User, filepath.Join(s.Dir, "id"), kh))
	return cfg
}

// OtherHostKey returns a known_hosts line for the server's address with a
// key that is not the server's.
func (s *Server) OtherHostKey(t testing.TB) string {
	t.Helper()
	disktest.Run(t, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(s.Dir, "otherkey"))
	pub, err := os.ReadFile(filepath.Join(s.Dir, "otherkey.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, pub)
}

// Grant lets the remote user read the block device dev (for the test's
// duration).
func (s *Server) Grant(t testing.TB, dev string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	disktest.Run(t, nil, "chgrp", s.Group, dev)
	if err := os.Chmod(dev, 0o640); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.Chown(dev, int(st.Uid), int(st.Gid))
		_ = os.Chmod(dev, os.FileMode(st.Mode&0o777))
	})
}

// DropConnections kills the processes serving connections (the sshd
// processes below the listener and the sessions' commands), as a
// network failure would end them.
func (s *Server) DropConnections(t testing.TB) int {
	t.Helper()
	var all []int
	for next := children(s.cmd.Process.Pid); len(next) > 0; {
		all = append(all, next...)
		var deeper []int
		for _, p := range next {
			deeper = append(deeper, children(p)...)
		}
		next = deeper
	}
	n := 0
	for _, pid := range all {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := os.Open(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "PPid:"); ok {
				if pp, _ := strconv.Atoi(strings.TrimSpace(v)); pp == pid {
					out = append(out, p)
				}
				break
			}
		}
		f.Close()
	}
	return out
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}
