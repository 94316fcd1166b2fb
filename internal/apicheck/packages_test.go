package apicheck

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchitectureListsEveryPackage: docs/architecture.md's package list
// (the code block under "## Packages") names every directory of Go files,
// by its path, or by its name beside its parent's path (bench/cmd/a, b and
// c); the example programs are covered by examples/.
func TestArchitectureListsEveryPackage(t *testing.T) {
	root := moduleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i := strings.Index(text, "## Packages\n```")
	if i < 0 {
		t.Fatal("docs/architecture.md has no package list (## Packages and a code block)")
	}
	block := text[i+len("## Packages\n```"):]
	block = block[:strings.Index(block, "```")]
	mentions := func(s string) bool {
		for _, f := range strings.FieldsFunc(block, func(r rune) bool { return r == ' ' || r == '\n' || r == ',' || r == ';' || r == '(' || r == ')' }) {
			if strings.TrimSuffix(f, "/") == s {
				return true
			}
		}
		return false
	}
	dirs := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			dirs[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for d := range dirs {
		parent := path.Dir(d)
		switch {
		case mentions(d), parent == "examples":
		case mentions(path.Base(d)) && strings.Contains(block, parent+"/"):
		default:
			t.Errorf("docs/architecture.md's package list does not name %s", d)
		}
	}
}
