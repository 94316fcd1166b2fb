package graph

import (
	"fmt"

	"github.com/descent-go/descent/internal/kernels"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A machine runs a compiled graph in place of gorgonia's tape machine. It
// runs only the nodes that the loss, the outputs and the gradients need (so
// not, for instance, the gradient with respect to the input batch that
// gorgonia.Grad also adds to the graph), in gorgonia's topological order, and
// every op that can write into a preallocated value (gorgonia's
// UsePreallocDoer) writes into one allocated once, at compile time. The tape
// machine instead resets its registers before every run, so that every op
// allocates its result anew, and runs the program on a second goroutine.
//
// The ops are gorgonia's own (and this package's fused ones), called with the
// same inputs in the same order, so a machine computes what the tape machine
// computes (machine_test.go compares them bit for bit).
type machine struct {
	steps []mstep
	vals  []G.Value // the value of every needed node, by slot
	slots map[*G.Node]int
}

type stepKind uint8

const (
	stepLeaf   stepKind = iota // an input, parameter or random node: its bound value
	stepOp                     // an op: UsePreallocDo into buf, or Do
	stepView                   // a reshape: a header over its input's memory, made once
	stepOnce                   // an op whose value depends only on input shapes (SizeOf): computed once
	stepMatMul                 // a 2-D matrix product: one gemm call into buf
)

type mstep struct {
	kind stepKind
	node *G.Node
	op   G.Op
	args []int     // slots of the children, in order
	in   []G.Value // the children's values, reused every run
	out  int       // slot of the result

	pd  G.UsePreallocDoer // nil: the op runs with Do
	buf G.Value           // the preallocated result

	src  G.Value       // stepView: the input the view was made of
	view *tensor.Dense // stepView: the view
	done bool          // stepOnce: computed

	mm matmul // stepMatMul
}

// matmul is a product C (m×n) = op(A)·op(B) as tensor.MatMul passes it to
// the BLAS: row-major, leading dimensions those of the stored matrices.
type matmul struct {
	tA, tB        blas.Transpose
	m, n, k       int
	lda, ldb, ldc int
}

// matmulOf recognizes gorgonia's 2-D matrix product ops by their names (the
// op type is unexported): "A × B", "Aᵀ × B", "A × Bᵀ", "Aᵀ × Bᵀ".
func matmulOf(n *G.Node, kids G.Nodes) (matmul, bool) {
	var mm matmul
	if opName(n.Op()) != "gorgonia.linAlgBinOp" || len(kids) != 2 || n.Dims() != 2 ||
		kids[0].Dims() != 2 || kids[1].Dims() != 2 {
		return mm, false
	}
	dt := n.Dtype()
	if (dt != tensor.Float32 && dt != tensor.Float64) || kids[0].Dtype() != dt || kids[1].Dtype() != dt {
		return mm, false
	}
	mm.tA, mm.tB = blas.NoTrans, blas.NoTrans
	switch n.Op().String() {
	case "A × B":
	case "Aᵀ × B":
		mm.tA = blas.Trans
	case "A × Bᵀ":
		mm.tB = blas.Trans
	case "Aᵀ × Bᵀ":
		mm.tA, mm.tB = blas.Trans, blas.Trans
	default:
		return mm, false
	}
	as, bs, cs := kids[0].Shape(), kids[1].Shape(), n.Shape()
	mm.lda, mm.ldb, mm.ldc = as[1], bs[1], cs[1]
	mm.m, mm.k = as[0], as[1]
	if mm.tA == blas.Trans {
		mm.m, mm.k = as[1], as[0]
	}
	bk := bs[0]
	mm.n = bs[1]
	if mm.tB == blas.Trans {
		mm.n, bk = bs[0], bs[1]
	}
	if bk != mm.k || cs[0] != mm.m || cs[1] != mm.n || mm.m*mm.n == 0 {
		return mm, false
	}
	return mm, true
}

// newMachine prepares a machine that computes targets. It returns nil (and no
// error) for a graph it cannot run — statement nodes (gorgonia's Let and
// Read) — which then runs on gorgonia's tape machine.
func newMachine(g *G.ExprGraph, targets G.Nodes) (*machine, error) {
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, errors.Wrap(err, "sort")
	}
	// The nodes the targets depend on.
	needed := map[*G.Node]bool{}
	stack := append(G.Nodes(nil), targets...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if needed[n] {
			continue
		}
		needed[n] = true
		for _, c := range children(g, n) {
			if !needed[c] {
				stack = append(stack, c)
			}
		}
	}
	m := &machine{slots: map[*G.Node]int{}}
	// G.Sort puts the roots first: run it backwards.
	for i := len(sorted) - 1; i >= 0; i-- {
		n := sorted[i]
		if !needed[n] {
			continue
		}
		s := mstep{node: n, op: n.Op(), out: len(m.vals)}
		m.slots[n] = s.out
		m.vals = append(m.vals, nil)
		kids := children(g, n)
		for _, c := range kids {
			slot, ok := m.slots[c]
			if !ok {
				return nil, errors.Errorf("node %v: child %v is not sorted before it", n, c)
			}
			s.args = append(s.args, slot)
		}
		s.in = make([]G.Value, len(s.args))
		switch name := opName(s.op); {
		case s.op == nil || name == "gorgonia.randomOp":
			s.kind = stepLeaf
		case name == "gorgonia.letOp" || name == "gorgonia.readOp" || name == "gorgonia.devTrans":
			return nil, nil
		case name == "gorgonia.reshapeOp" && len(kids) == 1:
			s.kind = stepView
		case name == "gorgonia.sizeOp":
			s.kind = stepOnce
		case isMatMul(n, kids, &s):
			s.kind = stepMatMul
		default:
			s.kind = stepOp
			if op, ok := s.op.(G.TrainModeOp); ok {
				// As the tape machine does (it runs in training mode).
				if err := op.SetTraining(true); err != nil {
					return nil, errors.Wrapf(err, "node %v", n)
				}
			}
			if pd, ok := s.op.(G.UsePreallocDoer); ok && len(kids) > 0 {
				if buf := preallocFor(n, s.op); buf != nil {
					s.pd, s.buf = pd, buf
				}
			}
		}
		m.steps = append(m.steps, s)
	}
	return m, nil
}

