package models_test

import (
	"context"
	"sync"
	"testing"

	"gorgonia.org/tensor"

	"github.com/descent-go/descent/graph"
	"github.com/descent-go/descent/internal/testutil"
	"github.com/descent-go/descent/models"
)

// Issue 15 item 1 (and 9): prediction, evaluation, Init and Fit never add
// to or change a caller's Params; a mismatch names the parameters.
func TestParamsNeverChangedByMismatch(t *testing.T) {
	train, test := digits(t, tensor.Float64)
	one := models.MLP{Hidden: []int{8}, Outputs: 10}
	two := models.MLP{Hidden: []int{8, 8}, Outputs: 10}
	trained := graph.NewParams(tensor.Float64, 1)
	must(t, models.Init(one, trained, train.XShape()))
	misspelled := trained.Clone()
	must(t, misspelled.Add("hiden1/w", tensor.New(tensor.WithShape(2), tensor.Of(tensor.Float64))))
	sgd := quickSGD(1, graph.SoftmaxCrossEntropy)
	for _, tc := range []struct {
		name  string
		p     *graph.Params
		call  func(p *graph.Params) error
		words []string
	}{
		{"Predict with an extra layer", trained, func(p *graph.Params) error {
			_, err := models.Predict(two, p, test.X())
			return err
		}, []string{"models: predict", "missing", "hidden2/w", "hidden2/b"}},
		{"Evaluate with an extra layer", trained, func(p *graph.Params) error {
			_, err := models.Evaluate(two, p, graph.SoftmaxCrossEntropy, test)
			return err
		}, []string{"models: evaluate", "missing", "hidden2/w"}},
		{"Evaluate with a layer fewer", trainedOf(t, two, train.XShape()), func(p *graph.Params) error {
			_, err := models.Evaluate(one, p, graph.SoftmaxCrossEntropy, test)
			return err
		}, []string{"unexpected", "hidden2/w", "hidden2/b"}},
		{"Predict on empty params", graph.NewParams(tensor.Float64, 1), func(p *graph.Params) error {
			_, err := models.Predict(one, p, test.X())
			return err
		}, []string{"params are empty", "hidden1/w", "models.Init"}},
		{"Evaluate on empty params", graph.NewParams(tensor.Float64, 1), func(p *graph.Params) error {
			_, err := models.Evaluate(one, p, graph.SoftmaxCrossEntropy, test)
			return err
		}, []string{"params are empty"}},
		{"Init of another model", trained, func(p *graph.Params) error {
			return models.Init(two, p, train.XShape())
		}, []string{"models: Init", "missing", "hidden2/w"}},
		{"Fit on another model's params", trained, func(p *graph.Params) error {
			_, err := sgd.Fit(context.Background(), two, p, train)
			return err
		}, []string{"trainers", "missing", "hidden2/w"}},
		{"Fit with a misspelled added parameter", misspelled, func(p *graph.Params) error {
			_, err := sgd.Fit(context.Background(), one, p, train)
			return err
		}, []string{"unexpected", "hiden1/w", "never uses"}},
		{"Predict with a misspelled added parameter", misspelled, func(p *graph.Params) error {
			_, err := models.Predict(one, p, test.X())
			return err
		}, []string{"unexpected", "hiden1/w"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, names := tc.p.Clone(), tc.p.Names()
			testutil.ErrContains(t, tc.call(tc.p), tc.words...)
			if !testutil.SameParams(before, tc.p) || len(names) != tc.p.Len() {
				t.Errorf("the params changed: %v, now %v", names, tc.p.Names())
			}
		})
	}
}

func trainedOf(t *testing.T, m models.Model, xs tensor.Shape) *graph.Params {
	p := graph.NewParams(tensor.Float64, 2)
	must(t, models.Init(m, p, xs))
	return p
}

// Two Predicts on the same fresh Params used to create the parameters
// concurrently (a data race); now both fail and the Params stay empty.
func TestConcurrentPredictOnFreshParams(t *testing.T) {
	_, test := digits(t, tensor.Float64)
	p := graph.NewParams(tensor.Float64, 1)
	m := models.MLP{Hidden: []int{8}, Outputs: 10}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = models.Predict(m, p, test.X())
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		testutil.ErrContains(t, err, "params are empty")
	}
	if p.Len() != 0 {
		t.Errorf("Predict added %v", p.Names())
	}
}
