// Package pager turns Auth0 checkpoint paging (from/take, an opaque next
// token) into Relay paging (first/after) with opaque per-item cursors.
//
// A checkpoint token only points past the last item of a page, while Relay
// needs a cursor after every item. A cursor is therefore the checkpoint token
// a page started from plus how many items of that page to skip; the cursor of
// a page's last item, and the endCursor, use the upstream's own next token,
// so walking forward page by page costs exactly one upstream call per page.
package pager

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// MaxTake is the largest page the upstream serves.
const MaxTake = 100

// maxFromLen bounds the checkpoint token carried in a cursor. Observed tokens
// are under 100 characters.
const maxFromLen = 512

// Kind tags a cursor with the list it belongs to, so a cursor of one list is
// refused by another instead of being sent upstream.
type Kind byte

// Cursor kinds.
const (
	KindOrganizations Kind = 'o'
	KindMembers       Kind = 'm'
)

// Cursor is a decoded position: after Skip items of the page that starts at
// checkpoint From ("" is the start of the list).
type Cursor struct {
	From string
	Skip int
}

// ErrBadCursor means an `after` argument is not a cursor this gateway made
// for this list.
var ErrBadCursor = errors.New("after is not a valid cursor for this list")

const cursorVersion = "v1"

// Encode makes an opaque cursor.
func Encode(kind Kind, c Cursor) string {
	raw := cursorVersion + ":" + string(kind) + ":" + strconv.Itoa(c.Skip) + ":" + c.From
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Decode reads a cursor made by Encode for kind. Anything else, including a
// checkpoint token with characters a base64 token cannot hold, is
// ErrBadCursor, so no caller-made string reaches the upstream's query.
func Decode(kind Kind, s string) (Cursor, error) {
	if len(s) == 0 || len(s) > 2*maxFromLen {
		return Cursor{}, ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	parts := strings.SplitN(string(raw), ":", 4)
	if len(parts) != 4 || parts[0] != cursorVersion || parts[1] != string(kind) {
		return Cursor{}, ErrBadCursor
	}
	skip, err := strconv.Atoi(parts[2])
	if err != nil || skip < 0 || skip > MaxTake || parts[2] != strconv.Itoa(skip) {
		return Cursor{}, ErrBadCursor
	}
	from := parts[3]
	if len(from) > maxFromLen || !isTokenText(from) || (from == "" && skip == 0) {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{From: from, Skip: skip}, nil
}

// isTokenText accepts the characters of base64 (standard and URL) tokens.
func isTokenText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Fetch reads one checkpoint page: up to take items from checkpoint from, and
// the token after the last of them ("" at the end).
type Fetch[T any] func(ctx context.Context, from string, take int) (items []T, next string, err error)

// Page is a Relay page: the items, a cursor for each, and page info.
type Page[T any] struct {
	Items       []T
	Cursors     []string
	HasNextPage bool
	EndCursor   string // "" when the page is empty
}

// Collect reads first items after the cursor. A page ends early when the
// upstream says so: no next token, or a page shorter than asked (Auth0's
// members list sends next even then, and an empty page after it).
func Collect[T any](ctx context.Context, kind Kind, first int, after Cursor, fetch Fetch[T]) (Page[T], error) {
	page := Page[T]{Items: make([]T, 0, first), Cursors: make([]string, 0, first)}
	from, skip := after.From, after.Skip
	for len(page.Items) < first {
		take := min(MaxTake, skip+first-len(page.Items))
		items, next, err := fetch(ctx, from, take)
		if err != nil {
			return Page[T]{}, err
		}
		end := next == "" || len(items) < take
		i := skip
		for ; i < len(items) && len(page.Items) < first; i++ {
			page.Items = append(page.Items, items[i])
			c := Cursor{From: from, Skip: i + 1}
			if i+1 == len(items) && next != "" {
				c = Cursor{From: next}
			}
			page.Cursors = append(page.Cursors, Encode(kind, c))
		}
		consumed := i >= len(items)
		if len(page.Items) == first {
			page.HasNextPage = !consumed || !end
			break
		}
		if end || !consumed {
			break
		}
		from, skip = next, 0
	}
	if n := len(page.Cursors); n > 0 {
		page.EndCursor = page.Cursors[n-1]
	}
	return page, nil
}

// FirstFetch is the checkpoint page Collect asks for first, for first items
// after the cursor: a caller that reads the first pages of many lists in one
// lookup asks for exactly these.
func FirstFetch(first int, after Cursor) (from string, take int) {
	return after.From, min(MaxTake, after.Skip+first)
}
