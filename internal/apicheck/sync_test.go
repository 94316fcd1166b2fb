package apicheck

import (
	"go/importer"
	"go/token"
	"go/types"
	"sort"
	"strings"
	"testing"
)

// TestNoSyncTypesInExportedStructs guards a limit of the notebook kernel:
// it converts every type an exported struct holds, unexported fields
// included, and a sync or sync/atomic type anywhere down those fields made
// the whole import of the package fail ("Converter.Type(): unsupported
// types.Type: *types.TypeParam"), as trainers.Console's sync.Mutex and a
// *run (with a sync.WaitGroup) in trainers.Event once did.
func TestNoSyncTypesInExportedStructs(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the notebook packages from source (slow under -race)")
	}
	imp := importer.ForCompiler(token.NewFileSet(), "source", nil)
	var found []string
	for _, path := range []string{"datasets", "graph", "models", "plot", "trainers"} {
		pkg, err := imp.Import("github.com/descent-go/descent/" + path)
		if err != nil {
			t.Fatalf("type-checking %s: %v", path, err)
		}
		for _, name := range pkg.Scope().Names() {
			obj, ok := pkg.Scope().Lookup(name).(*types.TypeName)
			if !ok || !obj.Exported() {
				continue
			}
			found = append(found, syncFields(obj.Type(), path+"."+name, map[types.Type]bool{})...)
		}
	}
	sort.Strings(found)
	for _, f := range found {
		t.Errorf("%s: a notebook cannot import a package whose exported struct holds this (hide it behind an interface{} field, or use a channel as a lock)", f)
	}
}

// syncFields lists the paths, through struct fields, pointers, slices,
// arrays, maps and channels, from t to a type of package sync or
// sync/atomic, following descent's own named types only.
func syncFields(t types.Type, path string, seen map[types.Type]bool) []string {
	if seen[t] {
		return nil
	}
	seen[t] = true
	switch x := t.(type) {
	case *types.Named:
		if p := x.Obj().Pkg(); p != nil {
			switch {
			case p.Path() == "sync" || p.Path() == "sync/atomic":
				return []string{path + " holds " + x.String()}
			case !strings.HasPrefix(p.Path(), "github.com/descent-go/descent"):
				return nil
			}
		}
		return syncFields(x.Underlying(), path, seen)
	case *types.Pointer:
		return syncFields(x.Elem(), path, seen)
	case *types.Slice:
		return syncFields(x.Elem(), path, seen)
	case *types.Array:
		return syncFields(x.Elem(), path, seen)
	case *types.Chan:
		return syncFields(x.Elem(), path, seen)
	case *types.Map:
		return append(syncFields(x.Key(), path, seen), syncFields(x.Elem(), path, seen)...)
	case *types.Struct:
		var out []string
		for i := 0; i < x.NumFields(); i++ {
			out = append(out, syncFields(x.Field(i).Type(), path+"."+x.Field(i).Name(), seen)...)
		}
		return out
	}
	return nil
}
