package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"
)

func TestZipHoldsAnExecutableBootstrap(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "deploystep")
	if err := os.WriteFile(bin, []byte("\x7fELF binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "dist", "fn.zip")
	if err := write(out, bin); err != nil {
		t.Fatal(err)
	}
	z, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if len(z.File) != 1 || z.File[0].Name != "bootstrap" || z.File[0].Mode().Perm()&0o111 == 0 {
		t.Fatalf("zip entries: %v, mode %v", z.File[0].Name, z.File[0].Mode())
	}
	// The same binary gives the same zip.
	again := filepath.Join(dir, "again.zip")
	write(again, bin)
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if string(a) != string(b) {
		t.Fatal("two zips of the same binary differ")
	}
}
