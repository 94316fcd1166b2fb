package datasets

import (
	"fmt"
	"math"
	"strings"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// maxClasses bounds class indices (and so NumClasses and the width of a
// one-hot encoding): 2^24 is also the largest integer range float32 holds
// exactly.
const maxClasses = 1 << 24

// Dataset is a set of examples held in memory: inputs X with shape
// (N, features...) and targets Y with shape (N, K) or (N).
//
// Y with shape (N, K) holds one-hot rows (K > 1, classification) or K
// regression targets; a single regression target must be (N, 1). Y with
// shape (N) holds class indices 0, 1, ..., stored as float values.
//
// A Dataset does not change after it is made; methods that transform it
// return a new Dataset. It is safe for concurrent use by readers as long as
// nobody writes to the tensors returned by X and Y.
type Dataset struct {
	x, y   *tensor.Dense
	dt     tensor.Dtype
	n      int // examples
	xf     int // values per example in X
	yf     int // values per example in Y (1 for class indices)
	xshape tensor.Shape
	yshape tensor.Shape
	cls    bool // Y is (N): class indices
	bin    bool // Y is (N, 1), every value 0 or 1: binary classes
	k      int  // NumClasses

	// the backing arrays of x and y: exactly one pair is non-nil.
	x64, y64 []float64
	x32, y32 []float32
}

// New returns a Dataset of the examples in x, shape (N, features...), and
// their targets in y, shape (N, K) or (N) (class indices). It does not copy:
// the Dataset uses x and y themselves, which must not change afterwards.
//
// New checks that both tensors are present, contiguous and of the same
// dtype, tensor.Float32 or tensor.Float64; that they hold the same number of
// examples N > 0; that X has at least two dimensions and Y one or two, none
// of size 0; that no value is NaN or infinite; and that class indices are
// integers in 0..2^24-1.
func New(x, y *tensor.Dense) (*Dataset, error) {
	return newDataset("New", x, y)
}

func newDataset(op string, x, y *tensor.Dense) (*Dataset, error) {
	if x == nil || y == nil {
		switch {
		case x == nil && y == nil:
			return nil, errors.Errorf("datasets: %s: X and Y are nil", op)
		case x == nil:
			return nil, errors.Errorf("datasets: %s: X is nil", op)
		default:
			return nil, errors.Errorf("datasets: %s: Y is nil", op)
		}
	}
	if err := checkTensor(op, "X", x); err != nil {
		return nil, err
	}
	if err := checkTensor(op, "Y", y); err != nil {
		return nil, err
	}
	xs, ys := x.Shape(), y.Shape()
	if x.Dtype() != y.Dtype() {
		return nil, errors.Errorf("datasets: %s: X is %v but Y is %v: X and Y must have the same dtype", op, x.Dtype(), y.Dtype())
	}
	if len(xs) < 2 {
		return nil, errors.Errorf("datasets: %s: X is %v: want (N, features...) with at least 2 dimensions (reshape a single feature to (N, 1))", op, xs)
	}
	if len(ys) < 1 || len(ys) > 2 {
		return nil, errors.Errorf("datasets: %s: Y is %v: want (N, K) targets or (N) class indices", op, ys)
	}
	if xs[0] != ys[0] {
		return nil, errors.Errorf("datasets: %s: X is %v but Y is %v: they must hold the same number of examples", op, xs, ys)
	}
	if xs[0] == 0 {
		return nil, errors.Errorf("datasets: %s: X is %v: no examples", op, xs)
	}
	d := &Dataset{
		x:      x,
		y:      y,
		dt:     x.Dtype(),
		n:      xs[0],
		xf:     sizeOf(xs[1:]),
		yf:     sizeOf(ys[1:]),
		xshape: xs[1:].Clone(),
		yshape: ys[1:].Clone(),
		cls:    len(ys) == 1,
	}
	if d.yshape == nil {
		d.yshape = tensor.Shape{}
	}
	if d.dt == tensor.Float64 {
		d.x64 = x.Float64s()[:d.n*d.xf]
		d.y64 = y.Float64s()[:d.n*d.yf]
	} else {
		d.x32 = x.Float32s()[:d.n*d.xf]
		d.y32 = y.Float32s()[:d.n*d.yf]
	}
	if i, v, bad := d.firstNonFinite(true); bad {
		return nil, errors.Errorf("datasets: %s: X%s is %v", op, indexString(i, xs), v)
	}
	if i, v, bad := d.firstNonFinite(false); bad {
		return nil, errors.Errorf("datasets: %s: Y%s is %v", op, indexString(i, ys), v)
	}
	switch {
	case d.cls:
		maxc := -1
		for i := 0; i < d.n; i++ {
			v := d.yAt(i)
			if v < 0 || v != math.Trunc(v) || v >= maxClasses {
				return nil, errors.Errorf("datasets: %s: Y[%d] is %v: class indices must be integers in 0..%d", op, i, v, maxClasses-1)
			}
			if int(v) > maxc {
				maxc = int(v)
			}
		}
		d.k = maxc + 1
	case d.yf > 1:
		d.k = d.yf
	default:
		d.bin = d.zeroOne()
		if d.bin {
			d.k = 2
		}
	}
	return d, nil
}

// zeroOne reports whether every target is 0 or 1.
func (d *Dataset) zeroOne() bool {
	for i := 0; i < d.n*d.yf; i++ {
		if v := d.yAt(i); v != 0 && v != 1 {
			return false
		}
	}
	return true
}

// checkTensor checks what New needs of one tensor apart from its shape.
func checkTensor(op, name string, t *tensor.Dense) error {
	if dt := t.Dtype(); dt != tensor.Float64 && dt != tensor.Float32 {
		return errors.Errorf("datasets: %s: %s has dtype %s: want float32 or float64", op, name, dtypeName(dt))
	}
	s := t.Shape()
	for i, v := range s {
		if v <= 0 {
			return errors.Errorf("datasets: %s: %s is %v: dimension %d has size %d", op, name, s, i, v)
		}
	}
	if !t.IsNativelyAccessible() || t.RequiresIterator() {
		return errors.Errorf("datasets: %s: %s %v is not a contiguous tensor in Go memory (a transposed or strided view, or masked): materialize it first", op, name, s)
	}
	size, ok := checkedSize(s)
	if !ok {
		return errors.Errorf("datasets: %s: %s is %v: too many elements", op, name, s)
	}
	have := 0
	if t.Dtype() == tensor.Float64 {
		have = len(t.Float64s())
	} else {
		have = len(t.Float32s())
	}
	if have < size {
		return errors.Errorf("datasets: %s: %s is %v but holds only %d values", op, name, s, have)
	}
	return nil
}

// FromFloat64 returns a Dataset of new tensors of dtype dt (tensor.Float32 or
// tensor.Float64) holding copies of x, with shape xShape (N, features...),
// and y, with shape yShape (N, K) or (N) for class indices. It is meant for
// notebooks and tests, where data is at hand as plain slices.
func FromFloat64(x []float64, xShape []int, y []float64, yShape []int, dt tensor.Dtype) (*Dataset, error) {
	if err := checkDtype("FromFloat64", dt); err != nil {
		return nil, err
	}
	xt, err := denseFromFloat64("FromFloat64", "X", x, xShape, dt)
	if err != nil {
		return nil, err
	}
	yt, err := denseFromFloat64("FromFloat64", "Y", y, yShape, dt)
	if err != nil {
		return nil, err
	}
	return newDataset("FromFloat64", xt, yt)
}

// denseFromFloat64 copies data into a new tensor of the given shape, after
// checking what tensor.New would panic on.
func denseFromFloat64(op, name string, data []float64, shape []int, dt tensor.Dtype) (*tensor.Dense, error) {
	if len(shape) == 0 {
		return nil, errors.Errorf("datasets: %s: %s shape is empty", op, name)
	}
	for i, v := range shape {
		if v <= 0 {
			return nil, errors.Errorf("datasets: %s: %s shape %v: dimension %d has size %d", op, name, tensor.Shape(shape), i, v)
		}
	}
	size, ok := checkedSize(shape)
	if !ok {
		return nil, errors.Errorf("datasets: %s: %s shape %v: too many elements", op, name, tensor.Shape(shape))
	}
	if size != len(data) {
		return nil, errors.Errorf("datasets: %s: %s shape %v needs %d values, got %d", op, name, tensor.Shape(shape), size, len(data))
	}
	return newDense(dt, tensor.Shape(shape).Clone(), data), nil
}

// newDense returns a new tensor of dtype dt and the given shape holding
// data (converted to float32 when dt is Float32). len(data) must equal the
// shape's size, which must be at least 1.
func newDense(dt tensor.Dtype, shape tensor.Shape, data []float64) *tensor.Dense {
	if dt == tensor.Float32 {
		b := make([]float32, len(data))
		for i, v := range data {
			b[i] = float32(v)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(b))
	}
	b := make([]float64, len(data))
	copy(b, data)
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(b))
}

