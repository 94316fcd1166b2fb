package models_test

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/atomicfile"
	"github.com/descent-go/descent/models"
)

// killHelperEnv, set in a child process of TestSaveFileSurvivesKill, names
// the file the child saves over and over until it is killed.
const killHelperEnv = "DESCENT_KILL_HELPER_PATH"

// killParams returns one of the two versions the kill test writes: big
// enough (4 MB) that a save takes a while, told apart by their values.
func killParams(version float64) *graph.Params {
	p := graph.NewParams(tensor.Float64, 1)
	data := make([]float64, 1<<19)
	for i := range data {
		data[i] = version
	}
	if err := p.Add("w", tensor.New(tensor.WithShape(len(data)), tensor.WithBacking(data))); err != nil {
		panic(err)
	}
	return p
}

// TestMain runs the kill test's child process when killHelperEnv is set:
// it saves versions 2 and 1 in turn until it is killed.
func TestMain(m *testing.M) {
	if path := os.Getenv(killHelperEnv); path != "" {
		ps := []*graph.Params{killParams(2), killParams(1)}
		if os.Getenv(killHelperEnv+"_FIRST") == "1" {
			ps[0], ps[1] = ps[1], ps[0]
		}
		os.WriteFile(path+".started", nil, 0o644)
		for i := 0; ; i++ {
			if err := models.SaveFile(path, ps[i%2]); err != nil {
				os.Exit(3)
			}
		}
	}
	os.Exit(m.Run())
}

// TestSaveFileSurvivesKill kills a child process with SIGKILL at random
// points while it saves a checkpoint, 50 times: the file always loads as
// one of the two versions, and the temporary files of killed writers do not
// pile up (each Write removes those of dead processes).
func TestSaveFileSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 50 child processes; run without -short")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.bin")
	t0 := time.Now()
	if err := models.SaveFile(path, killParams(1)); err != nil {
		t.Fatal(err)
	}
	// Kill within about three saves' time (at least 30 ms): before, during
	// and after the child's first save.
	window := 3 * time.Since(t0)
	if window < 30*time.Millisecond {
		window = 30 * time.Millisecond
	}
	rnd := rand.New(rand.NewSource(1))
	seen := map[float64]int{}
	maxTemps := 0
	for round := 0; round < 50; round++ {
		os.Remove(path + ".started")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		// Each child starts with the version that is not on disk.
		cmd.Env = append(os.Environ(), killHelperEnv+"="+path, killHelperEnv+"_FIRST="+strconv.Itoa(1+round%2))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the child writes, then kill it a random while later.
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(path + ".started"); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rnd.Int63n(int64(window))))
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: the child was not killed but ended with %v", round, err)
		}
		p, err := models.LoadFile(path)
		if err != nil {
			t.Fatalf("round %d: after a kill: %v", round, err)
		}
		v := p.CopyFloat64s("w")
		for i := range v {
			if v[i] != v[0] || (v[0] != 1 && v[0] != 2) {
				t.Fatalf("round %d: element %d is %v, element 0 %v: neither version", round, i, v[i], v[0])
			}
		}
		seen[v[0]]++
		files := tmpFiles(t, dir)
		if len(files) > maxTemps {
			maxTemps = len(files)
		}
		// The child of each round removes the temporary file of the one
		// killed before it: at most the last one's is left.
		if len(files) > 1 {
			t.Fatalf("round %d: %d temporary files pile up: %v", round, len(files), files)
		}
	}
	if err := models.SaveFile(path, killParams(1)); err != nil {
		t.Fatal(err)
	}
	if files := tmpFiles(t, dir); len(files) != 0 {
		t.Fatalf("after a save, %d temporary files remain: %v", len(files), files)
	}
	entries, _ := os.ReadDir(dir)
	t.Logf("versions seen after kills: %v; most temporary files at once: %d; files left: %d", seen, maxTemps, len(entries))
	if seen[1] == 0 || seen[2] == 0 {
		t.Errorf("the kills never landed between two saves of different versions (%v): the test did not exercise both", seen)
	}
}

// tmpFiles lists the files in dir whose names end in .tmp, and checks that
// atomicfile.TempFiles finds the same.
func tmpFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if found, _ := atomicfile.TempFiles(filepath.Join(dir, "ckpt.bin")); len(found) != len(files) {
		t.Errorf("atomicfile.TempFiles finds %v, the directory holds %v", found, files)
	}
	return files
}
