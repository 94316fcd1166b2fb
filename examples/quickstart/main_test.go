package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/descent-go/descent/examples/internal/cli"
)

// TestQuickstart runs the main job as the README does, with -json, and checks
// the promise: test accuracy ≥ 0.95 on the embedded digits.
func TestQuickstart(t *testing.T) {
	var s summary
	if err := cli.RunJSON(context.Background(), run, []string{"-json"}, &s); err != nil {
		t.Fatal(err)
	}
	if s.TestAccuracy < 0.95 {
		t.Errorf("test accuracy %.4f < 0.95", s.TestAccuracy)
	}
	if s.Epochs != 15 || s.Updates != 15*40 {
		t.Errorf("epochs %d, updates %d; want 15 and 600 (1257 examples in batches of 32)", s.Epochs, s.Updates)
	}
	if s.TestMacroF1 < 0.9 || s.TestMacroF1 > 1 {
		t.Errorf("test macro F1 %.4f", s.TestMacroF1)
	}
}

// TestQuickstartText: the text report shows the summary, one line per
// epoch counted from 1, and the classification report.
func TestQuickstartText(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-epochs", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"total parameters", "epoch 1/2  loss", "epoch 2/2  loss", "val_accuracy", "macro avg", "confusion matrix"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestQuickstartBadFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-batch", "0", "-json"}, &out); err == nil {
		t.Error("batch size 0 accepted")
	}
}

// TestQuickstartBuildsNoPlotting checks the README's promise that the main
// job only trains: neither descent's plot package nor gonum/plot is among
// its dependencies.
func TestQuickstartBuildsNoPlotting(t *testing.T) {
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasSuffix(pkg, "/plot") || strings.Contains(pkg, "gonum.org/v1/plot") {
			t.Errorf("the quickstart builds %s", pkg)
		}
	}
}
