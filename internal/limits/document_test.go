package limits_test

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/orgraph/orgraph/internal/limits"
)

// TestDocumentLimits: a document over the token or field limit, or holding
// an overlong name, is refused before it is parsed by gqlgen, naming the
// limit; fields count as written, fragment spreads and inline fragments
// included, a fragment once however often it is spread.
func TestDocumentLimits(t *testing.T) {
	ext := limits.New(limits.Config{MaxTokens: 40, MaxFields: 6})
	tests := []struct {
		name, query, limit string
		actual             int
	}{
		{"within both", "{ a b c d e f }", "", 0},
		{"tokens", "{ " + strings.Repeat("a(x: 1) ", 10) + "}", "tokens", 41},
		{"comments are tokens", "{ a }" + strings.Repeat("\n# c", 40), "tokens", 41},
		{"fields", "{ a b c d e f g }", "fields", 7},
		{"nested fields", "{ a { b { c } } d { e { f { g } } } }", "fields", 7},
		{"spreads and inline fragments", "{ ...F ...F ... on Query { a } } fragment F on Query { b c d }", "fields", 7},
		{"a fragment counts once", "{ ...F } fragment F on Query { a b c d e }", "", 0},
		{"a long name", "{ " + strings.Repeat("x", limits.MaxNameLength+1) + " }", "nameLength", limits.MaxNameLength + 1},
		{"a long string is no name", `{ a(x: "` + strings.Repeat("x", 10000) + `") }`, "", 0},
		{"a syntax error is gqlgen's to report", "{ a b c d e f g", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ext.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: tt.query})
			if tt.limit == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("not refused")
			}
			l, _ := err.Extensions["limit"].(map[string]any)
			if err.Extensions["code"] != "BAD_USER_INPUT" || l["name"] != tt.limit || l["actual"] != tt.actual {
				t.Fatalf("%v %v, want BAD_USER_INPUT and limit %s, actual %d", err.Message, err.Extensions, tt.limit, tt.actual)
			}
			if len(err.Message) > 200 {
				t.Fatalf("a %d-byte message", len(err.Message))
			}
		})
	}
}

// TestDocumentLimitsStopWithTheContext: a request whose context has ended
// is not lexed or parsed at all.
func TestDocumentLimitsStopWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := limits.New(limits.Config{}).MutateOperationParameters(ctx, &graphql.RawParams{Query: "{ a }"})
	if err == nil || err.Extensions["code"] != "UPSTREAM_UNAVAILABLE" {
		t.Fatalf("%v, want a refusal", err)
	}
}

// TestDocumentLimitsSkipParsedDocuments: a document in gqlgen's query cache
// passed when it was new and is not lexed again (a warm query pays
// nothing); the test shows it by a limit the cached document is over.
func TestDocumentLimitsSkipParsedDocuments(t *testing.T) {
	ext := limits.New(limits.Config{MaxTokens: 2})
	cache := lru.New[*ast.QueryDocument](10)
	ext.UseQueryCache(cache)
	const q = "{ a b c }"
	if err := ext.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: q}); err == nil {
		t.Fatal("not refused before it was cached")
	}
	cache.Add(context.Background(), q, &ast.QueryDocument{})
	if err := ext.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: q}); err != nil {
		t.Fatalf("cached, refused: %v", err)
	}
}

// graphiQLIntrospection is the introspection query the IDE's GraphiQL
// (3.9.0, internal/ide/assets) sends, with both options it may turn on:
// the schema's description and deprecated input values.
func graphiQLIntrospection() string {
	typeRef := "kind name"
	for range 9 {
		typeRef = "kind name ofType { " + typeRef + " }"
	}
	return `query IntrospectionQuery {
  __schema {
    description
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type { ` + typeRef + ` }`
}

// TestGraphiQLIntrospectionPasses: the IDE's docs stay within the default
// document and operation limits (the browser test runs it for real where a
// Chromium is installed).
func TestGraphiQLIntrospectionPasses(t *testing.T) {
	ext := limits.New(limits.Config{})
	q := graphiQLIntrospection()
	if err := ext.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: q}); err != nil {
		t.Fatalf("refused: %v", err)
	}
	if err := ext.MutateOperationContext(context.Background(), operation(t, q, nil)); err != nil {
		t.Fatalf("refused: %v", err)
	}
}