// newZeros returns a new zero tensor of dtype dt and the given shape.
func newZeros(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	n := sizeOf(shape)
	if dt == tensor.Float32 {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, n)))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float64, n)))
}

func checkDtype(op string, dt tensor.Dtype) error {
	if dt != tensor.Float64 && dt != tensor.Float32 {
		return errors.Errorf("datasets: %s: dtype %s: want tensor.Float32 or tensor.Float64", op, dtypeName(dt))
	}
	return nil
}

// dtypeName names a dtype, including the zero Dtype.
func dtypeName(dt tensor.Dtype) string {
	if dt.Type == nil {
		return "<none>"
	}
	return dt.String()
}

// sizeOf is the number of elements of a shape (1 for the empty shape).
func sizeOf(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

// checkedSize is sizeOf with an overflow check; sizes above 2^48 count as
// overflow, far beyond any data set held in memory.
func checkedSize(s []int) (int, bool) {
	const limit = 1 << 48
	n := 1
	for _, v := range s {
		if v < 0 {
			return 0, false
		}
		if v != 0 && n > limit/v {
			return 0, false
		}
		n *= v
	}
	return n, true
}

// indexString formats the flat index i of a tensor of shape s as [i0,i1,...].
func indexString(i int, s tensor.Shape) string {
	idx := make([]string, len(s))
	for k := len(s) - 1; k >= 0; k-- {
		if s[k] > 0 {
			idx[k] = fmt.Sprint(i % s[k])
			i /= s[k]
		}
	}
	return "[" + strings.Join(idx, ",") + "]"
}

// firstNonFinite finds the first NaN or infinite value of X (or Y).
func (d *Dataset) firstNonFinite(inX bool) (int, float64, bool) {
	if d.dt == tensor.Float64 {
		s := d.y64
		if inX {
			s = d.x64
		}
		for i, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return i, v, true
			}
		}
		return 0, 0, false
	}
	s := d.y32
	if inX {
		s = d.x32
	}
	for i, v := range s {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return i, f, true
		}
	}
	return 0, 0, false
}

