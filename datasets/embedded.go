package datasets

import (
	"bytes"
	"embed"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// data holds three small classic data sets from scikit-learn (BSD-3-Clause);
// data/README.md gives their source, license and credits.
//
//go:embed data/digits.csv.gz data/iris.csv data/breast_cancer.csv.gz
var data embed.FS

// Digits returns scikit-learn's optical handwritten digits: 1797 images of
// 8x8 pixels, X of shape (1797, 64) with the pixels as given, integers 0..16
// (not scaled: use a Standardizer, or divide by 16), and Y the digit 0..9 as
// a class index, shape (1797). The classes hold 178, 182, 177, 183, 181,
// 182, 181, 179, 174 and 180 examples.
//
// This is the test part of the UCI "Optical Recognition of Handwritten
// Digits" set by E. Alpaydin and C. Kaynak (1998), as shipped by
// scikit-learn under its BSD-3-Clause license; see data/README.md in this
// package.
func Digits(dt tensor.Dtype) (*Dataset, error) {
	return loadEmbedded("data/digits.csv.gz", "digits.csv.gz", dt, CSVOptions{ClassIndex: true})
}

// Iris returns Fisher's iris data (1936): X of shape (150, 4), the sepal
// length, sepal width, petal length and petal width in cm, and Y the species
// as a class index, shape (150), 50 examples of each of the 3 classes named
// by IrisClassNames. Class 0 is linearly separable from the other two, which
// are not separable from each other.
//
// The data is scikit-learn's copy (the same as R's), shipped under its
// BSD-3-Clause license; see data/README.md in this package.
func Iris(dt tensor.Dtype) (*Dataset, error) {
	return loadEmbedded("data/iris.csv", "iris.csv", dt, CSVOptions{Header: true, ClassIndex: true})
}

// BreastCancer returns the Wisconsin diagnostic breast cancer data, a
// binary classification set: X of shape (569, 30), features of cell nuclei
// computed from images (not scaled: use a Standardizer), and Y of shape
// (569, 1) holding 0 (malignant, 212 examples) or 1 (benign, 357), binary
// targets for models.Logistic with graph.BinaryCrossEntropy (convert them
// with ClassIndexTargets for a softmax classifier).
//
// The data is scikit-learn's copy, shipped under its BSD-3-Clause license;
// see data/README.md in this package.
func BreastCancer(dt tensor.Dtype) (*Dataset, error) {
	return loadEmbedded("data/breast_cancer.csv.gz", "breast_cancer.csv.gz", dt, CSVOptions{Header: true})
}

// IrisClassNames returns the names of Iris's classes 0, 1 and 2.
func IrisClassNames() []string {
	return []string{"setosa", "versicolor", "virginica"}
}

func loadEmbedded(path, name string, dt tensor.Dtype, opt CSVOptions) (*Dataset, error) {
	if err := checkDtype(name, dt); err != nil {
		return nil, err
	}
	b, err := data.ReadFile(path)
	if err != nil {
		return nil, errors.Wrapf(err, "datasets: embedded %s", name)
	}
	opt.Dtype = dt
	return ReadCSV(bytes.NewReader(b), name, opt)
}
