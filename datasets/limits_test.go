package datasets

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// idxHeader returns an IDX header of unsigned bytes with the given
// dimensions, followed by data.
func idxHeader(data []byte, dims ...uint32) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

// Issue 15 item 2 (loaders) and item 10 (CSV field quoting): a small file
// cannot make a loader allocate gigabytes, and messages stay short.
func TestLoadersBoundWhatTheyAllocate(t *testing.T) {
	dir := t.TempDir()
	labels := idxHeader(make([]byte, 2_000_000), 2_000_000)
	long := strings.Repeat("x", 10<<20)
	for _, tc := range []struct {
		name  string
		files map[string][]byte // written into dir/<case>
		load  func(dir string) error
		words []string
		short int // the message is at most this long (0: no bound)
	}{
		{"MNIST images that would take 12 GiB as float64", map[string][]byte{
			"train-images-idx3-ubyte.gz": gz(t, idxHeader(make([]byte, 1<<16), 2_000_000, 28, 28)),
			"train-labels-idx1-ubyte.gz": gz(t, labels),
		}, func(dir string) error { _, _, err := LoadMNIST(dir, tensor.Float64); return err },
			[]string{"2000000x28x28", "GiB as float64"}, 0},
		{"CSV field of 10 MB", map[string][]byte{"a.csv": []byte("1,2\n" + long + ",3\n")},
			func(dir string) error { _, err := LoadCSV(filepath.Join(dir, "a.csv"), CSVOptions{}); return err },
			[]string{"a.csv:2:1", "cannot parse", "xxxx", "(10485760 bytes)"}, 400},
		{"IDX with 64 MB of trailing zeros", map[string][]byte{
			"t.idx.gz": gz(t, idxHeader(make([]byte, 64<<20), 4)),
		}, func(dir string) error { _, _, err := LoadIDX(filepath.Join(dir, "t.idx.gz")); return err },
			[]string{"need 4 bytes of data", "at least 1048576 more"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			os.MkdirAll(d, 0o755)
			for name, b := range tc.files {
				if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := tc.load(d)
			testutil.ErrContains(t, err, tc.words...)
			if err != nil && tc.short > 0 && len(err.Error()) > tc.short {
				t.Errorf("the message is %d bytes long", len(err.Error()))
			}
		})
	}
}

// Issue 15 item 2 (downloader): a Content-Length over the cap is refused
// before anything is written, a stalled server is abandoned, and the
// package's downloaders set a stall timeout.
func TestDownloaderLimits(t *testing.T) {
	for _, d := range []*Downloader{MNISTDownloader(MNIST), MNISTDownloader(FashionMNIST)} {
		if d.StallTimeout != DefaultStallTimeout {
			t.Errorf("%v: StallTimeout %v, want %v", d.BaseURLs, d.StallTimeout, DefaultStallTimeout)
		}
	}
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/huge":
			w.Header().Set("Content-Length", "4294967296")
			w.Write([]byte("abc"))
		case "/stall":
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("abc"))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	zero := strings.Repeat("0", 64)
	for _, tc := range []struct {
		file  string
		stall time.Duration
		words []string
	}{
		{"huge", 0, []string{"Fetch huge", "Content-Length 4294967296", "more than"}},
		{"stall", 200 * time.Millisecond, []string{"Fetch stall", "sent nothing for 200ms", "StallTimeout"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := t.TempDir()
			d := &Downloader{BaseURLs: []string{srv.URL}, Files: map[string]string{tc.file: zero}, StallTimeout: tc.stall}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			t0 := time.Now()
			err := d.Fetch(ctx, dir)
			testutil.ErrContains(t, err, tc.words...)
			if time.Since(t0) > 10*time.Second {
				t.Errorf("took %v", time.Since(t0))
			}
			noTemp(t, dir)
		})
	}
}

// FuzzReadIDXBounded checks the bound a loader puts on IDX data: whatever
// the header claims, readIDX never returns (nor reads) more than maxBytes of
// data, and a header over the bound is an error that says why.
func FuzzReadIDXBounded(f *testing.F) {
	f.Add(idxHeader([]byte{1, 2, 3, 4, 5, 6}, 2, 3), uint16(6))
	f.Add(idxHeader([]byte{1, 2, 3, 4, 5, 6}, 2, 3), uint16(5))
	f.Add(gz(f, idxHeader(make([]byte, 4096), 64, 64)), uint16(100))
	f.Add(idxHeader(nil, 2_000_000, 28, 28), uint16(65535))
	f.Fuzz(func(t *testing.T, b []byte, max uint16) {
		shape, data, err := readIDX(bytes.NewReader(b), "f.idx", int64(max), "over the test's bound")
		if err != nil {
			testutil.ErrPrefixed(t, err, "datasets: f.idx")
			return
		}
		if len(data) > int(max) {
			t.Fatalf("%d bytes of data for a bound of %d (shape %v)", len(data), max, shape)
		}
	})
}

// Issue 15 item 3 (loading): the loaders take a context and stop with its
// error.
func TestLoadersStopOnCancel(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, 4, 28, 28, []byte{1, 2, 3, 4}, true)
	csvPath := filepath.Join(dir, "a.csv")
	os.WriteFile(csvPath, []byte("1,2\n3,4\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"LoadMNISTWith", func() error { _, _, err := LoadMNISTWith(ctx, dir, MNISTOptions{}); return err }},
		{"LoadCSVContext", func() error { _, err := LoadCSVContext(ctx, csvPath, CSVOptions{}); return err }},
		{"ReadCSVContext", func() error {
			_, err := ReadCSVContext(ctx, strings.NewReader("1,2\n"), "r.csv", CSVOptions{})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			testutil.ErrContains(t, err, "datasets: ", "context canceled")
			if !errors.Is(err, context.Canceled) {
				t.Errorf("errors.Is(%v, context.Canceled) is false", err)
			}
		})
	}
	// Without a cancel the same calls load.
	if _, _, err := LoadMNISTWith(context.Background(), dir, MNISTOptions{}); err != nil {
		t.Fatal(err)
	}
}
