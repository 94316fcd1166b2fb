package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/datasets"
	"github.com/descent-go/descent/internal/testutil"
)

func TestConvertCSVAndVerify(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "d.csv")
	var b strings.Builder
	b.WriteString("f1,f2,label\n")
	for i := 0; i < 50; i++ {
		b.WriteString(strings.Join([]string{strconv.Itoa(i), strconv.Itoa(2 * i), strconv.Itoa(i % 3)}, ",") + "\n")
	}
	os.WriteFile(csvPath, []byte(b.String()), 0o644)
	out := filepath.Join(dir, "shards")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"-out", out, "-csv", csvPath, "-header", "-class-index", "-per", "16"}, &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "50 examples") || !strings.Contains(stdout.String(), "4 shards") {
		t.Fatalf("output %q", stdout.String())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"-verify", out}, &stdout); err != nil || !strings.Contains(stdout.String(), "ok") {
		t.Fatalf("verify: %v %q", err, stdout.String())
	}
	// the shards hold the CSV's data, in order
	want, err := datasets.LoadCSV(csvPath, datasets.CSVOptions{Header: true, ClassIndex: true, Dtype: tensor.Float32})
	if err != nil {
		t.Fatal(err)
	}
	s, err := datasets.OpenShards(out, datasets.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.Open(context.Background(), datasets.Pass{})
	x := tensor.New(tensor.WithShape(50, 2), tensor.Of(tensor.Float32))
	y := tensor.New(tensor.WithShape(50), tensor.Of(tensor.Float32))
	if k, err := st.Read(x, y, 50); k != 50 || err != nil {
		t.Fatal(k, err)
	}
	if k, err := st.Read(x, y, 1); k != 0 || err != io.EOF {
		t.Fatal(k, err)
	}
	if !reflect.DeepEqual(x.Float32s(), want.X().Float32s()) || !reflect.DeepEqual(y.Float32s(), want.Y().Float32s()) {
		t.Fatal("shards differ from the CSV")
	}
	// a corrupted shard fails -verify, naming it
	p := filepath.Join(out, "shard-00002.bin")
	raw, _ := os.ReadFile(p)
	raw[40] ^= 1
	os.WriteFile(p, raw, 0o644)
	testutil.ErrContains(t, run(context.Background(), []string{"-verify", out}, &stdout), p) // verify of a corrupt shard
	for _, args := range [][]string{{"-out", out}, {"-csv", csvPath}, {"-out", out, "-csv", csvPath, "-dtype", "int8"}, {"-out", out, "-idx", "a"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
