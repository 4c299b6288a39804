package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/orgraph/orgraph/internal/apperr"
	"github.com/orgraph/orgraph/internal/persisted"
)

// jsonPOST is GraphQL over HTTP POST with a JSON body: gqlgen's POST
// transport, except for a body that is not a GraphQL request. gqlgen answers
// that with the decoder's message and the whole body echoed back, and no
// extensions.code; here it is a short message with code BAD_REQUEST and
// HTTP 400, and the body is never repeated.
type jsonPOST struct{}

var _ graphql.Transport = jsonPOST{}

// Supports reports whether r is a POST with a JSON body.
func (jsonPOST) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("Upgrade") != "" {
		return false
	}
	ct := r.Header.Get("Content-Type")
	if ct == "application/json" { // what nearly every client sends: no parsing
		return true
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	return err == nil && mediaType == "application/json"
}

// badRequest is the extensions.code of a request that is not a GraphQL
// request at all (HTTP 400 or 413), as opposed to BAD_USER_INPUT for
// arguments that fail validation.
const badRequest = "BAD_REQUEST"

// bodyTooLarge is the message of HTTP 413.
const bodyTooLarge = "the request body is larger than the limit of 1 MiB"

// graphQLResponseJSON is the GraphQL-over-HTTP media type; a client that
// asks for it gets the spec's status codes (400 for requests that cannot
// run, 200 for those under application/json).
const graphQLResponseJSON = "application/graphql-response+json"

// Do runs one request.
func (jsonPOST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	responseType := negotiate(w, r)
	start := graphql.Now()
	// Variables and extensions are kept raw at first, so that their size
	// is checked before they are decoded into maps (see maxParamBytes).
	var body struct {
		Query         string          `json:"query"`
		OperationName string          `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(&body)
	if err == nil {
		// One JSON value and nothing after it but white space.
		if _, extra := dec.Token(); extra != io.EOF {
			err = errTrailingData
			var tooLarge *http.MaxBytesError
			if errors.As(extra, &tooLarge) {
				err = extra
			}
		}
	}
	params := graphql.RawParams{Query: body.Query, OperationName: body.OperationName}
	if err == nil {
		for _, p := range []struct {
			name string
			raw  []byte
			into *map[string]any
		}{{"variables", body.Variables, &params.Variables}, {"extensions", body.Extensions, &params.Extensions}} {
			if status, msg := decodeParam(p.name, p.raw, p.into); status != 0 {
				refuseRequest(w, status, msg)
				return
			}
		}
		if !hasQuery(&params) {
			err = errNoQuery
		}
	}
	if err != nil {
		status, msg := http.StatusBadRequest, "the request body is not a GraphQL request: "+decodeProblem(err)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			status, msg = http.StatusRequestEntityTooLarge, bodyTooLarge
		}
		refuseRequest(w, status, msg)
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, &params, responseType, false)
}

// queryGET is GraphQL over HTTP GET (?query=&variables=&operationName=&
// extensions=): queries only, so that GET stays safe to cache and retry.
// Unlike gqlgen's GET, every refusal carries extensions.code.
type queryGET struct{}

var _ graphql.Transport = queryGET{}

// Supports reports whether r is a GET.
func (queryGET) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

// Do runs one request.
func (queryGET) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	responseType := negotiate(w, r)
	start := graphql.Now()
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		refuseRequest(w, http.StatusBadRequest, "the query string is not valid URL encoding")
		return
	}
	params := graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for name, into := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
		if status, msg := decodeParam(name, []byte(q.Get(name)), into); status != 0 {
			refuseRequest(w, status, msg)
			return
		}
	}
	if !hasQuery(&params) {
		refuseRequest(w, http.StatusBadRequest, "the request has no query parameter")
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, &params, responseType, true)
}

// negotiate picks the response media type from Accept and sets it:
// application/graphql-response+json when the client asks for it (it then
// gets the GraphQL-over-HTTP status codes), application/json otherwise.
func negotiate(w http.ResponseWriter, r *http.Request) string {
	if strings.Contains(r.Header.Get("Accept"), graphQLResponseJSON) {
		w.Header()["Content-Type"] = graphQLResponseJSONHeader
		return graphQLResponseJSON
	}
	w.Header()["Content-Type"] = jsonHeader
	return "application/json"
}

// The Content-Type values, made once: net/http only reads them.
var (
	jsonHeader                = []string{"application/json"}
	graphQLResponseJSONHeader = []string{graphQLResponseJSON}
)

// execute runs decoded params. A request that cannot run (parse or
// validation errors, variables its types refuse, refused limits or
// persisted operations: the protocol kind of errcode) gets an answer
// without a data entry, as the GraphQL spec asks of errors raised before
// execution, with 400 under graphql-response+json (whose spec ties a
// missing data entry to a 4xx) and 200 under application/json (whose spec
// asks 200 for every well-formed request: legacy clients read the errors
// from the body, and a 4xx makes some of them drop it). One that ran gets
// 200 whatever its field errors. A GET that asks for another operation
// than a query gets 405 (see refuseNonQuery).
func execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams, responseType string, queriesOnly bool) {
	ctx := r.Context()
	params.Headers = r.Header
	rc, opErr := exec.CreateOperationContext(ctx, params)
	if ctx.Err() != nil {
		// REQUEST_TIMEOUT passed, or the client left, while the document
		// was checked, parsed or validated: nothing runs.
		outOfTime(w)
		return
	}
	if opErr != nil {
		requestError := isRequestError(opErr)
		if queriesOnly && requestError && refuseNonQuery(w, params, opErr) {
			return
		}
		opErr = firstErrors(opErr)
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr)
		if !requestError {
			// PERSISTED_QUERY_NOT_FOUND: a step of the automatic persisted
			// queries' handshake, answered as clients expect it (200).
			write(w, resp)
			return
		}
		if responseType == graphQLResponseJSON {
			w.WriteHeader(http.StatusBadRequest)
		}
		writeErrors(w, resp.Errors, resp.Extensions)
		return
	}
	if queriesOnly && rc.Operation != nil && rc.Operation.Operation != ast.Query {
		refuseGETOperation(w)
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if resp == nil { // the deadline passed before execution began
		outOfTime(w)
		return
	}
	incremental := resp.HasNext != nil && *resp.HasNext
	if incremental {
		// Something is deferred. The later parts are asked for without the
		// request's cancellation: the deferred resolvers stop at its
		// deadline by themselves, with errors on their fields, and those
		// errors are the answer's end rather than a stream cut short.
		rest := func() *graphql.Response { return responses(context.WithoutCancel(ctx)) }
		if acceptsMultipart(r) {
			writeParts(w, resp, rest)
			return
		}
		resp = mergeParts(resp, rest)
	}
	if info := requestInfoFrom(ctx); info != nil && !incremental && dataOnly(resp) {
		// The response cache may keep it. A deferred operation is never
		// kept nor shared: its key does not say how the caller asked for it.
		info.storable = true
	}
	if responseType != graphQLResponseJSON && onlyUnauthenticated(resp) {
		// Forward mode: the upstream refused the caller's token and nothing
		// else went wrong, so the answer is the one of a refused token, as
		// before execution, while the body keeps any partial data. (The
		// graphql-response+json spec requires 2xx whenever data is set.)
		w.Header().Set("WWW-Authenticate", `Bearer realm="orgraph", error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
	}
	write(w, resp)
}

