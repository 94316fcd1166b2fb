// Package graph is the layer between gorgonia and the rest of descent: it
// keeps a model's parameters apart from any one graph, builds gorgonia graphs
// bound to them, and supplies the layers, losses, initializers and the
// gradient check that models are written with.
//
// A model's weights live in a [Params]: named tensors created on first use by
// a seeded [Initializer] and reused by every later graph. A [Builder] makes one
// fresh *gorgonia.ExprGraph bound to a Params, so graphs for several batch
// sizes share the same tensors and an update through one is seen by all.
// [Builder.Compile] turns a built graph into a [Program]: a compiled graph with
// input tensors it owns, that computes the outputs and, for a training graph
// given a loss, the reverse-mode gradient of every parameter.
//
//	p := graph.NewParams(graph.Float64, 1)
//	b := graph.NewBuilder(p)
//	b.SetTraining(true)                         // compute gradients
//	x, _ := b.Input("x", graph.Shape{32, 4})
//	y, _ := b.Input("y", graph.Shape{32})       // class indices
//	h, _ := graph.Dense(b, "dense", x, 3, nil)  // nil: GlorotUniform
//	loss, _ := graph.SoftmaxCrossEntropy(b, h, y)
//	prog, _ := b.Compile(loss)
//	// copy a batch into prog.Input("x") and prog.Input("y"), then:
//	_ = prog.Run()                              // prog.Loss(), prog.Grad(i)
//
// Every random choice (initial weights, dropout masks) draws from a generator
// seeded from the Params seed and the parameter's or layer's name, so the same
// seed gives the same bits whatever the build order. gorgonia's own
// initializers and dropout seed from the clock; this package does not use them.
//
// No panic from gorgonia escapes: shape errors come back as errors that name
// the layer and the shapes involved.
package graph