// xAt and yAt read flat elements as float64.
func (d *Dataset) xAt(i int) float64 {
	if d.x64 != nil {
		return d.x64[i]
	}
	return float64(d.x32[i])
}

func (d *Dataset) yAt(i int) float64 {
	if d.y64 != nil {
		return d.y64[i]
	}
	return float64(d.y32[i])
}

// Len returns the number of examples N.
func (d *Dataset) Len() int { return d.n }

// X returns the inputs, shape (N, features...). It is the Dataset's own
// tensor, not a copy: do not modify it.
func (d *Dataset) X() *tensor.Dense { return d.x }

// Y returns the targets, shape (N, K) or (N). It is the Dataset's own tensor,
// not a copy: do not modify it.
func (d *Dataset) Y() *tensor.Dense { return d.y }

// Dtype returns the dtype of X and Y: tensor.Float32 or tensor.Float64.
func (d *Dataset) Dtype() tensor.Dtype { return d.dt }

// XShape returns the shape of one example, e.g. (64) or (1, 28, 28).
func (d *Dataset) XShape() tensor.Shape { return d.xshape.Clone() }

// YShape returns the shape of one example's target: (K), or the empty shape
// () for class indices.
func (d *Dataset) YShape() tensor.Shape {
	if len(d.yshape) == 0 {
		return tensor.Shape{}
	}
	return d.yshape.Clone()
}

