package server

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orgraph/orgraph/internal/metrics"
	"github.com/orgraph/orgraph/internal/opname"
	"github.com/orgraph/orgraph/internal/upstream"
)

// requestInfo is what the access-log line of one request says, filled in by
// the layers below it.
type requestInfo struct {
	operation string
	outcome   string
	// responseCache is how the response cache answered: hit, shared, miss,
	// bypass; with the cache off "shared" or "", and "" when the request
	// never reached it.
	responseCache string
	// storable: the operation ran and its response may be stored (no
	// errors, not incremental); set by execute.
	storable bool
}

func requestInfoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

type requestInfoKey struct{}

// accessLog starts each GraphQL request's scope (upstream.Request: what it
// costs upstream is counted there) and writes one structured line per request: request id
// (X-Request-Id honoured when it is a sane id, made otherwise, and sent
// back), operation name, status, duration, upstream calls, cache hits,
// upstream batches (many-key lookups: about one per level of the query) and
// outcome. Nothing of the request body, the variables or the headers is
// logged: they may hold personal data and credentials.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			id = newRequestID()
		}
		w.Header()["X-Request-Id"] = []string{id}
		// One allocation for what the request keeps about itself.
		st := &struct {
			info requestInfo
			sw   statusWriter
		}{sw: statusWriter{ResponseWriter: w, status: http.StatusOK}}
		info, sw := &st.info, &st.sw
		rq := upstream.NewRequest(start)
		ctx := upstream.WithRequest(context.WithValue(r.Context(), requestInfoKey{}, info), rq)
		next.ServeHTTP(sw, r.WithContext(ctx))
		outcome := info.outcome
		if outcome == "" {
			outcome = "refused" // answered before any operation ran (auth, body, parse, limits)
		}
		if !log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.Int("status", sw.status),
			slog.String("operation", info.operation),
			slog.String("outcome", outcome),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int64("upstream_calls", rq.Calls()),
			slog.Int64("cache_hits", rq.CacheHits()),
			slog.Int64("upstream_batches", rq.Batches()),
			slog.String("response_cache", info.responseCache),
		)
	})
}

// saneID accepts a caller's request id of up to 64 characters of
// [A-Za-z0-9._-], so that no caller can put arbitrary text into the logs.
func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// newRequestID makes a 96-bit random id. Ids name log lines; they guard
// nothing, so math/rand/v2's generator (ChaCha8, seeded from the OS) is
// enough, and costs no system call.
func newRequestID() string {
	var raw [12]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(raw[8:], rand.Uint32())
	var b [24]byte
	hex.Encode(b[:], raw[:])
	return string(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// operationLog is the gqlgen extension that tells the access log which
// operation ran and how it ended.
type operationLog struct{}

var (
	_ graphql.HandlerExtension    = operationLog{}
	_ graphql.ResponseInterceptor = operationLog{}
)

func (operationLog) ExtensionName() string                   { return "AccessLog" }
func (operationLog) Validate(graphql.ExecutableSchema) error { return nil }
func (operationLog) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	info := requestInfoFrom(ctx)
	if info == nil || !graphql.HasOperationContext(ctx) {
		return resp
	}
	info.operation, info.outcome = opname.Of(ctx), metrics.PartOutcome(info.outcome, resp)
	return resp
}