// isMatMul sets up s as a matrix product if n is one.
func isMatMul(n *G.Node, kids G.Nodes, s *mstep) bool {
	mm, ok := matmulOf(n, kids)
	if !ok {
		return false
	}
	pd, ok := n.Op().(G.UsePreallocDoer)
	if !ok {
		return false
	}
	s.mm, s.pd, s.buf = mm, pd, preallocFor(n, n.Op())
	return s.buf != nil
}

// children lists n's children in order (gorgonia exports them only through
// the graph's From).
func children(g *G.ExprGraph, n *G.Node) G.Nodes {
	it := g.From(n.ID())
	if it == nil {
		return nil
	}
	var ns G.Nodes
	for it.Next() {
		ns = append(ns, it.Node().(*G.Node))
	}
	return ns
}

func opName(op G.Op) string {
	if op == nil {
		return ""
	}
	return fmt.Sprintf("%T", op)
}

// preallocFor makes n's result value once: a tensor of its dtype and shape,
// or, for this package's ops that return scalars, a scalar.
func preallocFor(n *G.Node, op G.Op) G.Value {
	dt := n.Dtype()
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return nil
	}
	if n.IsScalar() {
		if _, ours := op.(ownScalarOp); !ours {
			return nil
		}
		if dt == tensor.Float32 {
			return G.NewF32(0)
		}
		return G.NewF64(0)
	}
	s := n.Shape()
	if s.TotalSize() == 0 {
		return nil
	}
	return tensor.New(tensor.Of(dt), tensor.WithShape(s.Clone()...))
}

// ownScalarOp marks this package's ops whose UsePreallocDo writes a scalar
// result into a preallocated *gorgonia.F32 or *gorgonia.F64.
type ownScalarOp interface{ preallocScalar() }

