package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// maxWeight bounds one mix weight. The schedule is expanded to one slot per
// unit of weight, so an absurd weight would only waste memory; ratios beyond
// 1000:1 are not a meaningful mix anyway.
const maxWeight = 1000

// MixEntry is one query of a mix with its relative weight.
type MixEntry struct {
	// Query is the query sent for this entry.
	Query Query
	// Weight is how many of every sum-of-weights requests use this query.
	Weight int
}

// Mix is a weighted list of queries, in the order given on the command line.
type Mix []MixEntry

// DefaultMix is every built-in query with weight 1.
func DefaultMix() Mix {
	qs := Queries()
	m := make(Mix, len(qs))
	for i, q := range qs {
		m[i] = MixEntry{Query: q, Weight: 1}
	}
	return m
}

// ParseMix parses a -mix value: a comma list of built-in query names, each
// with an optional ":weight" (a positive integer, default 1). An empty or
// blank string means [DefaultMix]. Unknown names, repeated names, empty items
// and bad weights are errors, because a typo silently dropping a query would
// make a run measure something else than intended.
func ParseMix(s string) (Mix, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultMix(), nil
	}
	var m Mix
	seen := make(map[string]bool)
	for item := range strings.SplitSeq(s, ",") {
		name, weightText, hasWeight := strings.Cut(strings.TrimSpace(item), ":")
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("mix %q: empty query name", s)
		}
		weight := 1
		if hasWeight {
			w, err := strconv.Atoi(strings.TrimSpace(weightText))
			if err != nil || w < 1 || w > maxWeight {
				return nil, fmt.Errorf("mix %q: weight of %q must be an integer from 1 to %d", s, name, maxWeight)
			}
			weight = w
		}
		q, ok := Lookup(name)
		if !ok {
			return nil, fmt.Errorf("mix %q: unknown query %q (known: %s)", s, name, strings.Join(queryNames(), ", "))
		}
		if seen[name] {
			return nil, fmt.Errorf("mix %q: query %q named twice; give it one weight instead", s, name)
		}
		seen[name] = true
		m = append(m, MixEntry{Query: q, Weight: weight})
	}
	return m, nil
}

func queryNames() []string {
	qs := Queries()
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name
	}
	return names
}

// String formats m the way ParseMix reads it, with explicit weights, so the
// report shows exactly what ran.
func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, e := range m {
		parts[i] = e.Query.Name + ":" + strconv.Itoa(e.Weight)
	}
	return strings.Join(parts, ",")
}

// schedule expands m into a sequence of entry indexes, one slot per unit of
// weight, interleaved by smooth weighted round-robin. Request n uses slot
// n % len; because n is global across workers the whole run keeps the exact
// ratio, and the interleaving keeps short runs (or the first seconds of a
// long one) mixed instead of sending all of one query first.
func (m Mix) schedule() []int {
	total := 0
	for _, e := range m {
		total += e.Weight
	}
	seq := make([]int, 0, total)
	current := make([]int, len(m))
	for range total {
		best := 0
		for i, e := range m {
			current[i] += e.Weight
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		seq = append(seq, best)
	}
	return seq
}
