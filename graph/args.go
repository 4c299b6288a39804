package graph

import (
	"strings"
	"unicode/utf8"

	"github.com/orgraph/orgraph/internal/apperr"
	"github.com/orgraph/orgraph/internal/pager"
)

// Argument limits. Auth0 caps organization ids and names at 50 characters;
// the others are generous bounds that no real id reaches.
const (
	maxOrganizationID   = 50
	maxOrganizationName = 50
	maxUserID           = 255
	maxUiPathOrgName    = 100
	defaultFirst        = 50
)

// checkText refuses empty, overlong or control-character arguments before any
// upstream call. The message names the argument, never its value.
func checkText(arg, v string, max int) error {
	if v == "" {
		return apperr.BadInput("%s must not be empty", arg)
	}
	if utf8.RuneCountInString(v) > max {
		return apperr.BadInput("%s must be at most %d characters", arg, max)
	}
	if !utf8.ValidString(v) {
		return apperr.BadInput("%s must be valid UTF-8", arg)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return apperr.BadInput("%s must not contain control characters", arg)
		}
	}
	// Every such argument becomes one URL path segment upstream. The client
	// escapes it anyway; refusing what no real id or name holds (path
	// separators, query and fragment marks, percent-escapes, dot segments)
	// also saves the upstream call and makes probing visible.
	if v == "." || v == ".." || strings.ContainsAny(v, `/\?#%`) {
		return apperr.BadInput("%s must not contain / \\ ? # %% or be . or ..", arg)
	}
	return nil
}

// checkUUID refuses a partition id that is not a GUID: the Identity API
// would answer 400 for it anyway, after spending a call of its tiny budget.
func checkUUID(arg, v string) error {
	if len(v) != 36 {
		return apperr.BadInput("%s must be a GUID", arg)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return apperr.BadInput("%s must be a GUID", arg)
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return apperr.BadInput("%s must be a GUID", arg)
			}
		}
	}
	return nil
}

// pageFirst validates first.
func pageFirst(first *int) (int, error) {
	n := defaultFirst
	if first != nil {
		n = *first
	}
	if n < 1 || n > pager.MaxTake {
		return 0, apperr.BadInput("first must be between 1 and %d", pager.MaxTake)
	}
	return n, nil
}

// pageAfter decodes after for list l; null and "" are the start of the list.
func pageAfter(l pager.List, after *string) (pager.Cursor, error) {
	if after == nil {
		return pager.Cursor{}, nil
	}
	c, err := pager.Decode(l, *after)
	if err != nil {
		return pager.Cursor{}, apperr.BadInput("after is not a valid cursor for this list")
	}
	return c, nil
}
