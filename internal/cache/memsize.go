package cache

import (
	"math/bits"
	"reflect"
)

// MemSize estimates the heap bytes a decoded value holds: what its
// pointers, strings, slices, maps and interfaces reach, each allocation
// rounded up as Go's allocator does. It is what an in-process entry really
// weighs, which the body it came from may understate many times over: a
// metadata entry of `"a":"b",` is 8 bytes of JSON and some 90 of Go
// (a map slot, a string header, a *string and its target, a sorted entry).
// Values shared between entries count once per entry: the bound errs on the
// safe side.
func MemSize(v any) int {
	if v == nil {
		return 0
	}
	rv := reflect.ValueOf(v)
	return allocSize(int(rv.Type().Size())) + reached(rv)
}

// reached is what v reaches beyond its own inline bytes.
func reached(v reflect.Value) int {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		return allocSize(int(e.Type().Size())) + reached(e)
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		return allocSize(int(e.Type().Size())) + reached(e)
	case reflect.String:
		return allocSize(v.Len())
	case reflect.Slice:
		if v.IsNil() {
			return 0
		}
		n := allocSize(v.Cap() * int(v.Type().Elem().Size()))
		for i := range v.Len() {
			n += reached(v.Index(i))
		}
		return n
	case reflect.Array:
		n := 0
		for i := range v.Len() {
			n += reached(v.Index(i))
		}
		return n
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			n += reached(v.Field(i))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return 0
		}
		// Slots of key and value plus a control byte each, at a load of
		// at most 7/8 and up to twice the entries after growth: twice the
		// slots, and the map header.
		t := v.Type()
		n := 48 + allocSize(2*v.Len()*(int(t.Key().Size())+int(t.Elem().Size())+1))
		it := v.MapRange()
		for it.Next() {
			n += reached(it.Key()) + reached(it.Value())
		}
		return n
	}
	return 0
}

// allocSize rounds n up at least as far as Go's size classes do: 8, then
// multiples of 16 to 256, then steps of an eighth of the next power of two
// (the classes are never further apart than that); 0 stays 0.
func allocSize(n int) int {
	switch {
	case n <= 0:
		return 0
	case n <= 8:
		return 8
	case n <= 256:
		return (n + 15) &^ 15
	}
	step := 1 << (bits.Len(uint(n-1)) - 3)
	return (n + step - 1) / step * step
}
