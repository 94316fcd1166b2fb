package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestQuickstart runs the main job as the README does, with -json, and checks
// the promise: test accuracy ≥ 0.95 on the embedded digits, and a PNG plot.
func TestQuickstart(t *testing.T) {
	png := filepath.Join(t.TempDir(), "loss.png")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-json", "-png", png}, &out); err != nil {
		t.Fatal(err)
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("summary is not one JSON object: %v\n%s", err, out.String())
	}
	if s.TestAccuracy < 0.95 {
		t.Errorf("test accuracy %.4f < 0.95", s.TestAccuracy)
	}
	if s.Epochs != 15 || s.Updates != 15*40 {
		t.Errorf("epochs %d, updates %d; want 15 and 600 (1257 examples in batches of 32)", s.Epochs, s.Updates)
	}
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("no PNG at %s: %v", png, err)
	}
}

func TestQuickstartBadFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-batch", "0", "-json", "-png", ""}, &out); err == nil {
		t.Error("batch size 0 accepted")
	}
}
