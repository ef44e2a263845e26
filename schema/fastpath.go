package schema

// siteFastPath evaluates site files without CUE when it can. The loader asks it first, and
// evaluates with CUE (in a worker process when isolation is on) each file it declines.
type siteFastPath interface {
	// evalSite returns the declaration of site name written in file, the very one CUE's
	// evaluation and the extractor make of src, and true; or false when it declines. It
	// declines every file that has a diagnostic, so CUE reports them.
	evalSite(name, file string, src []byte) (*siteDecl, bool)
}

// newFastPath makes a new Loader's siteFastPath (tests of the CUE path make none).
var newFastPath = func() siteFastPath { return dataFastPath{} }

// maxFastFileSize bounds the files the data evaluator reads. It runs in the loader's
// process, not in an isolated worker (Isolation), so it takes only files whose parse and
// checks cost little; a site needs a few hundred bytes, a larger file goes to CUE.
const maxFastFileSize = 64 << 10

// dataFastPath is the siteFastPath of files that are plain data of a shape the data
// evaluator knows (dataeval.go).
type dataFastPath struct{}

func (dataFastPath) evalSite(name, file string, src []byte) (d *siteDecl, ok bool) {
	if len(src) > maxFastFileSize {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			d, ok = nil, false
		}
	}()
	f, ds := parseFile(file, src)
	if ds != nil {
		return nil, false
	}
	namePos, ds := checkShape(file, name, f, siteFile)
	if ds != nil {
		return nil, false
	}
	if ds := checkSubset(file, f); ds != nil {
		return nil, false
	}
	n, ok := dataSiteValue(f, name)
	if !ok {
		return nil, false
	}
	d, ds = extractSite(name, file, namePos, dataVal(n), buildIndex(f))
	if len(ds) > 0 {
		return nil, false
	}
	return d, true
}