// ClassIndices reports whether Y holds class indices, i.e. has shape (N).
func (d *Dataset) ClassIndices() bool { return d.cls }

// NumClasses returns the number of classes: the largest class index plus one
// for class-index targets, K for (N, K) targets with K > 1, 2 for binary
// (N, 1) 0/1 targets, and 0 for a single regression target (N, 1).
func (d *Dataset) NumClasses() int { return d.k }

// TargetKind is what a Dataset's targets are. Targets reports it by one
// rule, which the models and trainers packages use too:
//
//   - Y of shape (N): KindClassIndex, class indices;
//   - Y of shape (N, K), K > 1: KindOneHot rows, whose class is their largest
//     value (they are also K regression targets);
//   - Y of shape (N, 1), every value 0 or 1: KindBinary targets, the classes of
//     a single-logit classifier (models.Logistic with
//     graph.BinaryCrossEntropy); a model with another loss reads them as
//     regression targets;
//   - any other Y of shape (N, 1): KindRegression, a regression target.
type TargetKind int

// The kinds of targets.
const (
	KindRegression TargetKind = iota
	KindClassIndex
	KindOneHot
	KindBinary
)

func (k TargetKind) String() string {
	switch k {
	case KindClassIndex:
		return "class indices"
	case KindOneHot:
		return "one-hot rows"
	case KindBinary:
		return "binary 0/1 targets"
	}
	return "regression targets"
}

// Targets returns the kind of the Dataset's targets (see TargetKind).
func (d *Dataset) Targets() TargetKind {
	switch {
	case d.cls:
		return KindClassIndex
	case d.yf > 1:
		return KindOneHot
	case d.bin:
		return KindBinary
	}
	return KindRegression
}

// Labels returns the class of each example: the index itself for class-index
// targets, the position of the largest value (the first one on ties) for
// (N, K) targets with K > 1, the value for binary (N, 1) 0/1 targets, and
// nil for a single regression target. The slice is new on each call.
func (d *Dataset) Labels() []int {
	if !d.cls && d.yf < 2 && !d.bin {
		return nil
	}
	labels := make([]int, d.n)
	if d.cls || d.bin {
		for i := range labels {
			labels[i] = int(d.yAt(i))
		}
		return labels
	}
	for i := range labels {
		best, arg := math.Inf(-1), 0
		for j := 0; j < d.yf; j++ {
			if v := d.yAt(i*d.yf + j); v > best {
				best, arg = v, j
			}
		}
		labels[i] = arg
	}
	return labels
}

// Gather copies the examples idx[0], idx[1], ... into rows 0, 1, ... of x
// and y, which must have the Dataset's dtype and shapes (M, XShape...) and
// (M, YShape...) with M >= len(idx); rows from len(idx) on are left as they
// are. Gather allocates nothing; it is how a trainer fills the input tensors
// of a compiled graph with a batch (see Iterator.Indices).
func (d *Dataset) Gather(idx []int, x, y *tensor.Dense) error {
	if err := d.Validate(); err != nil {
		return errors.Wrap(err, "datasets: Gather")
	}
	if err := checkDest("Gather", "X", x, d.dt, d.xshape, len(idx)); err != nil {
		return err
	}
	if err := checkDest("Gather", "Y", y, d.dt, d.yshape, len(idx)); err != nil {
		return err
	}
	for k, i := range idx {
		if i < 0 || i >= d.n {
			return errors.Errorf("datasets: Gather: idx[%d] = %d is out of range [0, %d)", k, i, d.n)
		}
	}
	d.gather(idx, x, y)
	return nil
}