// run computes every needed node once.
func (m *machine) run() error {
	for i := range m.steps {
		s := &m.steps[i]
		if err := m.exec(s); err != nil {
			return errors.Wrapf(err, "node %v", s.node)
		}
	}
	return nil
}

func (m *machine) exec(s *mstep) (err error) {
	switch s.kind {
	case stepLeaf:
		v := s.node.Value()
		if v == nil {
			return errors.New("no value bound")
		}
		m.vals[s.out] = v
		return nil
	case stepOnce:
		if s.done {
			return nil
		}
	case stepMatMul:
		if m.matmul(s) {
			return nil
		}
	case stepView:
		src := m.vals[s.args[0]]
		if s.view != nil && src == s.src {
			m.vals[s.out] = s.view
			return nil
		}
		if d, ok := src.(*tensor.Dense); ok && !d.IsView() {
			v := d.ShallowClone()
			if err := v.Reshape(s.node.Shape()...); err != nil {
				return err
			}
			s.src, s.view = src, v
			m.vals[s.out] = v
			return nil
		}
	}
	for j, a := range s.args {
		s.in[j] = m.vals[a]
	}
	var v G.Value
	if s.pd != nil {
		if v, err = s.pd.UsePreallocDo(s.buf, s.in...); err != nil {
			// Some ops refuse a preallocated value for some inputs: from
			// now on let them allocate, as the tape machine does.
			s.pd, s.buf = nil, nil
		}
	}
	if s.pd == nil {
		if v, err = s.op.Do(s.in...); err != nil {
			return err
		}
	}
	for j := range s.in {
		s.in[j] = nil
	}
	if v == nil {
		return errors.New("op returned no value")
	}
	m.vals[s.out] = v
	if s.kind == stepOnce {
		s.done = true
	}
	return nil
}

// matmul runs a matrix product step with one gemm call; false means its
// inputs are not plain row-major matrices of the expected sizes (they always
// are in a machine), and the op runs as gorgonia would run it.
func (m *machine) matmul(s *mstep) bool {
	a, ok1 := m.vals[s.args[0]].(*tensor.Dense)
	b, ok2 := m.vals[s.args[1]].(*tensor.Dense)
	c, ok3 := s.buf.(*tensor.Dense)
	if !ok1 || !ok2 || !ok3 || a.IsView() || b.IsView() || a.Dtype() != c.Dtype() || b.Dtype() != c.Dtype() {
		return false
	}
	mm := &s.mm
	na, nb, nc := mm.m*mm.k, mm.k*mm.n, mm.m*mm.n
	switch c.Dtype() {
	case tensor.Float32:
		ad, bd, cd := a.Float32s(), b.Float32s(), c.Float32s()
		if len(ad) != na || len(bd) != nb || len(cd) != nc {
			return false
		}
		kernels.Sgemm(mm.tA, mm.tB, mm.m, mm.n, mm.k, ad, mm.lda, bd, mm.ldb, cd, mm.ldc)
	case tensor.Float64:
		ad, bd, cd := a.Float64s(), b.Float64s(), c.Float64s()
		if len(ad) != na || len(bd) != nb || len(cd) != nc {
			return false
		}
		kernels.Dgemm(mm.tA, mm.tB, mm.m, mm.n, mm.k, ad, mm.lda, bd, mm.ldb, cd, mm.ldc)
	default:
		return false
	}
	m.vals[s.out] = c
	return true
}

// value is the value of n after a run (nil if n is not computed).
func (m *machine) value(n *G.Node) G.Value {
	if slot, ok := m.slots[n]; ok {
		return m.vals[slot]
	}
	return nil
}

// shared reports whether n's value is not a result the machine computes
// anew every run — a bound input, parameter or constant, or a value computed
// once — which callers must not write into.
func (m *machine) shared(n *G.Node) bool {
	slot, ok := m.slots[n]
	if !ok {
		return true
	}
	for i := range m.steps {
		if s := &m.steps[i]; s.out == slot {
			return s.kind == stepLeaf || s.kind == stepOnce || len(s.args) == 0
		}
	}
	return true
}
