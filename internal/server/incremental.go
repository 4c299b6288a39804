package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// An operation with @defer is answered in parts: gqlgen's executor gives
// the initial response (deferred fields null, hasNext true), then one
// response per deferred fragment, the last with hasNext false. A client
// that accepts multipart/mixed gets them as they come (incremental
// delivery, the 2022-08-24 format Apollo Client and graphql-http read);
// any other gets them merged into one plain response, as if nothing had
// been deferred. gqlgen's own MultipartMixed transport is not used: it
// echoes a body it cannot decode and logs it, batches parts on a timer
// goroutine, and panics on a part it cannot encode.

// partsBoundary separates the parts; compact JSON never holds "\r\n--".
const partsBoundary = "graphql"

// multipartHeader is the Content-Type of an answer in parts, made once.
var multipartHeader = []string{`multipart/mixed; boundary="` + partsBoundary + `"; deferSpec=20220824`}

// acceptsMultipart reports whether the client reads answers in parts.
func acceptsMultipart(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "multipart/mixed")
}

// incrementalPart is one deferred fragment's result in a later part.
type incrementalPart struct {
	Data       json.RawMessage `json:"data"`
	Path       ast.Path        `json:"path"`
	Label      string          `json:"label,omitempty"`
	Errors     gqlerror.List   `json:"errors,omitempty"`
	Extensions map[string]any  `json:"extensions,omitempty"`
}

// writeParts streams first, then every response rest gives until one says
// hasNext false, each part flushed as soon as it is written, so the client
// shows the initial data while the deferred fields still resolve.
func writeParts(w http.ResponseWriter, first *graphql.Response, rest func() *graphql.Response) {
	w.Header()["Content-Type"] = multipartHeader
	flush := http.NewResponseController(w).Flush
	_, _ = io.WriteString(w, "--"+partsBoundary+"\r\n")
	writePart(w, first, true)
	_ = flush()
	for {
		resp := rest()
		if resp == nil { // cannot happen after hasNext true; end the stream cleanly
			_, _ = io.WriteString(w, "Content-Type: application/json; charset=utf-8\r\n\r\n{\"hasNext\":false}\r\n--"+partsBoundary+"--\r\n")
			_ = flush()
			return
		}
		more := writePart(w, resp, false)
		_ = flush()
		if !more {
			return
		}
	}
}

// writePart writes one part and the boundary after it (the closing one
// when nothing follows), and reports whether more parts follow.
func writePart(w io.Writer, resp *graphql.Response, initial bool) bool {
	more := resp.HasNext != nil && *resp.HasNext
	var body any = resp
	if !initial {
		body = struct {
			Incremental []incrementalPart `json:"incremental"`
			HasNext     bool              `json:"hasNext"`
		}{[]incrementalPart{{Data: resp.Data, Path: resp.Path, Label: resp.Label, Errors: resp.Errors,
			Extensions: resp.Extensions}}, more}
	}
	b, err := json.Marshal(body)
	if err != nil {
		// A part that cannot be encoded is a bug; say so without detail.
		b = []byte(`{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}],"hasNext":false}`)
		more = false
	}
	_, _ = io.WriteString(w, "Content-Type: application/json; charset=utf-8\r\n\r\n")
	_, _ = w.Write(b)
	if more {
		_, _ = io.WriteString(w, "\r\n--"+partsBoundary+"\r\n")
	} else {
		_, _ = io.WriteString(w, "\r\n--"+partsBoundary+"--\r\n")
	}
	return more
}

// mergeParts waits for every part after first and returns the one plain
// response they make: each deferred fragment's data put in at its path
// (outer fragments before the ones nested in them), errors in the order
// they came, no hasNext. A fragment whose place is null (its parent
// failed) is dropped, as the incremental delivery spec drops it.
func mergeParts(first *graphql.Response, rest func() *graphql.Response) *graphql.Response {
	var parts []*graphql.Response
	for {
		resp := rest()
		if resp == nil {
			break
		}
		parts = append(parts, resp)
		if resp.HasNext == nil || !*resp.HasNext {
			break
		}
	}
	slices.SortStableFunc(parts, func(a, b *graphql.Response) int { return len(a.Path) - len(b.Path) })
	merged := &graphql.Response{Data: first.Data, Errors: first.Errors, Extensions: first.Extensions}
	for _, p := range parts {
		if data, err := patchAt(merged.Data, p.Path, p.Data); err == nil {
			merged.Data = data
		}
		merged.Errors = append(merged.Errors, p.Errors...)
	}
	return merged
}

// errNoPlace: the path of a deferred fragment leads to null or nowhere.
var errNoPlace = errors.New("the path of a deferred fragment is not in the data")

// patchAt returns data with the object patch merged into the object at
// path. Fields keep their order (new ones go last), values are copied as
// they are, and a null in patch never replaces a value: a fragment nested
// in another at the same place may come first.
func patchAt(data json.RawMessage, path ast.Path, patch json.RawMessage) (json.RawMessage, error) {
	if len(path) == 0 {
		return mergeObjects(data, patch)
	}
	switch step := path[0].(type) {
	case ast.PathName:
		fields, err := objectFields(data)
		if err != nil {
			return nil, err
		}
		for i := range fields {
			if fields[i].name == string(step) {
				if fields[i].value, err = patchAt(fields[i].value, path[1:], patch); err != nil {
					return nil, err
				}
				return encodeObject(fields), nil
			}
		}
	case ast.PathIndex:
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil || int(step) < 0 || int(step) >= len(items) {
			return nil, errNoPlace
		}
		item, err := patchAt(items[step], path[1:], patch)
		if err != nil {
			return nil, err
		}
		items[step] = item
		var b bytes.Buffer
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(it)
		}
		b.WriteByte(']')
		return b.Bytes(), nil
	}
	return nil, errNoPlace
}

// mergeObjects merges the fields of patch into the object data, objects
// within them too.
func mergeObjects(data, patch json.RawMessage) (json.RawMessage, error) {
	fields, err := objectFields(data)
	if err != nil {
		return nil, err
	}
	add, err := objectFields(patch)
	if err != nil {
		return nil, err
	}
next:
	for _, a := range add {
		if string(a.value) == "null" {
			if !slices.ContainsFunc(fields, func(f field) bool { return f.name == a.name }) {
				fields = append(fields, a)
			}
			continue
		}
		for i := range fields {
			if fields[i].name != a.name {
				continue
			}
			if merged, err := mergeObjects(fields[i].value, a.value); err == nil {
				fields[i].value = merged
			} else {
				fields[i].value = a.value
			}
			continue next
		}
		fields = append(fields, a)
	}
	return encodeObject(fields), nil
}

// field is one member of a JSON object, in order.
type field struct {
	name  string
	value json.RawMessage
}

// objectFields decodes a JSON object into its fields, in order; null or
// anything else is errNoPlace.
func objectFields(data json.RawMessage) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errNoPlace
	}
	var out []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{name, v})
	}
	return out, nil
}

func encodeObject(fields []field) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		_ = enc.Encode(f.name) // adds a newline, trimmed below
		b.Truncate(b.Len() - 1)
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}
