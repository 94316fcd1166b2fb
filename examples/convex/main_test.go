package main

import (
	"context"
	"math"
	"testing"

	"github.com/descent-go/descent/examples/internal/cli"
)

func TestConvex(t *testing.T) {
	args := []string{"-json", "-kappas", "100", "-eps", "1e-4", "-n", "200", "-d", "10",
		"-blobs", "1024", "-tols", "0.1,0.01", "-budget", "5", "-png", ""}
	var s summary
	if err := cli.RunJSON(context.Background(), run, args, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Rates) != 1 {
		t.Fatalf("got %d rows for Part A, want 1", len(s.Rates))
	}
	r := s.Rates[0]
	t.Logf("κ = %g (κ_eff %.2f): GD %d steps (bound %.0f), heavy ball %d steps (bound %.0f)", r.Kappa, r.KappaEff, r.GDSteps, r.GDBound, r.MomentumSteps, r.MomentumBound)
	if math.Abs(r.KappaEff/r.Kappa-1) > 0.3 {
		t.Errorf("κ_eff = %v, far from κ = %v", r.KappaEff, r.Kappa)
	}
	if r.GDSteps < 0 || float64(r.GDSteps) > r.GDBound+5 {
		t.Errorf("GD took %d steps, want ≤ κ·ln(1/ε) + 5 = %.0f", r.GDSteps, r.GDBound+5)
	}
	if r.MomentumSteps < 0 || float64(r.MomentumSteps) > r.MomentumBound+5 {
		t.Errorf("heavy ball took %d steps, want ≤ √κ·ln(1/ε) + 5 = %.0f", r.MomentumSteps, r.MomentumBound+5)
	}
	if 3*r.MomentumSteps > r.GDSteps {
		t.Errorf("heavy ball took %d steps, GD %d: want at least 3× fewer", r.MomentumSteps, r.GDSteps)
	}

	b := s.Evals
	if b == nil || len(b.Methods) != 3 {
		t.Fatalf("Part B: %+v", b)
	}
	gd, online, mini := b.Methods[0], b.Methods[1], b.Methods[2]
	t.Logf("evaluations to reach the targets: GD %v, online %v, mini-batch %v", gd.GradEvals, online.GradEvals, mini.GradEvals)
	for i := range b.Tols {
		if gd.GradEvals[i] < 0 {
			t.Errorf("GD did not reach tol %g", b.Tols[i])
		}
		for _, m := range []evalRow{online, mini} {
			if m.GradEvals[i] < 0 || 2*m.GradEvals[i] > gd.GradEvals[i] {
				t.Errorf("%s needed %d evaluations for tol %g, GD %d: want at most half", m.Method, m.GradEvals[i], b.Tols[i], gd.GradEvals[i])
			}
		}
	}
}
