// Command gqlgen regenerates the GraphQL executor (graph/generated.go and
// friends) from gqlgen.yml: gqlgen's own generator
// (github.com/99designs/gqlgen/api), plus the gateway's own steps, which
// make gqlgen write large warm answers with less work (internal/marshal has
// the why and the measurements):
//
//   - lists: every list marshaller asks marshal.List whether its elements
//     may be marshalled one after another instead of a goroutine each; the
//     table it needs (which fields can wait for I/O) is written from
//     gqlgen's own view of the schema to graph/concurrency_gen.go;
//   - direct fields: a string or boolean field read from a struct field or
//     a method is taken as it is, without gqlgen's field machinery; an
//     object makes its deferred group only when something in it is deferred;
//     lists register their batch parents, and batch resolvers find them and
//     the group's one result, without a cost per parent;
//   - plain types: for every object type whose fields are all plain values
//     (no resolver, directive, argument or error), a writer that writes the
//     JSON of the selected fields straight away is generated into
//     graph/plain_gen.go, and gqlgen's marshallers for the type and for
//     lists of it call it first;
//   - rich types: an object type whose fields are plain values, batch
//     resolvers or synchronous fields is marshalled without gqlgen's
//     per-object field set when at most one field that can wait is
//     selected: plain fields written straight away, the others resolved
//     through gqlgen's own field functions.
//
// The steps rewrite gqlgen's output by name and shape; when gqlgen's output
// changes shape they stop with an error rather than skip. Run through
// go generate ./graph; CI fails when the result differs from what is
// committed.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gqlgen:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if err != nil {
		return err
	}
	p := &steps{}
	if err := api.Generate(cfg, api.AddPlugin(p)); err != nil {
		return err
	}
	src, err := os.ReadFile(cfg.Exec.Filename)
	if err != nil {
		return err
	}
	if src, err = rewriteLists(src); err != nil {
		return err
	}
	if src, err = rewriteBatchParents(src); err != nil {
		return err
	}
	if src, err = rewriteDeferred(src); err != nil {
		return err
	}
	if src, err = rewriteDirectFields(src, p.direct); err != nil {
		return err
	}
	if src, err = hookPlainTypes(src, p.plain, p.rich); err != nil {
		return err
	}
	if err := os.WriteFile(cfg.Exec.Filename, src, 0o644); err != nil {
		return err
	}
	if cfg.Federation.IsDefined() {
		return markFederationLoops(cfg.Federation.Filename)
	}
	return nil
}

// federationLoopsIgnore tells staticcheck, which the test command runs, that
// the federation plugin's entity loops stop on their first pass on purpose
// (SA4004): the code is gqlgen's, regenerated on every run, so the note goes
// in by this step rather than by hand.
const federationLoopsIgnore = "//lint:file-ignore SA4004 gqlgen's federation plugin writes loops that return on their first pass\n"

// markFederationLoops puts federationLoopsIgnore after the file's
// "Code generated" line.
func markFederationLoops(filename string) error {
	src, err := os.ReadFile(filename)
	if err != nil {
		return err
	}
	i := bytes.IndexByte(src, '\n')
	if i < 0 || !bytes.HasPrefix(src, []byte("// Code generated")) {
		return fmt.Errorf("%s: no \"Code generated\" first line to put the lint note under", filename)
	}
	out := append(append(append([]byte{}, src[:i+1]...), federationLoopsIgnore...), src[i+1:]...)
	return os.WriteFile(filename, out, 0o644)
}

// Files written beside the executor.
const (
	tableFile = "concurrency_gen.go"
	plainFile = "plain_gen.go"
)

// steps is the gqlgen plugin that writes the two files. It runs before gqlgen
// writes the executor, which refers to them, and keeps what the rewrite of
// the executor needs to know.
type steps struct {
	plain  []*plainType
	rich   []*richType
	direct []directField
}

func (*steps) Name() string { return "orgraph-marshal" }

// GenerateCode writes the table and the plain writers.
func (s *steps) GenerateCode(data *codegen.Data) error {
	dir := filepath.Dir(data.Config.Exec.Filename)
	pkg := data.Config.Exec.Package
	src, err := table(pkg, data.Objects)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, tableFile), src, 0o644); err != nil {
		return err
	}
	s.plain = plainTypes(data.Objects)
	s.rich = richTypes(data.Objects, s.plain)
	s.direct = directFields(data.Objects)
	if src, err = plainWriters(pkg, s.plain, s.rich); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, plainFile), src, 0o644)
}
