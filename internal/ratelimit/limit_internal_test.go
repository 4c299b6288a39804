package ratelimit

import (
	"math"
	"testing"
	"time"
)

func TestNewInterval(t *testing.T) {
	tests := []struct {
		rate float64
		want time.Duration
	}{
		{20, 50 * time.Millisecond},
		{0.5, 2 * time.Second},
		{2.5, 400 * time.Millisecond},
		{1.0 / 300, 300 * time.Second}, // UiPath: 300 per 5 minutes is 1/s; one per 5 minutes is this
		{1e9, time.Microsecond},        // never below the script's resolution
		{0, 0},                         // budget off
		{math.Inf(1), 0},
		{math.NaN(), 0},
	}
	for _, tt := range tests {
		if got := New(Config{Rate: tt.rate}).interval; got != tt.want {
			t.Errorf("New(Rate %v).interval = %v, want %v", tt.rate, got, tt.want)
		}
	}
}

func TestNewDefaultBurst(t *testing.T) {
	tests := []struct {
		rate  float64
		burst int
		want  int
	}{
		{rate: 20, want: 20},
		{rate: 2.5, want: 3},
		{rate: 0.5, want: 1},
		{rate: 20, burst: 5, want: 5},
		{rate: 0, want: 1},
	}
	for _, tt := range tests {
		if got := New(Config{Rate: tt.rate, Burst: tt.burst}).burst; got != tt.want {
			t.Errorf("New(Rate %v, Burst %d).burst = %d, want %d", tt.rate, tt.burst, got, tt.want)
		}
	}
}
