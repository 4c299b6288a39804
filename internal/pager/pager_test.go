package pager

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"testing"
)

// list is an in-memory checkpoint list that behaves like Auth0's: next is the
// position after the last item returned; lastNext controls whether the last
// page carries a next token (members do, organizations do not).
type list struct {
	n        int
	lastNext bool
	calls    int
}

func (l *list) fetch(_ context.Context, from string, take int) ([]int, string, error) {
	l.calls++
	start := 0
	if from != "" {
		var err error
		if start, err = strconv.Atoi(from); err != nil {
			return nil, "", errors.New("bad from")
		}
	}
	end := min(start+take, l.n)
	items := []int{}
	for i := start; i < end; i++ {
		items = append(items, i)
	}
	next := ""
	if end < l.n || (l.lastNext && len(items) > 0) {
		next = strconv.Itoa(end)
	}
	return items, next, nil
}

func TestWalkEveryItemOnceWithOneCallPerPage(t *testing.T) {
	for _, tc := range []struct {
		n, first int
		lastNext bool
	}{{0, 10, false}, {1, 10, false}, {10, 10, false}, {10, 10, true}, {25, 10, true}, {1050, 100, false}, {7, 3, true}, {6, 3, true}, {200, 100, true}, {150, 100, true}} {
		t.Run(strconv.Itoa(tc.n)+"/"+strconv.Itoa(tc.first)+"/"+strconv.FormatBool(tc.lastNext), func(t *testing.T) {
			l := &list{n: tc.n, lastNext: tc.lastNext}
			// A list with a next token on its last page is paged like members.
			lst := Organizations
			if tc.lastNext {
				lst = MembersOf("org_a")
			}
			var got []int
			after := Cursor{}
			pages := 0
			for {
				p, err := Collect(context.Background(), lst, tc.first, after, l.fetch)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				got = append(got, p.Items...)
				if !p.HasNextPage {
					break
				}
				if after, err = Decode(lst, p.EndCursor); err != nil {
					t.Fatal(err)
				}
				if pages > tc.n+2 {
					t.Fatal("does not end")
				}
			}
			if len(got) != tc.n {
				t.Fatalf("got %d items, want %d", len(got), tc.n)
			}
			for i, v := range got {
				if v != i {
					t.Fatalf("item %d = %d", i, v)
				}
			}
			// hasNextPage is exact: no page after the last item, not even an
			// empty one.
			wantPages := max(1, (tc.n+tc.first-1)/tc.first)
			if pages != wantPages {
				t.Fatalf("pages %d, want %d", pages, wantPages)
			}
			// One call per page; members ask for one item more, which only
			// costs a call when it does not fit in a page of MaxTake: then a
			// full page looks at the next one.
			want := wantPages
			if tc.lastNext && tc.first == MaxTake {
				want += tc.n / tc.first
			}
			if l.calls != want {
				t.Fatalf("calls %d, want %d", l.calls, want)
			}
		})
	}
}

func TestEdgeCursorResumesAfterItsItem(t *testing.T) {
	l := &list{n: 30}
	members := MembersOf("org_a")
	p, err := Collect(context.Background(), members, 10, Cursor{}, l.fetch)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Cursors {
		cur, err := Decode(members, c)
		if err != nil {
			t.Fatal(err)
		}
		next, err := Collect(context.Background(), members, 3, cur, l.fetch)
		if err != nil {
			t.Fatal(err)
		}
		if next.Items[0] != i+1 {
			t.Fatalf("after edge %d got %d", i, next.Items[0])
		}
	}
}

func TestDecodeRefusesWhatEncodeDidNotMake(t *testing.T) {
	valid := Encode(Organizations, Cursor{From: "MjAyMy0wMy0x", Skip: 3})
	if c, err := Decode(Organizations, valid); err != nil || c.From != "MjAyMy0wMy0x" || c.Skip != 3 {
		t.Fatalf("round trip: %+v %v", c, err)
	}
	hogwarts := MembersOf("org_hogwarts")
	for name, tc := range map[string]struct {
		list List
		s    string
	}{
		"not base64":                   {Organizations, "!!!"},
		"other kind":                   {Organizations, Encode(hogwarts, Cursor{From: "abc"})},
		"another organization's":       {MembersOf("org_durmstrang"), Encode(hogwarts, Cursor{From: "abc"})},
		"members without organization": {MembersOf(""), Encode(hogwarts, Cursor{From: "abc"})},
		"query chars":                  {Organizations, Encode(Organizations, Cursor{From: "a&take=1000"})},
		"negative skip":                {Organizations, rawCursor("v2:o::-1:abc")},
		"skip too large":               {Organizations, rawCursor("v2:o::101:abc")},
		"padded skip":                  {Organizations, rawCursor("v2:o::01:abc")},
		"wrong version":                {Organizations, rawCursor("v9:o::0:abc")},
		"v1, which named no list":      {Organizations, rawCursor("v1:o:0:abc")},
		"start cursor":                 {Organizations, rawCursor("v2:o::0:")},
		"too long":                     {Organizations, Encode(Organizations, Cursor{From: string(make([]byte, 600))})},
	} {
		if _, err := Decode(tc.list, tc.s); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: got %v, want ErrBadCursor", name, err)
		}
	}
}

// TestEmptyCursorIsTheStart: clients send after: "" for "no cursor".
func TestEmptyCursorIsTheStart(t *testing.T) {
	for _, l := range []List{Organizations, MembersOf("org_a")} {
		if c, err := Decode(l, ""); err != nil || c != (Cursor{}) {
			t.Fatalf("%+v: Decode(\"\") = %+v, %v; want the start", l, c, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(Organizations, Cursor{From: "MjAyMy0wMy0x", Skip: 3}))
	f.Add(Encode(MembersOf("org_a"), Cursor{From: "abc"}))
	f.Add(rawCursor("v2:o::0:"))
	f.Add("djE6bzowOg")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Decode(Organizations, s)
		if err != nil {
			return
		}
		// Whatever decodes must be safe to send upstream and re-encode to
		// something that decodes the same.
		if !isTokenText(c.From) || c.Skip < 0 || c.Skip > MaxTake {
			t.Fatalf("unsafe cursor accepted: %+v", c)
		}
		if c == (Cursor{}) { // only "" is the start; no cursor encodes it
			if s != "" {
				t.Fatalf("%q decodes as the start", s)
			}
			return
		}
		again, err := Decode(Organizations, Encode(Organizations, c))
		if err != nil || again != c {
			t.Fatalf("round trip: %+v -> %+v, %v", c, again, err)
		}
	})
}

func rawCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
