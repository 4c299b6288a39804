package upstream

import (
	"sync"
	"time"

	"github.com/orgraph/orgraph/internal/cache"
)

// Sharing across requests has two parts. Calls in flight at the same moment
// are collapsed by singleflight, so a request may get a result whose fetch
// began before the request did, as long as it was still in flight. The same
// rule is applied after the fact: a result that completed after a request
// began may serve that request, however late the request gets to the call.
// A request never gets a result that was complete before it began, so
// sequential requests never share; only overlapping ones do, whatever the
// scheduler does with their work. That makes "100 identical queries at once
// cost what one costs" hold without depending on timing, and it holds with
// caching turned off.

// sharedWindow is how long a finished result stays available to requests
// that began before its fetch started: long enough for a burst of identical
// requests to reach the same call on a busy machine, short enough that the
// results kept stay few.
const sharedWindow = 2 * time.Second

// maxShared bounds the results kept at once, whatever the call rate.
const maxShared = 4096

type sharedResult struct {
	entry     *cache.Entry
	completed time.Time
	expires   time.Time
}

// recentResults keeps successful answers, decoded, for sharedWindow.
// Entries expire in insertion order (the window is constant), so a FIFO is
// enough.
type recentResults struct {
	mu   sync.Mutex
	byID map[string]sharedResult
	fifo []string
}

func (r *recentResults) get(key string, requestBegan, now time.Time) (*cache.Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok := r.byID[key]
	if !ok || now.After(res.expires) || res.completed.Before(requestBegan) {
		return nil, false
	}
	return res.entry, true
}

func (r *recentResults) put(key string, e *cache.Entry, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = make(map[string]sharedResult)
	}
	for len(r.fifo) > 0 {
		head := r.fifo[0]
		res, ok := r.byID[head]
		if ok && now.Before(res.expires) && len(r.byID) < maxShared {
			break
		}
		if ok {
			delete(r.byID, head)
		}
		r.fifo = r.fifo[1:]
	}
	if _, exists := r.byID[key]; !exists {
		r.fifo = append(r.fifo, key)
	}
	r.byID[key] = sharedResult{entry: e, completed: now, expires: now.Add(sharedWindow)}
}
