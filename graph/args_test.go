package graph

import (
	"errors"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/apperr"
)

// badInput reports whether err is a BAD_USER_INPUT error.
func badInput(err error) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && ae.Code == apperr.BadUserInput
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"hogwarts", true},
		{strings.Repeat("a", 50), true},
		{strings.Repeat("é", 50), true}, // characters, not bytes
		{strings.Repeat("a", 51), false},
		{"", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"a\u0085b", false},
		{"\xff", false},
		{"a/b", false},
		{`a\b`, false},
		{"a?b", false},
		{"a#b", false},
		{"a%2F", false},
		{".", false},
		{"..", false},
		{"...", true},
	} {
		err := checkText("name", tc.v, 50)
		if tc.ok != (err == nil) || err != nil && !badInput(err) {
			t.Errorf("checkText(%q) = %v, want ok %v", tc.v, err, tc.ok)
		}
		if err != nil && len(tc.v) > 2 && strings.Contains(err.Error(), tc.v) {
			t.Errorf("checkText(%q): the message echoes the value: %v", tc.v, err)
		}
	}
}

func TestCheckUUID(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"3fa85f64-5717-4562-b3fc-2c963f66afa6", true},
		{"3FA85F64-5717-4562-B3FC-2C963F66AFA6", true},
		{"3fa85f64-5717-4562-b3fc-2c963f66afa", false},
		{"3fa85f64-5717-4562-b3fc-2c963f66afa67", false},
		{"3fa85f64x5717-4562-b3fc-2c963f66afa6", false},
		{"3fa85f64-5717x4562-b3fc-2c963f66afa6", false},
		{"3fa85f64-5717-4562xb3fc-2c963f66afa6", false},
		{"3fa85f64-5717-4562-b3fcx2c963f66afa6", false},
		{"3fa85f64-5717-4562-b3fc-2c963f66afag", false},
		{"", false},
	} {
		if err := checkUUID("partitionGlobalId", tc.v); tc.ok != (err == nil) || err != nil && !badInput(err) {
			t.Errorf("checkUUID(%q) = %v, want ok %v", tc.v, err, tc.ok)
		}
	}
}

func TestPageFirst(t *testing.T) {
	ptr := func(n int) *int { return &n }
	for _, tc := range []struct {
		first *int
		want  int // 0: refused
	}{
		{nil, defaultFirst},
		{ptr(1), 1},
		{ptr(100), 100},
		{ptr(0), 0},
		{ptr(-1), 0},
		{ptr(101), 0},
	} {
		n, err := pageFirst(tc.first)
		if tc.want == 0 {
			if !badInput(err) {
				t.Errorf("pageFirst(%d) = %d, %v: want BAD_USER_INPUT", *tc.first, n, err)
			}
			continue
		}
		if err != nil || n != tc.want {
			t.Errorf("pageFirst = %d, %v: want %d", n, err, tc.want)
		}
	}
}
