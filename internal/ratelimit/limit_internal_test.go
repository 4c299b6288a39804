package ratelimit

import (
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
)

func TestGCRALimit(t *testing.T) {
	tests := []struct {
		perSecond float64
		want      redis_rate.Limit
	}{
		{20, redis_rate.Limit{Rate: 20, Burst: 7, Period: time.Second}},
		{0.5, redis_rate.Limit{Rate: 30, Burst: 7, Period: time.Minute}},
		{2.5, redis_rate.Limit{Rate: 150, Burst: 7, Period: time.Minute}},
		{1.0 / 300, redis_rate.Limit{Rate: 12, Burst: 7, Period: time.Hour}}, // 1 per 5 minutes
		{1.0 / 7, redis_rate.Limit{Rate: 514, Burst: 7, Period: time.Hour}},  // rounded per hour
		{1e-6, redis_rate.Limit{Rate: 1, Burst: 7, Period: time.Hour}},       // never below 1/hour
	}
	for _, tt := range tests {
		if got := gcraLimit(tt.perSecond, 7); got != tt.want {
			t.Errorf("gcraLimit(%v) = %v, want %v", tt.perSecond, got, tt.want)
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