// refuseNonQuery answers 405 for a GET whose document failed validation
// and asks for a mutation or subscription: the schema has neither, so
// validation refuses them before the operation type is known, while GET
// must refuse any operation but a query as a method error (the
// GraphQL-over-HTTP spec's 405), whatever else is wrong with it. It
// reparses only a document that already parsed within the executor's
// token limit (a validation failure), so the work is bounded. It reports
// whether it answered.
func refuseNonQuery(w http.ResponseWriter, params *graphql.RawParams, opErr gqlerror.List) bool {
	if len(opErr) == 0 || opErr[0].Extensions["code"] != errcode.ValidationFailed {
		return false
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: params.Query})
	if err != nil {
		return false
	}
	op := doc.Operations.ForName(params.OperationName)
	if op == nil || op.Operation == ast.Query {
		return false
	}
	refuseGETOperation(w)
	return true
}

// refuseGETOperation answers a GET that asks for another operation than a
// query.
func refuseGETOperation(w http.ResponseWriter) {
	w.Header().Set("Allow", "POST")
	refuseRequest(w, http.StatusMethodNotAllowed, "GET runs queries only; send other operations with POST")
}

// maxParamBytes bounds the JSON of variables and of extensions, each.
// Decoding JSON into maps costs about 50 ms of CPU per MiB of small values
// (a body of `[0,0,…]`), while the schema's arguments are all scalars: the
// README's variables are under 100 bytes, and a page of cursors and ids
// stays far below this.
const maxParamBytes = 64 << 10

