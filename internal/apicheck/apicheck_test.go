package apicheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The modules whose exported interface names descent must not reuse: a
// notebook imports them beside descent.
var foreignModules = []string{"gorgonia.org/gorgonia", "gorgonia.org/tensor"}

// A finding is one violation: where, which identifier, what is wrong.
type finding struct {
	pos  token.Position
	name string
	what string
}

func (f finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.pos.Filename, f.pos.Line, f.name, f.what)
}

// A pkg is the parsed non-test files of one package.
type pkg struct {
	path  string // import path
	files []*ast.File
}

// ---------------------------------------------------------------------------
// The checks, on the real module.

func TestNoExportedGenerics(t *testing.T) {
	fset, pkgs := modulePackages(t)
	for _, p := range pkgs {
		report(t, genericFindings(fset, p.files))
	}
}

func TestExportedInterfaceNamesUnique(t *testing.T) {
	fset, pkgs := modulePackages(t)
	report(t, duplicateInterfaceFindings(interfacesOf(fset, pkgs)))
}

func TestInterfaceNamesDistinctFromGorgonia(t *testing.T) {
	fset, pkgs := modulePackages(t)
	root := moduleRoot(t)
	dirs := strings.Fields(goOutput(t, root, append([]string{"list", "-m", "-f", "{{.Dir}}"}, foreignModules...)...))
	if len(dirs) != len(foreignModules) {
		t.Fatalf("go list -m -f {{.Dir}} %s gave %d directories, want %d (run go mod download)",
			strings.Join(foreignModules, " "), len(dirs), len(foreignModules))
	}
	var foreign []pkg
	for i, dir := range dirs {
		p, ok := parsePackage(t, token.NewFileSet(), dir, foreignModules[i], foreignModules[i])
		if !ok {
			t.Fatalf("%s: no Go package in %s", foreignModules[i], dir)
		}
		foreign = append(foreign, p)
	}
	theirs := interfacesOf(token.NewFileSet(), foreign)
	if len(theirs) == 0 {
		t.Fatalf("found no exported interface in %v: the parser is broken", dirs)
	}
	report(t, foreignClashFindings(interfacesOf(fset, pkgs), theirs))
}

func TestCommittedNotebooksClean(t *testing.T) {
	root := moduleRoot(t)
	paths, err := filepath.Glob(filepath.Join(root, "examples", "notebooks", "*.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		report(t, notebookFindings(filepath.ToSlash(rel), data))
	}
}

func report(t *testing.T, found []finding) {
	t.Helper()
	for _, f := range found {
		t.Error(f)
	}
}

// ---------------------------------------------------------------------------
// The checkers, on source and JSON given as values.

// genericFindings reports exported generic functions, exported methods and
// methods of exported generic types, exported generic types, and exported
// constraint interfaces (type sets), which only generics can use.
func genericFindings(fset *token.FileSet, files []*ast.File) []finding {
	var out []finding
	add := func(n ast.Node, name, what string) {
		out = append(out, finding{fset.Position(n.Pos()), name, what})
	}
	for _, f := range files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					if d.Name.IsExported() && d.Type.TypeParams.NumFields() > 0 {
						add(d, d.Name.Name, "exported generic function")
					}
					continue
				}
				base, generic := receiverBase(d.Recv.List[0].Type)
				if generic && (d.Name.IsExported() || ast.IsExported(base)) {
					add(d, base+"."+d.Name.Name, "method of a generic type")
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok || !ts.Name.IsExported() {
						continue
					}
					if ts.TypeParams.NumFields() > 0 {
						add(ts, ts.Name.Name, "exported generic type")
					}
					if it, ok := ts.Type.(*ast.InterfaceType); ok && isConstraint(it) {
						add(ts, ts.Name.Name, "exported constraint interface (a type set only generics can use)")
					}
				}
			}
		}
	}
	return out
}

// receiverBase returns the name of a method's receiver type and whether it
// has type parameters.
func receiverBase(x ast.Expr) (string, bool) {
	for {
		switch e := x.(type) {
		case *ast.StarExpr:
			x = e.X
		case *ast.ParenExpr:
			x = e.X
		case *ast.IndexExpr:
			name, _ := receiverBase(e.X)
			return name, true
		case *ast.IndexListExpr:
			name, _ := receiverBase(e.X)
			return name, true
		case *ast.Ident:
			return e.Name, false
		default:
			return fmt.Sprintf("%T", x), false
		}
	}
}

