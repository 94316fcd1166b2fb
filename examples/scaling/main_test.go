package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// runJSON runs the example in this process (a nil *cluster.Job is one process) and decodes its
// JSON object, checking the keys the issue asks for are there.
func runJSON(t *testing.T, args ...string) summary {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), nil, append([]string{"-json"}, args...), &out); err != nil {
		t.Fatal(err)
	}
	var keys map[string]interface{}
	if err := json.Unmarshal(out.Bytes(), &keys); err != nil {
		t.Fatalf("%v in %s", err, out.Bytes())
	}
	for _, k := range []string{"replicas", "samples_per_sec", "steps", "final_loss", "params_sha256"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out.Bytes())
		}
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

var short = []string{"-steps", "30", "-warm", "5", "-n", "2048"}

func TestScalingInProcess(t *testing.T) {
	one := runJSON(t, append(short, "-replicas", "1")...)
	two := runJSON(t, append(short, "-replicas", "2")...)
	saved := filepath.Join(t.TempDir(), "two.ckpt")
	again := runJSON(t, append(short, "-replicas", "2", "-save", saved)...)
	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != again.ParamsSHA256 {
		t.Errorf("params_sha256 %s is not the SHA-256 of the -save file's bytes %x", again.ParamsSHA256, sum)
	}
	for _, s := range []summary{one, two} {
		t.Logf("%d replicas: %.0f samples/s, loss %.4f → %.4f, params %.12s", s.Replicas, s.SamplesPerSec, s.FirstLoss, s.FinalLoss, s.ParamsSHA256)
		if s.Steps != 30 || s.Batch != 128 || s.Params != 101770 || !(s.SamplesPerSec > 0) {
			t.Errorf("%+v: want 30 steps of batch 128 of the 101,770-parameter MLP", s)
		}
		if !(s.FinalLoss < s.FirstLoss/2) {
			t.Errorf("%d replicas: loss %.4f → %.4f, want at least halved", s.Replicas, s.FirstLoss, s.FinalLoss)
		}
	}
	if one.Replicas != 1 || two.Replicas != 2 || two.Ranks != 1 {
		t.Errorf("replicas %d and %d (ranks %d), want 1 and 2 (1)", one.Replicas, two.Replicas, two.Ranks)
	}
	if again.ParamsSHA256 != two.ParamsSHA256 || again.FinalLoss != two.FinalLoss {
		t.Errorf("rerun of 2 replicas: params %s loss %v, first run %s %v", again.ParamsSHA256, again.FinalLoss, two.ParamsSHA256, two.FinalLoss)
	}
	// Same mean gradient up to rounding: the losses agree closely, the bits need not.
	if d := one.FinalLoss - two.FinalLoss; d > 1e-3 || d < -1e-3 {
		t.Errorf("final loss %v with 1 replica, %v with 2", one.FinalLoss, two.FinalLoss)
	}
}

func TestScalingBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-replicas", "0"},
		{"-steps", "10", "-warm", "10"},
		{"-batch", "1", "-replicas", "2"},
		{"-n", "64", "-batch", "128"},
		{"-model", "resnet"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), nil, args, &out); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
