package purge

import (
	"testing"
	"time"
)

// TestCutoffsOnlyMoveForward: an entry fetched before a tag's cut-off is
// purged, one fetched at or after it is kept, and a late event never moves
// a cut-off back.
func TestCutoffsOnlyMoveForward(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tb := New(time.Hour, func() time.Time { return now })
	if tb.Purged([]string{Org("a")}, now) {
		t.Fatal("purged with no cut-off")
	}
	g := tb.Gen()
	if moved := tb.Apply([]string{Org("a"), User("u")}, now); moved != 2 || tb.Gen() == g {
		t.Fatalf("moved %d, generation %d → %d", moved, g, tb.Gen())
	}
	if !tb.Purged([]string{Org("b"), Org("a")}, now.Add(-time.Nanosecond)) || tb.Purged([]string{Org("a")}, now) {
		t.Fatal("the cut-off does not split fetches before it from fetches at it")
	}
	if moved := tb.Apply([]string{Org("a")}, now.Add(-time.Minute)); moved != 0 {
		t.Fatal("a late event moved the cut-off back")
	}
	if c, _ := tb.Cutoff(Org("a")); !c.Equal(now) {
		t.Fatalf("cut-off %v, want %v", c, now)
	}
	var nilTable *Table
	if nilTable.Purged([]string{Org("a")}, now) || nilTable.Apply([]string{Org("a")}, now) != 0 {
		t.Fatal("a nil table purges")
	}
}

// TestTableForgetsOldCutoffs: cut-offs older than maxAge go (no entry that
// old can be served), and the table holds at most its bound of tags.
func TestTableForgetsOldCutoffs(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tb := New(time.Hour, func() time.Time { return now })
	tb.Apply([]string{Org("old")}, now.Add(-2*time.Hour))
	now = now.Add(time.Hour) // past maxAge/10 since the last trim
	tb.Apply([]string{Org("new")}, now)
	if _, ok := tb.Cutoff(Org("old")); ok || tb.Len() != 1 {
		t.Fatalf("an old cut-off stayed: len %d", tb.Len())
	}
	tb.maxCount = 10
	for i := range 30 {
		tb.Apply([]string{User(string(rune('a' + i)))}, now.Add(time.Duration(i)))
	}
	if tb.Len() > 20 {
		t.Fatalf("the table holds %d tags, bound 10 (trimmed by halves)", tb.Len())
	}
}
