package edge

import (
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// encoder is a streaming compressor: zstd, brotli or gzip writer.
type encoder interface {
	io.WriteCloser
	Flush() error
	Reset(w io.Writer)
}

// Levels for compression on the fly: the fast end of each format's good ratios, about
// nginx's and Caddy's defaults for gzip.
const (
	gzipLevel   = 5
	brotliLevel = 4
	brotliLGWin = 18 // 256 KiB window: 2 MiB an encoder, not 3.5 (lgwin 20), same ratio on web bodies
	zstdWindow  = 1 << 20
)

// maxEncoders bounds the encoders in use at once, each holding its state (1 to 2 MiB); a
// response that finds none free goes uncompressed. So memory stays bounded however many
// compressed streams (SSE) are open; 64 per CPU is more than compression can keep busy.
var maxEncoders = int64(64 * runtime.GOMAXPROCS(0))

var encodersInUse atomic.Int64

// Bounds on the idle encoders kept for reuse: at most maxIdleEncoders of each coding, each
// dropped once unused for encoderIdleTimeout. So memory follows the compressed responses
// in flight, with a little slack, and falls back once they stop.
var (
	maxIdleEncoders    = 4 * runtime.GOMAXPROCS(0)
	encoderIdleTimeout = 10 * time.Second
)

// encoderPools hold the idle encoders by coding.
var encoderPools = map[string]*encoderPool{
	"gzip": {size: 1 << 20, newFn: func() encoder {
		w, _ := gzip.NewWriterLevel(nil, gzipLevel) // the level is valid
		return w
	}},
	"br": {size: 2 << 20, newFn: func() encoder {
		return brotli.NewWriterOptions(nil, brotli.WriterOptions{Quality: brotliLevel, LGWin: brotliLGWin})
	}},
	"zstd": {size: 3 << 19, newFn: func() encoder {
		w, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow), zstd.WithLowerEncoderMem(true)) // the options are valid
		return w
	}},
}

// newEncoder returns a new encoder of coding, writing nowhere until Reset.
func newEncoder(coding string) encoder { return encoderPools[coding].newFn() }

// getEncoder returns an encoder of coding writing to w, or nil when maxEncoders are in
// use. Give it back with putEncoder.
func getEncoder(coding string, w io.Writer) encoder {
	if encodersInUse.Add(1) > maxEncoders {
		encodersInUse.Add(-1)
		return nil
	}
	e := encoderPools[coding].get()
	e.Reset(w)
	return e
}

// putEncoder returns e, of coding, to its pool, detached from its writer.
func putEncoder(coding string, e encoder) {
	e.Reset(io.Discard)
	encoderPools[coding].put(e)
	encodersInUse.Add(-1)
}
