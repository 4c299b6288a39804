package upstream

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// onlyReader hides bytes.Reader's other methods, so reads come in the
// sizes readBounded asks for, as from a network body.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestReadBoundedHoldsWhatItKeepsAndNothingElse(t *testing.T) {
	const limit, budget = 1000, 1500
	tests := []struct {
		name       string
		size       int  // bytes the upstream sends
		declared   bool // Content-Length set
		held       int  // taken from the budget beforehand
		wantBound  bool
		overBudget bool
	}{
		{name: "declared, within", size: 700, declared: true},
		{name: "declared, at the bound", size: limit, declared: true},
		{name: "declared, over the bound", size: limit + 1, declared: true, wantBound: true},
		{name: "streamed, within", size: 700},
		{name: "streamed, at the bound", size: limit},
		{name: "streamed, one over the bound", size: limit + 1, wantBound: true},
		{name: "streamed, far over the bound", size: 50 * limit, wantBound: true},
		{name: "declared, no room left", size: 700, declared: true, held: 900, wantBound: true, overBudget: true},
		{name: "streamed, no room left", size: 700, held: 900, wantBound: true, overBudget: true},
		{name: "empty", size: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewBodyMemory(budget)
			if !m.take(int64(tt.held)) {
				t.Fatal("could not take the held bytes")
			}
			sent := bytes.Repeat([]byte{'x'}, tt.size)
			n := int64(-1)
			if tt.declared {
				n = int64(tt.size)
			}
			body, err := readBounded(onlyReader{bytes.NewReader(sent)}, n, limit, m)
			var be boundError
			if got := errors.As(err, &be); got != tt.wantBound || be.overBudget != tt.overBudget {
				t.Fatalf("err = %v, want bound error %v (over budget %v)", err, tt.wantBound, tt.overBudget)
			}
			if err == nil {
				if !bytes.Equal(body, sent) {
					t.Fatalf("read %d bytes, want the %d sent", len(body), len(sent))
				}
				if cap(body) > limit+1 {
					t.Fatalf("buffer of %d bytes, over the bound", cap(body))
				}
				m.Release(body)
			}
			m.give(int64(tt.held))
			if !m.take(budget) { // everything taken was given back
				t.Fatalf("the budget was not whole again after the read")
			}
		})
	}
}