// nonInterfaceTypes are the predeclared names that, embedded in an
// interface, make it a constraint.
var nonInterfaceTypes = map[string]bool{
	"comparable": true, "bool": true, "string": true, "byte": true, "rune": true, "uintptr": true,
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"float32": true, "float64": true, "complex64": true, "complex128": true,
}

func isConstraint(it *ast.InterfaceType) bool {
	for _, field := range it.Methods.List {
		if len(field.Names) > 0 {
			continue // a method
		}
		switch e := field.Type.(type) {
		case *ast.BinaryExpr, *ast.UnaryExpr: // A | B, ~T
			return true
		case *ast.Ident:
			if nonInterfaceTypes[e.Name] {
				return true
			}
		case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.StructType, *ast.StarExpr:
			return true
		}
	}
	return false
}

// An iface is an exported interface type declared in a package.
type iface struct {
	pkg  string
	name string
	pos  token.Position
}

// interfacesOf lists the exported interface types the packages declare.
// Only interface literals are seen: a type defined from another package's
// interface (type X other.I) would need type checking.
func interfacesOf(fset *token.FileSet, pkgs []pkg) []iface {
	var out []iface
	for _, p := range pkgs {
		for _, f := range p.files {
			for _, decl := range f.Decls {
				d, ok := decl.(*ast.GenDecl)
				if !ok || d.Tok != token.TYPE {
					continue
				}
				for _, spec := range d.Specs {
					ts := spec.(*ast.TypeSpec)
					if _, ok := ts.Type.(*ast.InterfaceType); ok && ts.Name.IsExported() {
						out = append(out, iface{p.path, ts.Name.Name, fset.Position(ts.Pos())})
					}
				}
			}
		}
	}
	return out
}

// duplicateInterfaceFindings reports each exported interface whose name
// another of the packages' interfaces has too.
func duplicateInterfaceFindings(ifaces []iface) []finding {
	byName := map[string][]iface{}
	for _, i := range ifaces {
		byName[i.name] = append(byName[i.name], i)
	}
	var out []finding
	for _, i := range ifaces {
		same := byName[i.name]
		if len(same) < 2 {
			continue
		}
		var others []string
		for _, o := range same {
			if o.pos != i.pos {
				others = append(others, fmt.Sprintf("%s.%s (%s:%d)", o.pkg, o.name, o.pos.Filename, o.pos.Line))
			}
		}
		out = append(out, finding{i.pos, i.name, "exported interface name also used by " +
			strings.Join(others, ", ") + "; the notebook interpreter cannot import both"})
	}
	sortFindings(out)
	return out
}

// foreignClashFindings reports descent's exported interfaces named like an
// exported interface of the foreign packages.
func foreignClashFindings(ours, foreign []iface) []finding {
	byName := map[string]iface{}
	for _, f := range foreign {
		byName[f.name] = f
	}
	var out []finding
	for _, i := range ours {
		if f, ok := byName[i.name]; ok {
			out = append(out, finding{i.pos, i.name, fmt.Sprintf(
				"exported interface has the name of interface %s.%s; a notebook importing both breaks", f.pkg, f.name)})
		}
	}
	sortFindings(out)
	return out
}