// gather is Gather without the checks.
func (d *Dataset) gather(idx []int, x, y *tensor.Dense) {
	xf, yf := d.xf, d.yf
	if d.dt == tensor.Float64 {
		xd, yd := x.Float64s(), y.Float64s()
		for k, i := range idx {
			copy(xd[k*xf:(k+1)*xf], d.x64[i*xf:(i+1)*xf])
			copy(yd[k*yf:(k+1)*yf], d.y64[i*yf:(i+1)*yf])
		}
		return
	}
	xd, yd := x.Float32s(), y.Float32s()
	for k, i := range idx {
		copy(xd[k*xf:(k+1)*xf], d.x32[i*xf:(i+1)*xf])
		copy(yd[k*yf:(k+1)*yf], d.y32[i*yf:(i+1)*yf])
	}
}

// checkDest checks a destination of op (Gather, Stream.Read) for rows
// examples of shape row and dtype dt, without allocating unless it fails.
func checkDest(op, name string, t *tensor.Dense, dt tensor.Dtype, row tensor.Shape, rows int) error {
	if t == nil {
		return errors.Errorf("datasets: %s: %s is nil", op, name)
	}
	if t.Dtype() != dt {
		return errors.Errorf("datasets: %s: %s has dtype %s, want %v", op, name, dtypeName(t.Dtype()), dt)
	}
	s := t.Shape()
	ok := len(s) == len(row)+1 && s[0] >= rows
	for i := 0; ok && i < len(row); i++ {
		ok = s[i+1] == row[i]
	}
	if !ok {
		want := append(tensor.Shape{rows}, row...)
		return errors.Errorf("datasets: %s: %s is %v, want %v (or more rows) for %d examples", op, name, s, want, rows)
	}
	if !t.IsNativelyAccessible() || t.RequiresIterator() {
		return errors.Errorf("datasets: %s: %s %v is not a contiguous tensor in Go memory", op, name, s)
	}
	size, ok := checkedSize(s)
	have := 0
	if dt == tensor.Float64 {
		have = len(t.Float64s())
	} else {
		have = len(t.Float32s())
	}
	if !ok || have < size {
		return errors.Errorf("datasets: %s: %s is %v but holds only %d values", op, name, s, have)
	}
	return nil
}

// Subset returns a new Dataset holding copies of the examples idx[0],
// idx[1], ... in that order. Indices may repeat (as in a bootstrap sample).
func (d *Dataset) Subset(idx []int) (*Dataset, error) {
	if err := d.Validate(); err != nil {
		return nil, errors.Wrap(err, "datasets: Subset")
	}
	if len(idx) == 0 {
		return nil, errors.New("datasets: Subset: no indices")
	}
	for k, i := range idx {
		if i < 0 || i >= d.n {
			return nil, errors.Errorf("datasets: Subset: idx[%d] = %d is out of range [0, %d)", k, i, d.n)
		}
	}
	x := newZeros(d.dt, append(tensor.Shape{len(idx)}, d.xshape...))
	y := newZeros(d.dt, append(tensor.Shape{len(idx)}, d.yshape...))
	d.gather(idx, x, y)
	return newDataset("Subset", x, y)
}

// OneHot returns a new tensor of shape (len(labels), k) and dtype dt with a
// 1 in column labels[i] of row i and 0 elsewhere.
func OneHot(labels []int, k int, dt tensor.Dtype) (*tensor.Dense, error) {
	if err := checkDtype("OneHot", dt); err != nil {
		return nil, err
	}
	if len(labels) == 0 {
		return nil, errors.New("datasets: OneHot: no labels")
	}
	if k <= 0 || k > maxClasses {
		return nil, errors.Errorf("datasets: OneHot: k = %d classes: want 1..%d", k, maxClasses)
	}
	if _, ok := checkedSize([]int{len(labels), k}); !ok {
		return nil, errors.Errorf("datasets: OneHot: %d labels x %d classes is too large", len(labels), k)
	}
	for i, c := range labels {
		if c < 0 || c >= k {
			return nil, errors.Errorf("datasets: OneHot: labels[%d] = %d is out of range [0, %d)", i, c, k)
		}
	}
	t := newZeros(dt, tensor.Shape{len(labels), k})
	if dt == tensor.Float64 {
		b := t.Float64s()
		for i, c := range labels {
			b[i*k+c] = 1
		}
	} else {
		b := t.Float32s()
		for i, c := range labels {
			b[i*k+c] = 1
		}
	}
	return t, nil
}

