package schema

// dataKind is the kind of a dataNode.
type dataKind uint8

const (
	dataString dataKind = iota + 1
	dataBool
	dataInt
	dataList
	dataStruct
)

// dataNode is a concrete value of a file the data evaluator read: a string, a boolean, an
// integer, a list or a struct whose fields are in the order CUE gives them.
type dataNode struct {
	kind   dataKind
	s      string
	b      bool
	i      int64
	elems  []*dataNode
	fields []dataField
	spec   *dataSpec // of a struct: what it was checked against
}

// dataField is a field of a struct node.
type dataField struct {
	name string
	v    *dataNode
}

// field returns the field called name of struct n, or nil.
func (n *dataNode) field(name string) *dataNode {
	for i := range n.fields {
		if n.fields[i].name == name {
			return n.fields[i].v
		}
	}
	return nil
}