// notebookFindings reports code cells of a notebook (JSON) that have outputs
// or an execution count; the identifier named is the cell's id.
func notebookFindings(file string, data []byte) []finding {
	fail := func(line int, name, what string) []finding {
		return []finding{{token.Position{Filename: file, Line: line}, name, what}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fail(1, "notebook", "not a JSON object")
	}
	var out []finding
	sawCells := false
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return fail(lineAt(data, dec.InputOffset()), "notebook", "invalid JSON: "+err.Error())
		}
		if key, _ := keyTok.(string); key != "cells" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(lineAt(data, dec.InputOffset()), "notebook", "invalid JSON: "+err.Error())
			}
			continue
		}
		sawCells = true
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return fail(lineAt(data, dec.InputOffset()), "cells", "not a JSON array")
		}
		for n := 1; dec.More(); n++ {
			line := lineAt(data, dec.InputOffset())
			var cell struct {
				ID             string            `json:"id"`
				CellType       string            `json:"cell_type"`
				ExecutionCount json.RawMessage   `json:"execution_count"`
				Outputs        []json.RawMessage `json:"outputs"`
			}
			if err := dec.Decode(&cell); err != nil {
				return append(out, fail(line, fmt.Sprintf("cell %d", n), "invalid JSON: "+err.Error())...)
			}
			if cell.CellType != "code" {
				continue
			}
			name := fmt.Sprintf("cell %d", n)
			if cell.ID != "" {
				name += " (id " + cell.ID + ")"
			}
			pos := token.Position{Filename: file, Line: line}
			if len(cell.Outputs) > 0 {
				out = append(out, finding{pos, name, fmt.Sprintf(
					"has %d outputs: clear them (/usr/bin/python3 examples/notebooks/check.py --clear %s)", len(cell.Outputs), file)})
			}
			if c := strings.TrimSpace(string(cell.ExecutionCount)); c != "" && c != "null" {
				out = append(out, finding{pos, name, fmt.Sprintf(
					"has execution count %s: clear it (/usr/bin/python3 examples/notebooks/check.py --clear %s)", c, file)})
			}
		}
		if _, err := dec.Token(); err != nil {
			return append(out, fail(lineAt(data, dec.InputOffset()), "cells", "invalid JSON: "+err.Error())...)
		}
	}
	if !sawCells {
		return fail(1, "notebook", `no "cells"`)
	}
	return out
}

// lineAt returns the line of the first byte at or after off that is not
// white space or a comma: the start of the next JSON value.
func lineAt(data []byte, off int64) int {
	i := int(off)
	for i < len(data) && strings.IndexByte(" \t\r\n,", data[i]) >= 0 {
		i++
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

func sortFindings(found []finding) {
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i].pos, found[j].pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Line < b.Line
	})
}

// ---------------------------------------------------------------------------
// Loading the module's source.

func goOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("apicheck needs the go command in PATH: %v", err)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	gomod := goOutput(t, ".", "env", "GOMOD")
	if gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD = %q: not inside descent's module", gomod)
	}
	return filepath.Dir(gomod)
}

// modulePackages parses every package of the module but internal ones,
// package main, testdata and nested modules. File names are relative to the
// module root.
func modulePackages(t *testing.T) (*token.FileSet, []pkg) {
	t.Helper()
	root := moduleRoot(t)
	modPath := strings.Fields(goOutput(t, root, "list", "-m"))[0]
	fset := token.NewFileSet()
	var pkgs []pkg
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if path != root {
			name := d.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "internal" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module
			}
		}
		importPath := modPath
		if rel != "." {
			importPath += "/" + rel
		}
		if p, ok := parsePackage(t, fset, path, rel, importPath); ok {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) == 0 {
		t.Fatalf("found no package under %s", root)
	}
	return fset, pkgs
}

// parsePackage parses the non-test Go files of dir that the default build
// context selects; file names are shown as relDir/name. A package main or a
// directory without such files gives false.
func parsePackage(t *testing.T, fset *token.FileSet, dir, relDir, importPath string) (pkg, bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := pkg{path: importPath}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, name); err != nil || !ok {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, filepath.ToSlash(filepath.Join(relDir, name)), src, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if f.Name.Name == "main" {
			return pkg{}, false
		}
		p.files = append(p.files, f)
	}
	return p, len(p.files) > 0
}

// ---------------------------------------------------------------------------
// The checkers catch what they should, and only that.

func parseSources(t *testing.T, fset *token.FileSet, srcs map[string]string) []pkg {
	t.Helper()
	var names []string
	for name := range srcs {
		names = append(names, name)
	}
	sort.Strings(names)
	var pkgs []pkg
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, srcs[name], 0)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, pkg{path: "example.com/" + f.Name.Name, files: []*ast.File{f}})
	}
	return pkgs
}

func names(found []finding) []string {
	var out []string
	for _, f := range found {
		out = append(out, fmt.Sprintf("%s:%d:%s", f.pos.Filename, f.pos.Line, f.name))
	}
	return out
}

func sameStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func TestGenericFindingsCatchViolations(t *testing.T) {
	const src = `package p

func Map[T any](x []T) []T { return x }
func mapped[T any](x T) T  { return x }
func Plain(x int) int      { return x }

type Stack[T any] struct{ items []T }

func (s *Stack[T]) Push(x T) { s.items = append(s.items, x) }
func (s *Stack[T]) len() int { return len(s.items) }

type box[K comparable, V any] struct{}

func (b box[K, V]) Get() {}
func (b box[K, V]) get() {}

type Number interface{ ~float32 | ~float64 }
type Ints interface{ int }
type Keys interface{ comparable }
type Shower interface{ Show() string }
type number interface{ ~int }
type Concrete = Stack[int]
type Matrix struct{ data []float64 }

func (m *Matrix) At(i int) float64 { return m.data[i] }
`
	fset := token.NewFileSet()
	pkgs := parseSources(t, fset, map[string]string{"p.go": src})
	sameStrings(t, "findings", names(genericFindings(fset, pkgs[0].files)), []string{
		"p.go:3:Map",
		"p.go:7:Stack",
		"p.go:9:Stack.Push",
		"p.go:10:Stack.len",
		"p.go:14:box.Get",
		"p.go:17:Number",
		"p.go:18:Ints",
		"p.go:19:Keys",
	})
}

func TestInterfaceFindingsCatchClashes(t *testing.T) {
	fset := token.NewFileSet()
	pkgs := parseSources(t, fset, map[string]string{
		"a.go": "package a\n\ntype Model interface{ Forward() }\ntype Solver interface{ Step() }\ntype unique interface{}\n",
		"b.go": "package b\n\ntype Trainer interface{ Fit() }\n\ntype Model interface{ Other() }\n",
		"c.go": "package c\n\ntype Callback func()\ntype Value struct{}\n",
	})
	ours := interfacesOf(fset, pkgs)
	sameStrings(t, "duplicates", names(duplicateInterfaceFindings(ours)), []string{
		"a.go:3:Model",
		"b.go:5:Model",
	})
	gorgonia := parseSources(t, fset, map[string]string{
		"g.go": "package gorgonia\n\ntype Solver interface{ Step() }\ntype Value interface{}\ntype Model struct{}\n",
	})
	sameStrings(t, "foreign clashes", names(foreignClashFindings(ours, interfacesOf(fset, gorgonia))), []string{
		"a.go:4:Solver",
	})
}

func TestNotebookFindingsCatchOutputs(t *testing.T) {
	const dirty = `{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {},
   "source": ["# Title"]
  },
  {
   "cell_type": "code",
   "execution_count": null,
   "id": "clean",
   "metadata": {},
   "outputs": [],
   "source": ["x := 1"]
  },
  {
   "cell_type": "code",
   "execution_count": 3,
   "id": "ran",
   "metadata": {},
   "outputs": [{"name": "stdout", "output_type": "stream", "text": ["1\n"]}],
   "source": ["fmt.Println(x)"]
  }
 ],
 "metadata": {},
 "nbformat": 4,
 "nbformat_minor": 5
}
`
	sameStrings(t, "dirty notebook", names(notebookFindings("nb.ipynb", []byte(dirty))), []string{
		"nb.ipynb:16:cell 3 (id ran)",
		"nb.ipynb:16:cell 3 (id ran)",
	})
	clean := strings.Replace(strings.Replace(dirty, `"execution_count": 3`, `"execution_count": null`, 1),
		`[{"name": "stdout", "output_type": "stream", "text": ["1\n"]}]`, `[]`, 1)
	sameStrings(t, "clean notebook", names(notebookFindings("nb.ipynb", []byte(clean))), nil)
	if found := notebookFindings("bad.ipynb", []byte(`{"cells": [ {"cell_type": `)); len(found) != 1 {
		t.Errorf("broken JSON: got %v, want one finding", found)
	}
	if found := notebookFindings("empty.ipynb", []byte(`{"metadata": {}}`)); len(found) != 1 {
		t.Errorf("no cells: got %v, want one finding", found)
	}
}