// BinaryTargets returns a new Dataset with the same X (shared, not copied)
// and targets of shape (N, 1) in {0, 1}, the form a single-logit classifier
// (models.Logistic with graph.BinaryCrossEntropy) trains on: class indices 0
// and 1 become (N, 1) rows; binary (N, 1) targets are returned as they are.
// Other targets are an error. ClassIndexTargets converts back.
func (d *Dataset) BinaryTargets() (*Dataset, error) {
	if err := d.Validate(); err != nil {
		return nil, errors.Wrap(err, "datasets: BinaryTargets")
	}
	switch {
	case d.bin:
		return d, nil
	case !d.cls || d.k > 2:
		return nil, errors.Errorf("datasets: BinaryTargets: Y %v holds %s with %d classes: want class indices 0 and 1", d.y.Shape(), d.Targets(), d.k)
	}
	return d.withLabels("BinaryTargets", tensor.Shape{d.n, 1})
}

// ClassIndexTargets returns a new Dataset with the same X (shared, not
// copied) and the targets as class indices, shape (N), the form
// graph.SoftmaxCrossEntropy trains on: binary (N, 1) targets and one-hot
// rows become their classes; class indices are returned as they are.
// Regression targets are an error.
func (d *Dataset) ClassIndexTargets() (*Dataset, error) {
	if err := d.Validate(); err != nil {
		return nil, errors.Wrap(err, "datasets: ClassIndexTargets")
	}
	if d.cls {
		return d, nil
	}
	if d.Labels() == nil {
		return nil, errors.Errorf("datasets: ClassIndexTargets: Y %v holds regression targets, not classes", d.y.Shape())
	}
	return d.withLabels("ClassIndexTargets", tensor.Shape{d.n})
}

// withLabels is a Dataset with d's X and its class labels as targets of
// the given shape.
func (d *Dataset) withLabels(op string, shape tensor.Shape) (*Dataset, error) {
	labels := d.Labels()
	ys := make([]float64, len(labels))
	for i, c := range labels {
		ys[i] = float64(c)
	}
	return newDataset(op, d.x, newDense(d.dt, shape, ys))
}

// OneHot returns a new Dataset with the same X (shared, not copied) and the
// class-index targets replaced by one-hot rows, shape (N, NumClasses()).
// It fails if Y does not hold class indices, or holds fewer than two
// classes (a one-hot (N, 1) would read as a regression target).
func (d *Dataset) OneHot() (*Dataset, error) {
	if err := d.Validate(); err != nil {
		return nil, errors.Wrap(err, "datasets: OneHot")
	}
	if !d.cls {
		return nil, errors.Errorf("datasets: OneHot: Y is %v: want class indices of shape (N)", d.y.Shape())
	}
	if d.k < 2 {
		return nil, errors.Errorf("datasets: OneHot: Y holds only class 0: a one-hot (N, 1) would read as a regression target")
	}
	y, err := OneHot(d.Labels(), d.k, d.dt)
	if err != nil {
		return nil, err
	}
	return newDataset("OneHot", d.x, y)
}

// String describes the Dataset, e.g. "Dataset{N: 150, X: (150, 4), Y: (150), float64, 3 classes}".
func (d *Dataset) String() string {
	if d.Validate() != nil {
		if d == nil {
			return "Dataset(nil)"
		}
		return "Dataset(zero value)"
	}
	s := fmt.Sprintf("Dataset{N: %d, X: %v, Y: %v, %v", d.n, d.x.Shape(), d.y.Shape(), d.dt)
	if d.k > 0 {
		s += fmt.Sprintf(", %d classes", d.k)
	}
	return s + "}"
}
