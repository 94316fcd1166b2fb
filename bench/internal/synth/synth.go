// Package synth writes and reads the benchmark's synthetic MNIST-shaped data
// set: N examples of 784 float32 features in [0, 1) and a class label in
// 0..9, drawn from a fixed seed. The Go benchmarks and bench/reference.py
// read the same bytes:
//
//	DIR/synthetic-mnist-N60000-seed1.x   N×784 little-endian float32, row major
//	DIR/synthetic-mnist-N60000-seed1.y   N uint8 labels
//
// Each class has a random prototype image; an example is half its class's
// prototype plus half uniform noise, so the classes are learnable and the
// loss goes down.
package synth

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"github.com/descent-go/descent/internal/atomicfile"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
)

const (
	Features = 784
	Classes  = 10
	N        = 60000
	Seed     = 1
)

// Paths returns the two files' paths in dir.
func Paths(dir string) (x, y string) {
	base := filepath.Join(dir, fmt.Sprintf("synthetic-mnist-N%d-seed%d", N, Seed))
	return base + ".x", base + ".y"
}

// DefaultDir is where the files go unless told otherwise:
// $DESCENT_BENCH_DATA, else the user's cache directory, else the temp dir.
func DefaultDir() string {
	if d := os.Getenv("DESCENT_BENCH_DATA"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "descent-bench")
	}
	return filepath.Join(os.TempDir(), "descent-bench")
}

// Ensure writes the files to dir unless they are there with the right sizes.
func Ensure(dir string) error {
	xp, yp := Paths(dir)
	if fileSize(xp) == N*Features*4 && fileSize(yp) == N {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewSource(Seed))
	proto := make([]float32, Classes*Features)
	for i := range proto {
		proto[i] = float32(r.Float64())
	}
	labels := make([]byte, N)
	if err := atomicfile.Write(xp, func(w *os.File) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		var buf [4]byte
		for i := 0; i < N; i++ {
			c := r.Intn(Classes)
			labels[i] = byte(c)
			for j := 0; j < Features; j++ {
				v := 0.5*proto[c*Features+j] + 0.5*float32(r.Float64())
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
				if _, err := bw.Write(buf[:]); err != nil {
					return err
				}
			}
		}
		return bw.Flush()
	}); err != nil {
		return err
	}
	return atomicfile.Write(yp, func(w *os.File) error {
		_, err := w.Write(labels)
		return err
	})
}

// Load reads the first n examples (all N if n ≤ 0 or n > N).
func Load(dir string, n int) (x []float32, y []byte, err error) {
	if n <= 0 || n > N {
		n = N
	}
	if err := Ensure(dir); err != nil {
		return nil, nil, err
	}
	xp, yp := Paths(dir)
	raw, err := readPrefix(xp, n*Features*4)
	if err != nil {
		return nil, nil, err
	}
	x = make([]float32, n*Features)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	if y, err = readPrefix(yp, n); err != nil {
		return nil, nil, err
	}
	return x, y, nil
}

func readPrefix(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	_, err = io.ReadFull(f, buf)
	return buf, err
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// LoadPicked reads as many examples as the largest case that picked
// selects needs; sizes maps each case's name to its example count.
func LoadPicked(dir string, picked func(name string) bool, sizes map[string]int) (x []float32, y []byte, err error) {
	maxN := 0
	for name, n := range sizes {
		if picked(name) && n > maxN {
			maxN = n
		}
	}
	return Load(dir, maxN)
}

// Pick parses a -cases list ("a,b"; empty means every case) into a test of
// whether a case runs.
func Pick(only string) func(name string) bool {
	want := map[string]bool{}
	for _, c := range strings.Split(only, ",") {
		if c = strings.TrimSpace(c); c != "" {
			want[c] = true
		}
	}
	return func(name string) bool { return len(want) == 0 || want[name] }
}
