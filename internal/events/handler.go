package events

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// MaxBody bounds a delivery's body. Auth0's events are a few kilobytes; a
// larger body is refused with 413 before it is read past the bound.
const MaxBody = 1 << 20

// Margin is added to an event's time to make its cut-off: entries whose
// request began up to this long after the change are purged too, for
// clocks that differ between Auth0 and the gateway and for reads Auth0
// answered from a replica not yet showing the change. The cut-off is never
// later than the delivery's arrival, so nothing fetched after the webhook
// answered is purged.
const Margin = 5 * time.Second

// Path is where Auth0 delivers events.
const Path = "/events/auth0"

// Recorder counts deliveries by outcome (internal/metrics).
type Recorder interface{ Event(outcome string) }

// Handler is the webhook an Auth0 event stream delivers to.
type Handler struct {
	Auth    Auth
	Store   *Store
	Metrics Recorder // nil: not counted
	Logger  *slog.Logger
	Now     func() time.Time
}

// The outcomes of a delivery, in the metrics and the log.
const (
	OutcomeApplied   = "applied"
	OutcomeDuplicate = "duplicate"
	OutcomeIgnored   = "ignored"
	OutcomeRefused   = "refused"
	OutcomeFailed    = "failed"
)

// delivery is what the log line of one delivery says.
type delivery struct {
	status   int
	outcome  string
	reason   string
	id, typ  string
	replicas int
	tags     int
}

// ServeHTTP answers a delivery. The answers follow Auth0's retries (it
// retries what does not get a 2xx): 401 for a missing or wrong
// authorization, 400 for what is not a usable CloudEvent and 413 for a body
// over MaxBody (sending the same bytes again cannot help, and a 4xx shows in
// the stream's delivery failures); 200 once the purge is recorded, for an
// id already applied, and for a type the gateway does not act on (a retry
// would be ignored too); 503 when Redis could not record it, so Auth0
// delivers it again. No answer carries data.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	d := h.serve(r)
	if d.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	if d.status == http.StatusUnauthorized && h.Auth.Method != AuthHeader {
		w.Header().Set("WWW-Authenticate", map[bool]string{true: `Basic realm="orgraph events"`, false: `Bearer realm="orgraph events"`}[h.Auth.Method == AuthBasic])
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(d.status)
	body := map[string]string{"status": d.outcome}
	if d.reason != "" {
		body["code"] = d.reason
	}
	_ = json.NewEncoder(w).Encode(body)
	if h.Metrics != nil {
		h.Metrics.Event(d.outcome)
	}
	if h.Logger != nil && h.Logger.Enabled(r.Context(), slog.LevelInfo) {
		// No header, body or secret: the id and type only, once the
		// delivery was authorized (before that they are anyone's text).
		h.Logger.LogAttrs(r.Context(), slog.LevelInfo, "event",
			slog.String("method", r.Method),
			slog.Int("status", d.status),
			slog.String("outcome", d.outcome),
			slog.String("code", d.reason),
			slog.String("event_id", d.id),
			slog.String("event_type", d.typ),
			slog.Int("tags", d.tags),
			slog.Int("replicas", d.replicas),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		)
	}
}

func (h *Handler) serve(r *http.Request) delivery {
	refused := func(status int, code string) delivery {
		return delivery{status: status, outcome: OutcomeRefused, reason: code}
	}
	if r.Method != http.MethodPost {
		return refused(http.StatusMethodNotAllowed, "BAD_REQUEST")
	}
	if !h.Auth.Check(r.Header) {
		return refused(http.StatusUnauthorized, "UNAUTHENTICATED")
	}
	if r.ContentLength > MaxBody {
		return refused(http.StatusRequestEntityTooLarge, "BAD_REQUEST")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return refused(http.StatusBadRequest, "BAD_REQUEST")
	}
	if len(body) > MaxBody {
		return refused(http.StatusRequestEntityTooLarge, "BAD_REQUEST")
	}
	ev, err := Decode(body)
	if err != nil {
		return refused(http.StatusBadRequest, "BAD_REQUEST")
	}
	d := delivery{id: ev.ID, typ: "other"}
	if slices.Contains(Types, ev.Type) {
		d.typ = ev.Type
	}
	tags, known, err := Tags(ev)
	switch {
	case err != nil:
		d.status, d.outcome, d.reason = http.StatusBadRequest, OutcomeRefused, "BAD_REQUEST"
		return d
	case !known:
		d.status, d.outcome = http.StatusOK, OutcomeIgnored
		return d
	}
	d.tags = len(tags)
	ctx := r.Context()
	first, err := h.Store.Claim(ctx, ev.ID)
	if err != nil {
		h.warn(ctx, err)
		d.status, d.outcome, d.reason = http.StatusServiceUnavailable, OutcomeFailed, "UNAVAILABLE"
		return d
	}
	if !first {
		d.status, d.outcome = http.StatusOK, OutcomeDuplicate
		return d
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	cutoff := ev.Time.Add(Margin)
	if cutoff.After(now) {
		cutoff = now
	}
	if d.replicas, err = h.Store.Record(ctx, ev.ID, tags, cutoff); err != nil {
		h.Store.Unclaim(ctx, ev.ID)
		h.warn(ctx, err)
		d.status, d.outcome, d.reason = http.StatusServiceUnavailable, OutcomeFailed, "UNAVAILABLE"
		return d
	}
	d.status, d.outcome = http.StatusOK, OutcomeApplied
	return d
}

func (h *Handler) warn(ctx context.Context, err error) {
	if h.Logger != nil && !errors.Is(err, context.Canceled) {
		h.Logger.WarnContext(ctx, "events: a delivery could not be recorded; Auth0 retries it", slog.String("error", err.Error()))
	}
}
