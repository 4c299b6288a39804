package limits

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/orgraph/orgraph/internal/apperr"
)

// Why documents are bounded before they are validated: gqlparser's
// OverlappingFieldsCanBeMerged rule compares every pair of fields that land
// on one response key, so its work grows with the square of the fields: one
// selection holding the same field 20,000 times (a 220 KB body) took 43 s of
// CPU, and nothing stops it, neither REQUEST_TIMEOUT nor the client leaving.
// Nesting does not help: `a { b … } a { b … } …` compares every pair of the
// a's and, for each, every pair of their b's, so the pairs stay about the
// square of all the fields however they are spread over selections, and
// fragments compare pairwise too. A bound per selection would therefore
// bound nothing the bound on all of them does not; the document's fields are
// counted once, as written (a fragment counts once, however often it is
// spread), which is what validation walks.
//
// The tokens bound the rest of the work, which is linear in the document:
// lexing and parsing, the other rules, and the errors a broken document can
// make. Both are checked before gqlgen parses a document it has not seen: a
// lexing pass that stops at the token limit and looks at the request's
// context as it goes, then, only for a document of more tokens than the
// field limit, a parse (bounded by the tokens) whose fields are counted.
// gqlparser's validation cannot be stopped halfway, so it is bounded
// instead: under the default limits the costliest document that passes
// takes about 11 ms of CPU to check, parse and validate, and the request's
// context is looked at again before anything runs (BenchmarkHostileDocuments
// in internal/server).

// MutateOperationParameters implements graphql.OperationParameterMutator: it
// refuses a document over the token or field limit before gqlgen parses and
// validates it, and stops when the request's context ends. Documents in the
// query cache were checked when they were first seen and are skipped.
func (e *Extension) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if e.queries != nil {
		if _, ok := e.queries.Get(ctx, p.Query); ok {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return stopped()
	}
	src := &ast.Source{Input: p.Query}
	n, long, err := countTokens(ctx, src, e.cfg.MaxTokens)
	switch {
	case err != nil:
		return stopped()
	case e.cfg.MaxTokens > 0 && n > e.cfg.MaxTokens:
		return refusal(apperr.LimitTokens, e.cfg.MaxTokens, n,
			"the document has more than %d tokens, its limit", e.cfg.MaxTokens)
	case long > 0:
		return refusal(apperr.LimitNameLength, MaxNameLength, long,
			"the document holds a name of %d characters, more than the limit of %d", long, MaxNameLength)
	}
	// Every field is a token at least, so a document of no more tokens than
	// the field limit needs no parse to count them.
	if max := e.cfg.MaxFields; max > 0 && n > max {
		doc, err := parser.ParseQuery(src)
		if err != nil {
			return nil // gqlgen reports the syntax error, from the same parse
		}
		if n := countSelections(doc); n > max {
			return refusal(apperr.LimitFields, max, n,
				"the document selects %d fields, more than the limit of %d", n, max)
		}
	}
	if ctx.Err() != nil {
		return stopped()
	}
	return nil
}

// UseQueryCache lets the extension skip the documents gqlgen has already
// parsed and validated (the handler's query cache): they passed when they
// were new.
func (e *Extension) UseQueryCache(c graphql.Cache[*ast.QueryDocument]) { e.queries = c }

// MaxNameLength bounds the names in a document (of fields, arguments,
// fragments, variables, types, directives, operations, enum values). The
// schema's longest is under 40 characters; a long unknown name is otherwise
// compared with every name it could have meant for the error's "Did you
// mean" (130 ms of CPU for a 1 MiB field name).
const MaxNameLength = 256

// tokenCheckEvery is how many tokens the lexing pass reads between looks at
// the context: a fraction of a millisecond.
const tokenCheckEvery = 4096

// countTokens counts the tokens of src, comments included, up to max+1
// (max ≤ 0: all), and stops at the first name longer than MaxNameLength,
// returning its length as long. A lexing error ends the count: the parse
// reports it. It fails only when ctx ends first.
func countTokens(ctx context.Context, src *ast.Source, max int) (n, long int, err error) {
	lex := lexer.New(src)
	for max <= 0 || n <= max {
		tok, err := lex.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			break
		}
		n++
		if tok.Kind == lexer.Name && len(tok.Value) > MaxNameLength {
			return n, len(tok.Value), nil
		}
		if n%tokenCheckEvery == 0 && ctx.Err() != nil {
			return n, 0, ctx.Err()
		}
	}
	return n, 0, nil
}

// countSelections counts the fields, fragment spreads and inline fragments
// of doc as written: each operation and fragment once.
func countSelections(doc *ast.QueryDocument) int {
	n := 0
	var count func(ast.SelectionSet)
	count = func(set ast.SelectionSet) {
		n += len(set)
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				count(sel.SelectionSet)
			case *ast.InlineFragment:
				count(sel.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		count(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		count(f.SelectionSet)
	}
	return n
}

// stopped is the answer when the request's context ends before its
// document is checked; the transport answers the caller (see
// internal/server), so the message only has to be true.
func stopped() *gqlerror.Error {
	return &gqlerror.Error{Message: "the request ended before its document was checked",
		Extensions: map[string]any{"code": string(apperr.UpstreamUnavailable)}}
}
