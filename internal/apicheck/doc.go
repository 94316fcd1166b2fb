// Package apicheck holds tests, and no code, that guard the limits the
// notebook interpreter (gophernotes v0.7.5, built with Go 1.21) puts on
// descent's exported API, by parsing the module's source:
//
//   - no exported generic function, method of a generic type, generic type or
//     constraint interface: one of them breaks the notebook's whole import block;
//   - exported interface names are unique across descent's packages, and none
//     is also the name of an exported interface of gorgonia.org/gorgonia or
//     gorgonia.org/tensor: interfaces of the same name in two imported
//     packages clash in the interpreter;
//   - committed notebooks (examples/notebooks/*.ipynb) have no outputs and no
//     execution counts.
//
// It covers every non-test file of every package of the module except
// internal ones and package main. See docs/notebooks.md.
package apicheck
