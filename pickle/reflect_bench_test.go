package pickle

import (
	"reflect"
	"testing"
)

type benchSmall struct {
	ID    int64
	Name  string
	Score float64
	On    bool
}

type benchMedium struct {
	ID     int
	Name   string `pickle:"name"`
	Tags   []string
	Attrs  map[string]int
	Inner  benchSmall
	Points [][2]float64
}

var benchMediumValue = benchMedium{
	ID: 1, Name: "medium", Tags: []string{"a", "b", "c"},
	Attrs:  map[string]int{"x": 1, "y": 2, "z": 3},
	Inner:  benchSmall{ID: 2, Name: "inner", Score: 0.5, On: true},
	Points: [][2]float64{{1, 2}, {3, 4}},
}

func BenchmarkFromGoSmallStruct(b *testing.B) {
	v := reflect.ValueOf(benchSmall{ID: 7, Name: "x", Score: 1.5, On: true})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fromGo(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromGoMediumStruct(b *testing.B) {
	v := reflect.ValueOf(&benchMediumValue)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fromGo(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAssignSmallStruct(b *testing.B) {
	src := dictOf("ID", int64(7), "Name", "x", "Score", 1.5, "On", true)
	var dst benchSmall
	v := reflect.ValueOf(&dst).Elem()
	b.ReportAllocs()
	for b.Loop() {
		if err := assignValue(v, src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAssignMediumStruct(b *testing.B) {
	src, err := fromGo(reflect.ValueOf(benchMediumValue))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var dst benchMedium
		if err := assignValue(reflect.ValueOf(&dst).Elem(), src); err != nil {
			b.Fatal(err)
		}
	}
}
