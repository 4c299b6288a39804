package upstreamsim

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// queryError carries the validation detail Auth0 appends to "Invalid request query string.".
type queryError string

func (e queryError) Error() string { return string(e) }

// intParam reads an integer query parameter with Auth0's bounds; hi < 0 means unbounded.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v, ok := q[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil {
		return 0, queryError(fmt.Sprintf("Query validation error: 'Expected type integer but found type string' on property %s.", name))
	}
	if n < lo {
		return 0, queryError(fmt.Sprintf("Query validation error: 'Too small: must be at least %d' on property %s.", lo, name))
	}
	if hi >= 0 && n > hi {
		return 0, queryError(fmt.Sprintf("Query validation error: 'Too big: must be at most %d' on property %s.", hi, name))
	}
	return n, nil
}

func boolParam(q url.Values, name string, def bool) (bool, error) {
	v, ok := q[name]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(v[0]) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, queryError(fmt.Sprintf("Query validation error: 'Expected type boolean but found type string' on property %s.", name))
}

// offsetParams are the page/per_page/include_totals trio every Auth0 list accepts.
type offsetParams struct {
	page, perPage int
	totals        bool
}

func parseOffset(q url.Values, maxPage int) (offsetParams, error) {
	var p offsetParams
	var err error
	if p.page, err = intParam(q, "page", 0, 0, maxPage); err != nil {
		return p, err
	}
	if p.perPage, err = intParam(q, "per_page", 50, 1, 100); err != nil {
		return p, err
	}
	p.totals, err = boolParam(q, "include_totals", false)
	return p, err
}

// window returns the [lo, hi) slice bounds of an offset page over n items, and the "start" the
// envelope reports, which is page*per_page even past the end (as recorded upstream).
func (p offsetParams) window(n int) (start, lo, hi int) {
	if p.page > n/p.perPage+1 { // also guards the multiplication against overflow
		if p.page > math.MaxInt/p.perPage {
			return math.MaxInt, n, n
		}
		return p.page * p.perPage, n, n
	}
	start = p.page * p.perPage
	lo = min(start, n)
	return start, lo, min(lo+p.perPage, n)
}

// exceedsCeiling reports Auth0's 1000-record offset ceiling.
func (p offsetParams) exceedsCeiling() bool { return (p.page+1)*p.perPage > 1000 }

// checkpointParams are take/from; their mere presence switches a list to checkpoint mode.
type checkpointParams struct {
	take   int
	from   string
	active bool
}

func parseCheckpoint(q url.Values) (checkpointParams, error) {
	var c checkpointParams
	c.active = q.Has("take") || q.Has("from")
	c.from = q.Get("from")
	var err error
	c.take, err = intParam(q, "take", 50, 1, 100)
	return c, err
}

// parsePaging reads both paging styles of the lists that accept them
// (organizations, members), offset parameters first, as the upstream checks.
func parsePaging(q url.Values) (offsetParams, checkpointParams, error) {
	off, err := parseOffset(q, 1000)
	if err != nil {
		return off, checkpointParams{}, err
	}
	cp, err := parseCheckpoint(q)
	return off, cp, err
}

const cursorTimeLayout = "2006-01-02 15:04:05.000000"

// encodeCursor builds the opaque "next" value exactly as Auth0 does: unpadded standard base64 of
// "<timestamp>UTC,<id>".
func encodeCursor(t time.Time, id string) string {
	return base64.RawStdEncoding.EncodeToString([]byte(t.UTC().Format(cursorTimeLayout) + "UTC," + id))
}

var errBadCursor = queryError("Query validation error: 'Invalid checkpoint' on property from.")

func decodeCursor(s string) (time.Time, string, error) {
	s = strings.TrimRight(s, "=")
	raw, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(s); err != nil {
			return time.Time{}, "", errBadCursor
		}
	}
	ts, id, ok := strings.Cut(string(raw), "UTC,")
	if !ok || id == "" {
		return time.Time{}, "", errBadCursor
	}
	t, err := time.Parse(cursorTimeLayout, ts)
	if err != nil {
		return time.Time{}, "", errBadCursor
	}
	return t, id, nil
}

// memberFields is the members endpoint's fields/include_fields projection.
type memberFields struct {
	userID, email, picture, name, roles bool
}

func parseMemberFields(q url.Values) (memberFields, error) {
	all := memberFields{userID: true, email: true, picture: true, name: true}
	include, err := boolParam(q, "include_fields", true)
	if err != nil {
		return all, err
	}
	list := q.Get("fields")
	if list == "" {
		return all, nil
	}
	var named memberFields
	for _, f := range strings.Split(list, ",") {
		switch strings.TrimSpace(f) {
		case "user_id":
			named.userID = true
		case "email":
			named.email = true
		case "picture":
			named.picture = true
		case "name":
			named.name = true
		case "roles":
			named.roles = true
		}
	}
	if include {
		return named, nil
	}
	return memberFields{userID: !named.userID, email: !named.email, picture: !named.picture, name: !named.name}, nil
}
