// Package upstream is the one place every upstream request passes, whatever
// the upstream (Auth0 or UiPath Identity):
//
//   - route.go: a Route is one endpoint seen as a function from keys to
//     decoded values, asked for many keys at once, behind the two-tier cache
//     (internal/cache) and in-flight sharing (share.go);
//   - client.go: the HTTP client under the routes: the rate governor
//     (limiter.go), retries, bearer tokens (token.go), body bounds
//     (bodymemory.go) and the per-operation call budget (budget.go);
//   - request.go: what one gateway request carries down (its start, its
//     caller's token) so results are shared only where that is safe;
//   - check.go and error.go: the one response check that turns an HTTP
//     status into a typed *Error with a Kind;
//   - metrics.go: the Recorder the client reports to.
//
// Why one package: the error presenter (internal/apperr) maps Kind to a
// GraphQL error code in one place, and the governor and the cache need the
// same typed facts (status, upstream error code, Retry-After) whatever the
// upstream; keeping them here stops each client from inventing its own.
package upstream
