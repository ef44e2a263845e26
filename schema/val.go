package schema

import (
	"errors"
	"math/big"

	"cuelang.org/go/cue"
)

// val is a value the extractor reads: a value CUE evaluated, or a node of a file the data
// evaluator read and completed with the schema's defaults (dataeval.go). The extractor
// asks both the same questions, so a declaration does not depend on which evaluated it.
type val struct {
	c    cue.Value
	n    *dataNode // with data: the node; nil means the value does not exist
	data bool
	// declared: n is nil, and the struct it was looked up in declares the field. CUE's
	// Fields iterates over such a field as over an empty struct, and over a field no
	// definition declares not at all (an error).
	declared bool
}

// cueVal wraps a value CUE evaluated.
func cueVal(v cue.Value) val { return val{c: v} }

// dataVal wraps a node of the data evaluator; nil is a value that does not exist.
func dataVal(n *dataNode) val { return val{n: n, data: true} }

// errNotKind is the error of reading a data node as a kind it is not.
var errNotKind = errors.New("schema: value is not of that kind")

// Exists reports whether the value is set (or has a default).
func (v val) Exists() bool {
	if v.data {
		return v.n != nil
	}
	return v.c.Exists()
}

// lookup returns the field of struct v.
func (v val) lookup(field string) val {
	if v.data {
		if v.n == nil || v.n.kind != dataStruct {
			return dataVal(nil)
		}
		f := v.n.field(field)
		if f == nil && v.n.spec != nil && v.n.spec.declares(field) {
			return val{data: true, declared: true}
		}
		return dataVal(f)
	}
	return cueVal(v.c.LookupPath(cue.MakePath(cue.Str(field))))
}

// String returns a string value.
func (v val) String() (string, error) {
	if v.data {
		if v.n == nil || v.n.kind != dataString {
			return "", errNotKind
		}
		return v.n.s, nil
	}
	return v.c.String()
}

// Bool returns a boolean value.
func (v val) Bool() (bool, error) {
	if v.data {
		if v.n == nil || v.n.kind != dataBool {
			return false, errNotKind
		}
		return v.n.b, nil
	}
	return v.c.Bool()
}

// Int64 returns an integer value.
func (v val) Int64() (int64, error) {
	if v.data {
		if v.n == nil || v.n.kind != dataInt {
			return 0, errNotKind
		}
		return v.n.i, nil
	}
	return v.c.Int64()
}

// Int returns an integer value of any size (set into z when z is not nil).
func (v val) Int(z *big.Int) (*big.Int, error) {
	if v.data {
		if v.n == nil || v.n.kind != dataInt {
			return nil, errNotKind
		}
		if z == nil {
			z = new(big.Int)
		}
		return z.SetInt64(v.n.i), nil
	}
	return v.c.Int(z)
}

// List returns an iterator over the elements of a list.
func (v val) List() (*valIter, error) {
	if v.data {
		if v.n == nil || v.n.kind != dataList {
			return nil, errNotKind
		}
		return &valIter{data: true, elems: v.n.elems, i: -1}, nil
	}
	it, err := v.c.List()
	if err != nil {
		return nil, err
	}
	return &valIter{c: &it}, nil
}

// Fields returns an iterator over the regular fields of a struct.
func (v val) Fields() (*valIter, error) {
	if v.data {
		if v.declared {
			return &valIter{data: true, i: -1}, nil
		}
		if v.n == nil || v.n.kind != dataStruct {
			return nil, errNotKind
		}
		return &valIter{data: true, fields: v.n.fields, i: -1}, nil
	}
	it, err := v.c.Fields()
	if err != nil {
		return nil, err
	}
	return &valIter{c: it}, nil
}

// valIter iterates over the elements of a list or the fields of a struct.
type valIter struct {
	c      *cue.Iterator
	data   bool
	elems  []*dataNode
	fields []dataField
	i      int
}

// Next advances to the next element and reports whether there is one.
func (it *valIter) Next() bool {
	if !it.data {
		return it.c.Next()
	}
	it.i++
	return it.i < len(it.elems) || it.i < len(it.fields)
}

// Value is the current element.
func (it *valIter) Value() val {
	if !it.data {
		return cueVal(it.c.Value())
	}
	if it.elems != nil {
		return dataVal(it.elems[it.i])
	}
	return dataVal(it.fields[it.i].v)
}

// Label is the current field's name, unquoted.
func (it *valIter) Label() string {
	if !it.data {
		return it.c.Selector().Unquoted()
	}
	if it.fields == nil {
		return ""
	}
	return it.fields[it.i].name
}
