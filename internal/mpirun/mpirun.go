// Package mpirun starts MPI jobs for descent's tests and benchmarks: Open MPI's mpirun over shared
// memory on this machine, or over TCP between two "hosts" made of network namespaces joined by a
// veth pair (root only), so that the multi-machine path is exercised on one machine.
package mpirun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/errors"
)

// Env is what mpirun needs here: permission to run as root (CI runs as root) and to start more
// ranks than cores.
var Env = []string{
	"OMPI_ALLOW_RUN_AS_ROOT=1",
	"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
	"OMPI_MCA_rmaps_base_oversubscribe=1",
}

// Require returns mpirun's path. Without mpirun the test is skipped, unless CI is set: in CI a
// missing mpirun is a failure.
func Require(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("mpirun")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("mpirun not found (CI=%s): install openmpi-bin libopenmpi-dev: %v", os.Getenv("CI"), err)
	}
	t.Skipf("mpirun not found (install openmpi-bin libopenmpi-dev; in CI this fails): %v", err)
	return ""
}

// Build compiles the main package pkg (an import path) with -tags mpi into dir and returns the
// binary's path.
func Build(ctx context.Context, dir, pkg string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "mpi", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.Wrapf(err, "mpirun: go build -tags mpi %s: %s", pkg, out)
	}
	return bin, nil
}

// Command returns the command that runs bin with args as np ranks: over shared memory (btl
// self,vader) when hosts is nil, else one rank per host over TCP between hosts' namespaces. Ranks
// are not bound to cores (mpirun's default binding leaves Go one CPU). The command runs in its own
// process group; cancelling ctx sends that group SIGTERM, and SIGKILL 5 s later.
func Command(ctx context.Context, hosts *Hosts, np int, bin string, args ...string) *exec.Cmd {
	var argv []string
	if hosts == nil {
		argv = []string{"mpirun", "-np", strconv.Itoa(np), "--bind-to", "none", "--mca", "btl", "self,vader"}
	} else {
		argv = append(hosts.prefix(), "-np", strconv.Itoa(np))
	}
	argv = append(append(argv, bin), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Hosts is two network namespaces A and B joined by a veth pair with addresses in a private /24
// that exists only inside them. mpirun runs in A and reaches B through an rsh agent script that
// runs `ip netns exec B` in place of ssh.
type Hosts struct {
	A, B   string    // namespace names
	Addr   [2]string // A's and B's addresses
	Subnet string    // the /24 both are in
	dir    string    // holds the agent script and the hostfile
}

var seq int32

// NewHosts makes the two namespaces (needs root and iproute2's ip) and writes the agent script
// and hostfile into dir. Close removes everything, also after a partial failure.
func NewHosts(ctx context.Context, dir string) (h *Hosts, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("mpirun: two hosts need network namespaces: run as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, errors.Wrap(err, "mpirun: two hosts need iproute2's ip")
	}
	id := fmt.Sprintf("%x%x", os.Getpid(), atomic.AddInt32(&seq, 1))
	h = &Hosts{
		A: "descent-mpi-" + id + "-a", B: "descent-mpi-" + id + "-b",
		Addr:   [2]string{"10.213.17.1", "10.213.17.2"},
		Subnet: "10.213.17.0/24",
		dir:    dir,
	}
	defer func() {
		if err != nil {
			h.Close()
			h = nil
		}
	}()
	va, vb := "dm"+id+"a", "dm"+id+"b" // interface names: at most 15 bytes
	steps := [][]string{
		{"netns", "add", h.A},
		{"netns", "add", h.B},
		{"link", "add", va, "type", "veth", "peer", "name", vb},
		{"link", "set", va, "netns", h.A},
		{"link", "set", vb, "netns", h.B},
		{"-n", h.A, "addr", "add", h.Addr[0] + "/24", "dev", va},
		{"-n", h.B, "addr", "add", h.Addr[1] + "/24", "dev", vb},
		{"-n", h.A, "link", "set", va, "up"},
		{"-n", h.B, "link", "set", vb, "up"},
		{"-n", h.A, "link", "set", "lo", "up"},
		{"-n", h.B, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := exec.CommandContext(ctx, "ip", s...).CombinedOutput(); err != nil {
			return h, errors.Wrapf(err, "mpirun: ip %s: %s", strings.Join(s, " "), out)
		}
	}
	agent := "#!/bin/sh\n# mpirun's stand-in for ssh: $1 is the host, the rest the command to run there.\n" +
		"shift\nexec ip netns exec " + h.B + " sh -c \"$*\"\n"
	if err := os.WriteFile(filepath.Join(dir, "agent.sh"), []byte(agent), 0o755); err != nil {
		return h, errors.Wrap(err, "mpirun: agent script")
	}
	hostfile := h.Addr[0] + " slots=1\n" + h.Addr[1] + " slots=1\n"
	if err := os.WriteFile(filepath.Join(dir, "hostfile"), []byte(hostfile), 0o644); err != nil {
		return h, errors.Wrap(err, "mpirun: hostfile")
	}
	return h, nil
}

func (h *Hosts) prefix() []string {
	return []string{"ip", "netns", "exec", h.A, "mpirun",
		"--hostfile", filepath.Join(h.dir, "hostfile"),
		"--map-by", "ppr:1:node", "--bind-to", "none",
		"--mca", "plm_rsh_agent", filepath.Join(h.dir, "agent.sh"),
		"--mca", "btl", "self,tcp",
		"--mca", "btl_tcp_if_include", h.Subnet,
		"--mca", "oob_tcp_if_include", h.Subnet,
		// The two "hosts" share this machine's cores: each rank takes half, as
		// cluster.Join does for ranks its launcher says share a node (here
		// each namespace looks like a node of its own).
		"-x", "GOMAXPROCS=" + strconv.Itoa(max(1, runtime.NumCPU()/2)),
	}
}

// Close kills whatever still runs in the namespaces and deletes them (the veth pair goes with
// them). It returns the first error but always tries every step.
func (h *Hosts) Close() error {
	var first error
	for _, ns := range []string{h.A, h.B} {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
			continue
		}
		if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil && first == nil {
			first = errors.Wrapf(err, "mpirun: ip netns del %s: %s", ns, out)
		}
	}
	return first
}

// RequireHosts is NewHosts for a test: it skips without root unless CI is set, fails on any
// error, and removes the namespaces when the test ends.
func RequireHosts(t testing.TB) *Hosts {
	t.Helper()
	if os.Geteuid() != 0 && os.Getenv("CI") == "" {
		t.Skip("two hosts need network namespaces: run as root (in CI this fails)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := NewHosts(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}
