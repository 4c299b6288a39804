// Package purge is the table of what Auth0 Event Streams said has changed:
// for each tag (an organization, its members, a user…) the time before which
// cached data built from it is no longer served. Both cache tiers and the
// response cache ask it on every hit; events add to it.
//
// Why a table of cut-off times rather than deleting keys: the data cache's
// keys are URLs with paging arguments (members pages, list pages), which an
// event cannot enumerate, and each replica holds its own in-process tier
// that no other replica can reach. A cut-off per tag, compared with the
// time each entry's request was sent, purges every entry built from a tag
// in every tier at once, whatever its URL, and keeps the ones fetched after
// the change (an event that arrives late or twice purges nothing new).
package purge

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Tags name what cached data was built from. An entry carries the tags of
// its URL (an organization by id, a user's organizations) and of its value
// (each organization of a list page, each user of a members page), so one
// event purges every entry that shows what it changed.
const (
	// Orgs tags the tenant's organization list pages and count: their
	// membership changes when an organization is created or deleted.
	Orgs = "orgs"
)

// Org tags an organization's own fields, wherever they are shown: by id,
// by name, in list pages and in users' organization lists.
func Org(id string) string { return "org:" + id }

// OrgName tags the by-name lookup of name, which a rename or a creation
// changes (a remembered 404 included).
func OrgName(name string) string { return "orgname:" + name }

// Conns tags an organization's enabled connections.
func Conns(orgID string) string { return "conns:" + orgID }

// Members tags an organization's members pages.
func Members(orgID string) string { return "members:" + orgID }

// User tags a user's profile, wherever it is shown: the user itself and
// every members page the user is on.
func User(id string) string { return "user:" + id }

// UserOrgs tags a user's organization list.
func UserOrgs(id string) string { return "userorgs:" + id }

// Table maps tags to cut-offs (unix nanoseconds): data built from a tag and
// fetched before its cut-off is purged. A nil *Table purges nothing, which
// is how the gateway runs without an event stream. It is safe for
// concurrent use; reads take no lock.
type Table struct {
	cutoffs sync.Map // tag → int64
	gen     atomic.Uint64
	size    atomic.Int64

	maxAge   time.Duration
	now      func() time.Time
	trimMu   sync.Mutex
	trimmed  time.Time
	maxCount int64
}

// DefaultMaxTags bounds the tags a table holds. Past it the oldest cut-offs
// go first at the next trim; a tag dropped early can only keep an entry
// that was already fetched before the cut-off for longer than maxAge would.
const DefaultMaxTags = 1 << 20

// New returns a table whose cut-offs are forgotten after maxAge: no entry
// older than that can still be served (CACHE_TTL with its jitter plus
// CACHE_STALE_TTL), so the table stays bounded by the events of that window.
func New(maxAge time.Duration, now func() time.Time) *Table {
	if now == nil {
		now = time.Now
	}
	return &Table{maxAge: maxAge, now: now, maxCount: DefaultMaxTags}
}

// Gen changes every time a cut-off moves. A reader that found an entry
// unpurged at a generation need not look again until it changes.
func (t *Table) Gen() uint64 {
	if t == nil {
		return 0
	}
	return t.gen.Load()
}

// Purged reports whether data built from tags and fetched at fetchedAt was
// purged by an event.
func (t *Table) Purged(tags []string, fetchedAt time.Time) bool {
	if t == nil {
		return false
	}
	at := fetchedAt.UnixNano()
	for _, tag := range tags {
		if c, ok := t.cutoffs.Load(tag); ok && at < c.(int64) {
			return true
		}
	}
	return false
}

// Cutoff returns the cut-off of tag, and false when it has none.
func (t *Table) Cutoff(tag string) (time.Time, bool) {
	if t == nil {
		return time.Time{}, false
	}
	c, ok := t.cutoffs.Load(tag)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, c.(int64)), true
}

// Apply moves each tag's cut-off forward to at (never back: an event that
// arrives late purges nothing its successor did not) and returns how many
// moved.
func (t *Table) Apply(tags []string, at time.Time) int {
	if t == nil {
		return 0
	}
	n := at.UnixNano()
	moved := 0
	for _, tag := range tags {
		for {
			cur, loaded := t.cutoffs.LoadOrStore(tag, n)
			if !loaded {
				t.size.Add(1)
				moved++
				break
			}
			if cur.(int64) >= n {
				break
			}
			if t.cutoffs.CompareAndSwap(tag, cur, n) {
				moved++
				break
			}
		}
	}
	if moved > 0 {
		t.gen.Add(1)
	}
	t.trim()
	return moved
}

// trim forgets cut-offs older than maxAge, at most ten times per maxAge,
// and the oldest ones when there are more than maxCount.
func (t *Table) trim() {
	now := t.now()
	if !t.trimMu.TryLock() {
		return
	}
	defer t.trimMu.Unlock()
	if t.size.Load() <= t.maxCount && (t.maxAge <= 0 || now.Sub(t.trimmed) < t.maxAge/10) {
		return
	}
	t.trimmed = now
	horizon := now.Add(-t.maxAge).UnixNano()
	if t.maxAge <= 0 {
		horizon = 0
	}
	if t.size.Load() > t.maxCount {
		// Raise the horizon to the median cut-off: half the tags go.
		var all []int64
		t.cutoffs.Range(func(_, v any) bool { all = append(all, v.(int64)); return true })
		horizon = max(horizon, median(all))
	}
	t.cutoffs.Range(func(k, v any) bool {
		if v.(int64) < horizon && t.cutoffs.CompareAndDelete(k, v) {
			t.size.Add(-1)
		}
		return true
	})
}

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// Len is the number of tags with a cut-off.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return int(t.size.Load())
}

// Stamp is one tag a response was built from, with the earliest fetch time
// of the entries of that tag it used.
type Stamp struct {
	Tag string
	At  int64 // unix nanoseconds
}

// PurgedStamps reports whether data built from stamps was purged.
func (t *Table) PurgedStamps(stamps []Stamp) bool {
	if t == nil {
		return false
	}
	for _, s := range stamps {
		if c, ok := t.cutoffs.Load(s.Tag); ok && s.At < c.(int64) {
			return true
		}
	}
	return false
}
