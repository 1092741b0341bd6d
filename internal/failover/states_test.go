package failover

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every constant of type State declared in this package is in States:
// a state added to the machine appears in the metrics by itself only if
// it is listed there.
func TestStatesListsEveryState(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var declared []State
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				id, ok := vs.Type.(*ast.Ident)
				if !ok || id.Name != "State" {
					continue
				}
				for i, n := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("State %s is not a string literal; the test reads only those", n.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					declared = append(declared, State(v))
				}
			}
		}
	}
	if len(declared) < 2 {
		t.Fatalf("found %d State constants; the test no longer reads the declarations", len(declared))
	}
	for _, v := range declared {
		if !slices.Contains(States, v) {
			t.Errorf("State %q is declared but not in failover.States", v)
		}
	}
	if len(States) != len(declared) {
		t.Errorf("States has %d entries, the package declares %d State constants", len(States), len(declared))
	}
}
