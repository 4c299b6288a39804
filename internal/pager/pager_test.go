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
	}{{0, 10, false}, {1, 10, false}, {10, 10, false}, {10, 10, true}, {25, 10, true}, {1050, 100, false}, {7, 3, true}} {
		t.Run(strconv.Itoa(tc.n)+"/"+strconv.Itoa(tc.first), func(t *testing.T) {
			l := &list{n: tc.n, lastNext: tc.lastNext}
			var got []int
			after := Cursor{}
			pages := 0
			for {
				p, err := Collect(context.Background(), KindOrganizations, tc.first, after, l.fetch)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				got = append(got, p.Items...)
				if !p.HasNextPage {
					break
				}
				if after, err = Decode(KindOrganizations, p.EndCursor); err != nil {
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
			// A full last page with a next token costs one more (empty) call.
			want := max(1, (tc.n+tc.first-1)/tc.first)
			if tc.n%tc.first == 0 && tc.n > 0 && tc.lastNext {
				want++
			}
			if l.calls != want {
				t.Fatalf("calls %d, want %d", l.calls, want)
			}
		})
	}
}

func TestEdgeCursorResumesAfterItsItem(t *testing.T) {
	l := &list{n: 30}
	p, err := Collect(context.Background(), KindMembers, 10, Cursor{}, l.fetch)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Cursors {
		cur, err := Decode(KindMembers, c)
		if err != nil {
			t.Fatal(err)
		}
		next, err := Collect(context.Background(), KindMembers, 3, cur, l.fetch)
		if err != nil {
			t.Fatal(err)
		}
		if next.Items[0] != i+1 {
			t.Fatalf("after edge %d got %d", i, next.Items[0])
		}
	}
}

func TestDecodeRefusesWhatEncodeDidNotMake(t *testing.T) {
	valid := Encode(KindOrganizations, Cursor{From: "MjAyMy0wMy0x", Skip: 3})
	if c, err := Decode(KindOrganizations, valid); err != nil || c.From != "MjAyMy0wMy0x" || c.Skip != 3 {
		t.Fatalf("round trip: %+v %v", c, err)
	}
	for name, s := range map[string]string{
		"empty":          "",
		"not base64":     "!!!",
		"other kind":     Encode(KindMembers, Cursor{From: "abc"}),
		"query chars":    Encode(KindOrganizations, Cursor{From: "a&take=1000"}),
		"negative skip":  rawCursor("v1:o:-1:abc"),
		"skip too large": rawCursor("v1:o:101:abc"),
		"padded skip":    rawCursor("v1:o:01:abc"),
		"wrong version":  rawCursor("v9:o:0:abc"),
		"start cursor":   rawCursor("v1:o:0:"),
		"too long":       Encode(KindOrganizations, Cursor{From: string(make([]byte, 600))}),
	} {
		if _, err := Decode(KindOrganizations, s); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: got %v, want ErrBadCursor", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(KindOrganizations, Cursor{From: "MjAyMy0wMy0x", Skip: 3}))
	f.Add(Encode(KindMembers, Cursor{From: "abc"}))
	f.Add("djE6bzowOg")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Decode(KindOrganizations, s)
		if err != nil {
			return
		}
		// Whatever decodes must be safe to send upstream and re-encode to
		// something that decodes the same.
		if !isTokenText(c.From) || c.Skip < 0 || c.Skip > MaxTake {
			t.Fatalf("unsafe cursor accepted: %+v", c)
		}
		again, err := Decode(KindOrganizations, Encode(KindOrganizations, c))
		if err != nil || again != c {
			t.Fatalf("round trip: %+v -> %+v, %v", c, again, err)
		}
	})
}

func rawCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