// decodeParam decodes raw, the JSON object of the request parameter name,
// into into (nothing for an empty raw or null). It returns the status and
// message of a refusal, 0 and "" when there is none.
func decodeParam(name string, raw []byte, into *map[string]any) (int, string) {
	if len(raw) == 0 {
		return 0, ""
	}
	if len(raw) > maxParamBytes {
		return http.StatusRequestEntityTooLarge, name + " are larger than the limit of 64 KiB"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(into) != nil {
		return http.StatusBadRequest, name + " must be a JSON object"
	}
	return 0, ""
}

// hasQuery reports whether p asks for an operation: a query, or the hash
// of a persisted one (extensions.persistedQuery), whose text the persisted
// queries fill in.
func hasQuery(p *graphql.RawParams) bool {
	return p.Query != "" || p.Extensions["persistedQuery"] != nil
}

var (
	errTrailingData = errors.New("data after the JSON object")
	errNoQuery      = errors.New("no query")
)

// maxErrors bounds the errors of a request that cannot run: a broken
// document can make one per token, a response many times its size.
const maxErrors = 100

// firstErrors returns the first maxErrors of list, and one more error that
// says the rest were left out, with the code of the first.
func firstErrors(list gqlerror.List) gqlerror.List {
	if len(list) <= maxErrors {
		return list
	}
	more := &gqlerror.Error{Message: fmt.Sprintf("%d more errors are not shown", len(list)-maxErrors)}
	if code, ok := list[0].Extensions["code"]; ok {
		more.Extensions = map[string]any{"code": code}
	}
	return append(list[:maxErrors:maxErrors], more)
}

// outOfTime answers a request whose context ended before its operation ran
// (REQUEST_TIMEOUT, or the client went away): 503 and UPSTREAM_UNAVAILABLE,
// the code of a request that ran out of time, never a `null` body.
func outOfTime(w http.ResponseWriter) {
	w.WriteHeader(http.StatusServiceUnavailable)
	writeErrors(w, gqlerror.List{{
		Message:    "the request ran out of time before its operation could run",
		Extensions: map[string]any{"code": string(apperr.UpstreamUnavailable)},
	}}, nil)
}

// onlyUnauthenticated reports whether resp has errors and every one is
// UNAUTHENTICATED.
func onlyUnauthenticated(resp *graphql.Response) bool {
	for _, e := range resp.Errors {
		if e.Extensions["code"] != string(apperr.Unauthenticated) {
			return false
		}
	}
	return len(resp.Errors) > 0
}

// decodeProblem says what is wrong with a body in general terms, never
// quoting it.
func decodeProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, errNoQuery):
		return "it has no query"
	case errors.Is(err, errTrailingData):
		return "there is more after the JSON object"
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return "field " + typeErr.Field + " has the wrong type"
		}
		return "it must be a JSON object with a query string"
	case errors.As(err, &syntaxErr):
		return "it is not valid JSON"
	default:
		return "it is not a JSON object with a query string"
	}
}

var dataOpen, dataClose = []byte(`{"data":`), []byte(`}`)

// dataOnly reports whether resp is data and nothing else: no errors, not a
// part of an incremental answer, no extensions. Such an answer is written
// as it is, and the response cache may keep it.
func dataOnly(resp *graphql.Response) bool {
	return len(resp.Errors) == 0 && resp.Label == "" && resp.Path == nil && resp.HasNext == nil &&
		len(resp.Extensions) == 0 && len(resp.Data) > 0
}

// write sends a response. The common answer, data alone, is written as it
// is: the executor's output is already JSON, and encoding/json would only
// check and copy it again (a tenth of the CPU of a 50-organization query).
func write(w http.ResponseWriter, resp *graphql.Response) {
	if dataOnly(resp) {
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(dataOpen) + len(resp.Data) + len(dataClose))}
		_, _ = w.Write(dataOpen)
		_, _ = w.Write(resp.Data)
		_, _ = w.Write(dataClose)
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		// A response that cannot be encoded is a bug; say so without detail.
		b = []byte(`{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	_, _ = w.Write(b)
}

// graphQLRequests answers what gqlgen's transports would refuse without an
// extensions.code: a method other than GET, POST and OPTIONS (405), and a
// POST whose body is not JSON (415).
func graphQLRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodOptions:
		case http.MethodPost:
			if !(jsonPOST{}).Supports(r) {
				refuseRequest(w, http.StatusUnsupportedMediaType, "a POST must carry a JSON body (Content-Type: application/json)")
				return
			}
		default:
			w.Header().Set("Allow", "GET, POST")
			refuseRequest(w, http.StatusMethodNotAllowed, "use GET for queries or POST with a JSON body")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func refuseRequest(w http.ResponseWriter, status int, msg string) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	writeErrors(w, gqlerror.List{{Message: msg, Extensions: map[string]any{"code": badRequest}}}, nil)
}

// writeErrors sends the answer of a request that did not run: errors and
// extensions, and no data entry (graphql.Response always has one, null).
func writeErrors(w http.ResponseWriter, errs gqlerror.List, extensions map[string]any) {
	b, err := json.Marshal(struct {
		Errors     gqlerror.List  `json:"errors"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{errs, extensions})
	if err != nil {
		// An answer that cannot be encoded is a bug; say so without detail.
		b = []byte(`{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	_, _ = w.Write(b)
}

// refusalCodes are the codes of the gateway's own refusals before execution
// (limits, persisted operations): like parse and validation failures, they
// mean the request as a whole did not run. The transport decides this itself
// rather than through gqlgen's error-kind registry, a process-wide map that
// any package may write to (and no two may write at once).
var refusalCodes = map[string]bool{
	string(apperr.BadUserInput): true,
	persisted.NotAllowed:        true,
	persisted.Invalid:           true,
	persisted.TooLarge:          true,
}

// isRequestError reports whether errors raised before execution refuse the
// request (parse, validation, a refusal: no data entry, 400 under
// graphql-response+json) rather than take part in a protocol step such as
// PERSISTED_QUERY_NOT_FOUND, which clients expect as an ordinary 200.
func isRequestError(list gqlerror.List) bool {
	if errcode.GetErrorKind(list) == errcode.KindProtocol {
		return true
	}
	for _, err := range list {
		if code, _ := err.Extensions["code"].(string); refusalCodes[code] {
			return true
		}
	}
	return false
}
