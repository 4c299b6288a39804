package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/loadgen"
	"github.com/orgraph/orgraph/internal/server"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// malformedRequests are bodies and documents a careless or hostile client
// sends: broken JSON, wrong JSON types, broken GraphQL, invalid arguments.
var malformedRequests = []string{
	``, ` `, `{`, `}`, `[]`, `null`, `0`, `"x"`, `{}`, `{"query":1}`, `{"query":null}`, `{"query":""}`,
	`{"query":"{ __typename }","variables":"x"}`, `{"query":"{ __typename }","variables":[]}`,
	`{"query":"{ __typename }","operationName":"Nope"}`, `{"query":"{ __typename }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"x"}}}`,
	`[{"query":"{ __typename }"}]`, `{"query":"{ __typename }"}{"query":"{ __typename }"}`,
	"{\"query\":\"\xff\xfe\"}", "\x00", `{"query":"{ __typename }"`,
	`{ __typename }`, `query {`, `{ organization }`, `{ organization(id: "") { id } }`,
	`{ organization(id: 1) { id } }`, `{ nope }`, `mutation { x }`, `subscription { x }`,
	`query A { __typename } query A { __typename }`, `query A { __typename } query B { __typename }`,
	`fragment F on Query { ...F } { ...F }`, `{ ...on Nope { id } }`,
	`query($id: ID!) { organization(id: $id) { id } }`,
	`query($id: ID!, $id: ID!) { organization(id: $id) { id } }`,
	`{ organizations(first: 0) { totalCount } }`, `{ organizations(first: 101) { totalCount } }`,
	`{ organizations(first: -1) { totalCount } }`, `{ organizations(first: 2147483648) { totalCount } }`,
	`{ organizations(first: 2, after: "not-a-cursor") { edges { cursor } } }`,
	`{ organizations(first: 2, after: "") { edges { cursor } } }`,
	`{ organizationByName(name: "` + strings.Repeat("n", 51) + `") { id } }`,
	`{ organizationByName(name: "a\u0000b") { id } }`, `{ organizationByName(name: "../..") { id } }`,
	`{ user(id: "auth0|6410784d38b3e02b77fdd660/../x?y#z") { id email } }`, `{ user(id: "") { id email } }`,
	`{ groups(partitionGlobalId: "not-a-guid", organizationName: "hogwarts") { name } }`,
	`{ groups(partitionGlobalId: "3fa85f64-5717-4562-b3fc-2c963f66afa6") { name } }`,
	`{ group(partitionGlobalId: "3fa85f64-5717-4562-b3fc-2c963f66afa6", groupId: "x", organizationName: "hogwarts") { name } }`,
	`{ organization(id: "org_Hg7bQ2mN4pLk9TzA") { members(first: 1, after: "djE6bzowOg") { nodes { id } } } }`,
	`{ organization(id: "org_Hg7bQ2mN4pLk9TzA") { name @skip(if: true) id @include(if: "x") } }`,
	`{ __schema { queryType { name } types { name fields { name } } } }`,
	`{ __type(name: "Organization") { fields { name type { name } } } }`,
	`{ a: __typename b: __typename c: __typename }`,
	`{ organizations(first: 1) { edges { node { id ` + strings.Repeat("... on Organization { id ", 30) + strings.Repeat("}", 30) + ` } } } }`,
	`# only a comment`, `{ "a" }`, `{ organization(id: "org_Hg7bQ2mN4pLk9TzA") { id } `,
}

// FuzzGraphQLEndpoint posts fuzzed input to /graphql of one gateway over the
// simulator, as the raw request body and as the query of a JSON request. The
// gateway never answers 5xx, always answers JSON, and every error in the
// answer carries extensions.code (README: "Every error carries
// extensions.code").
func FuzzGraphQLEndpoint(f *testing.F) {
	for _, q := range testutil.ReadmeQueries(f) {
		f.Add(q)
	}
	f.Add(server.ExampleQuery)
	for _, q := range loadgen.Queries() {
		f.Add(q.Document)
		if b, err := q.Body(); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range malformedRequests {
		f.Add(s)
	}

	gw, _ := testutil.StartGatewayOnSimulator(f, upstreamsim.Config{}, nil)
	client := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, input string) {
		wrapped, err := json.Marshal(map[string]string{"query": input})
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range [][]byte{[]byte(input), wrapped} {
			checkGraphQLAnswer(t, client, gw.URL+"/graphql", body)
		}
	})
}

func checkGraphQLAnswer(t *testing.T, client *http.Client, url string, body []byte) {
	t.Helper()
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %q: %v", body, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("POST %q: reading the answer: %v", body, err)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("POST %q: status %d: %s", body, resp.StatusCode, raw)
	}
	var answer struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		t.Fatalf("POST %q: status %d, answer is not a JSON object (%v): %s", body, resp.StatusCode, err, raw)
	}
	if len(answer.Errors) == 0 && (len(answer.Data) == 0 || string(answer.Data) == "null") {
		t.Fatalf("POST %q: status %d, neither data nor errors: %s", body, resp.StatusCode, raw)
	}
	for i, e := range answer.Errors {
		if code, _ := e.Extensions["code"].(string); code == "" {
			t.Fatalf("POST %q: status %d, error %d has no extensions.code: %s", body, resp.StatusCode, i, raw)
		}
	}
}

// TestUndecodableBodyErrorHasCode: a POST whose body is not a JSON request
// object is answered with an error that carries extensions.code, like every
// other error (README, "Errors"), and without a 5xx.
func TestUndecodableBodyErrorHasCode(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	for _, body := range []string{`{ organization(id: "org_Hg7bQ2mN4pLk9TzA") { id } }`, `{"query":1}`, `{"query":"{ __typename }","variables":"x"}`, `[]`} {
		resp := gw.Post(t, "application/json", []byte(body))
		if resp.Status >= 500 {
			t.Errorf("%s: status %d", body, resp.Status)
		}
		for _, e := range resp.Errors {
			if e.Code() == "" {
				t.Errorf("%s: status %d, error without extensions.code: %s", body, resp.Status, resp.Raw)
			}
		}
	}
}
