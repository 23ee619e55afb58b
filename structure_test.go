package caddyrooms_test

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caddyrooms/caddyrooms/hub"
)

// maxFuncLines is the longest a non-test function may be, from its func
// line to its closing brace.
const maxFuncLines = 70

// goFiles parses every non-test Go file of the module, by path.
func goFiles(t *testing.T) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	files := make(map[string]*ast.File)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata"):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		files[path] = f
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found %d Go files: not the module's tree", len(files))
	}
	return fset, files
}

// TestFunctionLength: no non-test function is over maxFuncLines lines.
func TestFunctionLength(t *testing.T) {
	fset, files := goFiles(t)
	for path, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if lines > maxFuncLines {
				t.Errorf("%s: %s is %d lines long, over %d", path, fn.Name.Name, lines, maxFuncLines)
			}
		}
	}
}

// TestLibraryImports: no package of the module but the root and the Caddy
// build (cmd/caddy) imports anything of Caddy, with all it imports; the
// hub imports neither the root nor a WebSocket library, as
// docs/architecture.md says.
func TestLibraryImports(t *testing.T) {
	const root = "github.com/caddyrooms/caddyrooms"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := make(map[string]bool)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, deps := fields[0], fields[1:]
		seen[pkg] = true
		if pkg == root || pkg == root+"/cmd/caddy" {
			continue
		}
		for _, dep := range deps {
			if strings.HasPrefix(dep, "github.com/caddyserver/") ||
				(pkg == root+"/hub" && (dep == root || strings.HasPrefix(dep, "github.com/gorilla/"))) {
				t.Errorf("%s imports %s", pkg, dep)
				break // one is enough to say
			}
		}
	}
	for _, lib := range []string{"/hub", "/internal/wstest", "/internal/testcaddy", "/cmd/roomsbench"} {
		if !seen[root+lib] {
			t.Errorf("go list did not list %s%s", root, lib)
		}
	}
}

// TestErrorCodesListed: every error code constant of the hub is in
// hub.ErrorCodes, so that metrics count it by name rather than as "other".
func TestErrorCodesListed(t *testing.T) {
	fset := token.NewFileSet()
	var codes []string
	err := filepath.WalkDir("hub", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		codes = append(codes, codeConstants(f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) < 10 {
		t.Fatalf("found %d error codes in hub/: %v", len(codes), codes)
	}
	for _, code := range codes {
		if !slices.Contains(hub.ErrorCodes, code) {
			t.Errorf("hub's error code %q is not in hub.ErrorCodes", code)
		}
	}
}

// codeConstants are the values of f's string constants named Code*.
func codeConstants(f *ast.File) []string {
	var codes []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					codes = append(codes, constant.StringVal(constant.MakeFromLiteral(lit.Value, lit.Kind, 0)))
				}
			}
		}
	}
	return codes
}
