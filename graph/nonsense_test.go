package graph

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/internal/testutil"
)

// Issue 15 item 5: losses that would train on nonsense are errors, at build
// time when the shapes say so, at run time when the values do.
func TestLossesRejectNonsense(t *testing.T) {
	for _, tc := range []struct {
		name   string
		loss   Loss
		zShape tensor.Shape
		yShape tensor.Shape
		y      []float64
		words  []string
	}{
		{"SCE on one output, class indices", SoftmaxCrossEntropy, tensor.Shape{2, 1}, tensor.Shape{2}, []float64{0, 0},
			[]string{"SoftmaxCrossEntropy", "(2, 1)", "one class", "BinaryCrossEntropy"}},
		{"SCE on one output, one-hot", SoftmaxCrossEntropy, tensor.Shape{2, 1}, tensor.Shape{2, 1}, []float64{1, 1},
			[]string{"SoftmaxCrossEntropy", "one class"}},
		{"BCE target 5", BinaryCrossEntropy, tensor.Shape{2, 1}, tensor.Shape{2, 1}, []float64{0, 5},
			[]string{"element 1", "target 5", "[0, 1]"}},
		{"BCE target -1", BinaryCrossEntropy, tensor.Shape{2, 1}, tensor.Shape{2, 1}, []float64{-1, 1},
			[]string{"element 0", "target -1", "[0, 1]"}},
	} {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(tc.name+"/"+dt.String(), func(t *testing.T) {
				p := NewParams(dt, 1)
				b := NewBuilder(p)
				b.SetTraining(true)
				z, err := b.Param("z", tc.zShape, Zeros)
				if err != nil {
					t.Fatal(err)
				}
				y, err := b.Input("y", tc.yShape)
				if err != nil {
					t.Fatal(err)
				}
				setFloat64s(b.InputTensor("y"), tc.y)
				l, err := tc.loss(b, z, y)
				if err == nil {
					var prog *Program
					if prog, err = b.Compile(l); err == nil {
						defer prog.Close()
						err = prog.Run()
					}
				}
				testutil.ErrContains(t, err, tc.words...)
			})
		}
	}
}
