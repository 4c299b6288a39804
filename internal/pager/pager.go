// Package pager turns Auth0 checkpoint paging (from/take, an opaque next
// token) into Relay paging (first/after) with opaque per-item cursors.
//
// A checkpoint token only points past the last item of a page, while Relay
// needs a cursor after every item. A cursor is therefore the checkpoint token
// a page started from plus how many items of that page to skip; the cursor of
// an upstream page's last item uses the upstream's own next token, so walking
// forward page by page costs one upstream call per page.
//
// A cursor names the list it was made for (its kind and its parent, such as
// the organization whose members it pages): Auth0's checkpoint tokens encode
// only a position (a timestamp and an id), so one organization's token would
// page another organization's members from the wrong place.
package pager

import (
	"context"
	"crypto/sha256"
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

// Kind tags a cursor with the kind of list it belongs to.
type Kind byte

// Cursor kinds.
const (
	KindOrganizations Kind = 'o'
	KindMembers       Kind = 'm'
)

// List is the one list a cursor belongs to: a cursor made for one List is
// refused by every other.
type List struct {
	Kind Kind
	// Parent is the id of the object the list hangs off ("" for a
	// top-level list), e.g. the organization whose members it is.
	Parent string
}

// Organizations is the tenant's list of organizations.
var Organizations = List{Kind: KindOrganizations}

// MembersOf is the members list of one organization.
func MembersOf(organizationID string) List {
	return List{Kind: KindMembers, Parent: organizationID}
}

// peeks reports whether Collect asks for one item more than it returns: the
// members list sends a next token on every non-empty page, even the last, so
// only a look past the page tells whether the list goes on. Organizations
// omit next on the last page, so their pages are exact without it.
func (l List) peeks() bool { return l.Kind == KindMembers }

// tag is what a cursor carries of the list: the kind and a digest of the
// parent, so the cursor stays short and holds no ':' whatever the id holds.
func (l List) tag() string {
	if l.Parent == "" {
		return string(l.Kind) + ":"
	}
	sum := sha256.Sum256([]byte(l.Parent))
	return string(l.Kind) + ":" + base64.RawURLEncoding.EncodeToString(sum[:9])
}

// Cursor is a decoded position: after Skip items of the page that starts at
// checkpoint From ("" is the start of the list).
type Cursor struct {
	From string
	Skip int
}

// ErrBadCursor means an `after` argument is not a cursor this gateway made
// for this list.
var ErrBadCursor = errors.New("after is not a valid cursor for this list")

// cursorVersion is v2 since cursors name their list's parent; v1 cursors
// (which did not) are refused.
const cursorVersion = "v2"

// Encode makes an opaque cursor for list l.
func Encode(l List, c Cursor) string {
	raw := cursorVersion + ":" + l.tag() + ":" + strconv.Itoa(c.Skip) + ":" + c.From
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Decode reads a cursor made by Encode for l. The empty string is the start
// of the list: clients (genqlient, forms) send "" for "no cursor". Anything
// else that Encode did not make for l, including a checkpoint token with
// characters a base64 token cannot hold, is ErrBadCursor, so no caller-made
// string reaches the upstream's query and no cursor pages another list.
func Decode(l List, s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if len(s) > 2*maxFromLen {
		return Cursor{}, ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	parts := strings.SplitN(string(raw), ":", 5)
	if len(parts) != 5 || parts[0] != cursorVersion || parts[1]+":"+parts[2] != l.tag() {
		return Cursor{}, ErrBadCursor
	}
	skip, err := strconv.Atoi(parts[3])
	if err != nil || skip < 0 || skip > MaxTake || parts[3] != strconv.Itoa(skip) {
		return Cursor{}, ErrBadCursor
	}
	from := parts[4]
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

// Collect reads first items of list l after the cursor. A page ends early
// when the upstream says so: no next token, or a page shorter than asked.
//
// For a list that sends next even on its last page (members), Collect asks
// for one item more than it needs, so hasNextPage is exact at no extra call;
// the item after the page is not returned, and the page's last cursor then
// counts items from the page's checkpoint. Only when that one more item does
// not fit in a MaxTake page and the page ends exactly at an upstream page's
// end does it cost one more call, for the page the next request starts with
// (the response cache can serve that request with it).
func Collect[T any](ctx context.Context, l List, first int, after Cursor, fetch Fetch[T]) (Page[T], error) {
	page := Page[T]{Items: make([]T, 0, first), Cursors: make([]string, 0, first)}
	from, skip := after.From, after.Skip
	for len(page.Items) < first {
		take := fetchSize(l, skip, first-len(page.Items))
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
			page.Cursors = append(page.Cursors, Encode(l, c))
		}
		consumed := i >= len(items)
		if len(page.Items) == first {
			switch {
			case !consumed || end:
				page.HasNextPage = !consumed
			case l.peeks():
				peekFrom, peekTake := FirstFetch(l, first, Cursor{From: next})
				more, _, err := fetch(ctx, peekFrom, peekTake)
				if err != nil {
					return Page[T]{}, err
				}
				page.HasNextPage = len(more) > 0
			default:
				page.HasNextPage = true
			}
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

// fetchSize is how many items Collect asks for to return need items after
// skip: one more for a list that peeks.
func fetchSize(l List, skip, need int) int {
	if l.peeks() {
		need++
	}
	return min(MaxTake, skip+need)
}

// FirstFetch is the checkpoint page Collect asks for first, for first items
// of l after the cursor: a caller that reads the first pages of many lists in
// one lookup asks for exactly these.
func FirstFetch(l List, first int, after Cursor) (from string, take int) {
	return after.From, fetchSize(l, after.Skip, first)
}
