package pager

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"testing"
)

// checkpointList serves 0..n-1 like Auth0's checkpoint paging: exactly take
// items from a token, next a base64 token after the last item (or "" at the
// end, unless lastNext, as the members list does on every non-empty page).
type checkpointList struct {
	n        int
	lastNext bool
	calls    int
}

func (l *checkpointList) fetch(_ context.Context, from string, take int) ([]int, string, error) {
	l.calls++
	if take < 1 || take > MaxTake {
		return nil, "", errors.New("take out of range")
	}
	start := 0
	if from != "" {
		raw, err := base64.RawURLEncoding.DecodeString(from)
		if err != nil {
			return nil, "", errors.New("bad from")
		}
		if start, err = strconv.Atoi(string(raw)); err != nil || start < 0 || start > l.n {
			return nil, "", errors.New("bad from")
		}
	}
	end := min(start+take, l.n)
	items := make([]int, 0, end-start)
	for i := start; i < end; i++ {
		items = append(items, i)
	}
	next := ""
	if end < l.n || (l.lastNext && len(items) > 0) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return items, next, nil
}

// FuzzCollect walks a list of fuzzed length with fuzzed page sizes. Every
// item comes once and in order, a short page is the last, every cursor
// decodes and resumes right after its item and on no other list, hasNextPage
// is exact, and a page costs at most three upstream calls.
func FuzzCollect(f *testing.F) {
	for _, s := range []struct {
		n             uint16
		first, second uint8
		lastNext      bool
		resume        uint16
	}{
		{0, 10, 10, false, 0}, {1, 10, 10, true, 0}, {10, 10, 10, false, 9}, {10, 10, 10, true, 9},
		{25, 10, 3, true, 24}, {1050, 100, 100, false, 999}, {7, 3, 1, true, 6}, {200, 99, 100, true, 98},
		{101, 100, 1, false, 100}, {300, 1, 100, true, 150}, {6, 3, 3, true, 2}, {200, 100, 100, true, 99},
		{100, 100, 1, true, 99}, {150, 50, 100, true, 49},
	} {
		f.Add(s.n, s.first, s.second, s.lastNext, s.resume)
	}
	f.Fuzz(func(t *testing.T, n uint16, first, second uint8, lastNext bool, resume uint16) {
		l := &checkpointList{n: int(n % 1200), lastNext: lastNext}
		list := Organizations
		if lastNext {
			list = MembersOf("org_a")
		}
		sizes := [2]int{int(first)%MaxTake + 1, int(second)%MaxTake + 1}
		ctx := context.Background()

		var items []int
		var cursors []string
		after := Cursor{}
		for page := 0; ; page++ {
			if page > l.n+2 {
				t.Fatalf("n=%d sizes=%v: paging does not end", l.n, sizes)
			}
			size := sizes[page%2]
			l.calls = 0
			p, err := Collect(ctx, list, size, after, l.fetch)
			if err != nil {
				t.Fatalf("n=%d page %d: %v", l.n, page, err)
			}
			if l.calls > 3 {
				t.Fatalf("n=%d size %d after %+v: %d upstream calls for one page", l.n, size, after, l.calls)
			}
			if len(p.Items) != len(p.Cursors) || len(p.Items) > size {
				t.Fatalf("page %d: %d items, %d cursors, first %d", page, len(p.Items), len(p.Cursors), size)
			}
			if p.HasNextPage && len(p.Items) < size {
				t.Fatalf("page %d: a short page (%d of %d) says it has a next page", page, len(p.Items), size)
			}
			if seen := len(items) + len(p.Items); p.HasNextPage != (seen < l.n) {
				t.Fatalf("n=%d page %d of %d ends at %d: hasNextPage %v", l.n, page, size, seen, p.HasNextPage)
			}
			if (len(p.Cursors) == 0) != (p.EndCursor == "") || (len(p.Cursors) > 0 && p.EndCursor != p.Cursors[len(p.Cursors)-1]) {
				t.Fatalf("page %d: endCursor %q, cursors %v", page, p.EndCursor, p.Cursors)
			}
			items = append(items, p.Items...)
			cursors = append(cursors, p.Cursors...)
			if !p.HasNextPage {
				break
			}
			if after, err = Decode(list, p.EndCursor); err != nil {
				t.Fatalf("endCursor %q: %v", p.EndCursor, err)
			}
		}
		if len(items) != l.n {
			t.Fatalf("n=%d sizes=%v lastNext=%v: walked %d items", l.n, sizes, lastNext, len(items))
		}
		for i, v := range items {
			if v != i {
				t.Fatalf("item %d is %d", i, v)
			}
		}
		if l.n == 0 {
			return
		}

		// Any edge's cursor continues right after its item.
		k := int(resume) % l.n
		c, err := Decode(list, cursors[k])
		if err != nil {
			t.Fatalf("cursor %d %q: %v", k, cursors[k], err)
		}
		for _, other := range []List{Organizations, MembersOf("org_a"), MembersOf("org_b")} {
			if other == list {
				continue
			}
			if _, err := Decode(other, cursors[k]); !errors.Is(err, ErrBadCursor) {
				t.Fatalf("cursor %d of %+v decodes for %+v", k, list, other)
			}
		}
		l.calls = 0
		p, err := Collect(ctx, list, sizes[1], c, l.fetch)
		if err != nil {
			t.Fatalf("resume after %d: %v", k, err)
		}
		if l.calls > 3 {
			t.Fatalf("resume after %d: %d upstream calls", k, l.calls)
		}
		want := min(sizes[1], l.n-k-1)
		if len(p.Items) != want {
			t.Fatalf("resume after %d of %d with first %d: %d items, want %d", k, l.n, sizes[1], len(p.Items), want)
		}
		for i, v := range p.Items {
			if v != k+1+i {
				t.Fatalf("resume after %d: item %d is %d", k, i, v)
			}
		}
		if wantNext := k+1+want < l.n; p.HasNextPage != wantNext {
			t.Fatalf("resume after %d of %d with first %d: hasNextPage %v", k, l.n, sizes[1], p.HasNextPage)
		}
	})
}
