package graph

import (
	"testing"

	"gorgonia.org/tensor"
)

// Float64Data and Float32Data write through to the tensor; Float64s copies.
func TestFloatDataWritesThrough(t *testing.T) {
	t64 := NewTensorFrom([]float64{1, 2, 3}, 3)
	Float64Data(t64)[1] = 20
	if got := Float64s(t64); got[1] != 20 {
		t.Errorf("Float64Data did not write through: tensor holds %v", got)
	}
	Float64s(t64)[0] = 10
	if got := Float64Data(t64); got[0] != 1 {
		t.Errorf("Float64s is not a copy: tensor holds %v", got)
	}
	t32 := NewTensor(tensor.Float32, 2)
	Float32Data(t32)[0] = 5
	if got := Float64s(t32); got[0] != 5 {
		t.Errorf("Float32Data did not write through: tensor holds %v", got)
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"Float64Data(nil)", Float64Data(nil) == nil},
		{"Float32Data(nil)", Float32Data(nil) == nil},
		{"Float64Data(float32 tensor)", Float64Data(t32) == nil},
		{"Float32Data(float64 tensor)", Float32Data(t64) == nil},
	} {
		if !c.ok {
			t.Errorf("%s is not nil", c.name)
		}
	}
}
