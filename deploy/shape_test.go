package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// layers ranks the engine's packages: a package imports only packages of a lower rank (doc.go
// draws the same picture), so each can be read knowing only what is below it.
var layers = map[string]int{
	"failure": 0, "awsapi": 0, "verdict": 0, "edge": 0,
	"settings": 1, "state": 2, "report": 3, "step": 4, "step/steptest": 4,
	"tasks": 5, "taskdef": 5,
	"predeploy": 6, "ecsctl": 6, "codedeployctl": 6, "cdn": 6,
	"":    7, // deploy itself: the engine
	"job": 8,
}

// The engine's shape stays one a person can read a package at a time: imports run down the
// layers; no package over 2,500 lines; no function over 80 lines and at most 3 over 60; the
// structs that hold the engine's working state at most 15 fields (issue #33's bounds).
func TestEngineShape(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	const root = "github.com/deploystep/deploystep/deploy"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], root), "/")
		rank, ok := layers[pkg]
		if !ok {
			t.Errorf("package %s has no layer: add it to layers and doc.go", fields[0])
			continue
		}
		for _, imp := range fields[1:] {
			if dep, ok := strings.CutPrefix(imp, root); ok {
				dep = strings.TrimPrefix(dep, "/")
				if layers[dep] >= rank {
					t.Errorf("%s (layer %d) imports %s (layer %d): imports run down the layers", fields[0], rank, imp, layers[dep])
				}
			}
		}
	}

	var long []string
	fset := token.NewFileSet()
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok {
				n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
				if n > 80 {
					t.Errorf("%s: %s is %d lines (at most 80)", path, fn.Name.Name, n)
				}
				if n > 60 {
					long = append(long, fn.Name.Name)
				}
			}
			if gen, ok := decl.(*ast.GenDecl); ok {
				for _, spec := range gen.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					st, isStruct := ts.Type.(*ast.StructType)
					if !isStruct || !slices.Contains([]string{"Engine", "Host", "ServiceState"}, ts.Name.Name) {
						continue
					}
					n := 0
					for _, f := range st.Fields.List {
						n += max(len(f.Names), 1)
					}
					if n > 15 {
						t.Errorf("%s: %s has %d fields (at most 15)", path, ts.Name.Name, n)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(long) > 3 {
		t.Errorf("%d functions over 60 lines (at most 3): %v", len(long), long)
	}

	lines := map[string]int{}
	filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			b, _ := os.ReadFile(path)
			lines[filepath.Dir(path)] += strings.Count(string(b), "\n")
		}
		return err
	})
	for dir, n := range lines {
		if n > 2500 {
			t.Errorf("package %s has %d lines (at most 2,500)", dir, n)
		}
	}
	if len(lines) < len(layers)-1 {
		t.Errorf("read %d packages' lines; %d are layered", len(lines), len(layers))
	}
}
