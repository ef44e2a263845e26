// Command edgectl validates, plans and serves edge config repos. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/edgectl/edge/schema"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitInvalid = 1 // the input is invalid (validation failed, status unhealthy, ...)
	exitUsage   = 2 // bad flags, I/O errors, unreachable services
)

// command is one edgectl subcommand. Each lives in its own file and registers itself in init.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func main() {
	// A config evaluation worker (see schema.Isolation) is this executable run again.
	schema.RunEvalWorkerIfRequested()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "edgectl: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: edgectl COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}

// parseFlags parses args with f for a command that takes no positional arguments. ok is false
// when the command must exit with code instead of running (help asked, bad flag, extra
// argument).
func parseFlags(f *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if f.NArg() > 0 {
		fmt.Fprintf(stderr, "edgectl %s: unexpected argument %q\n", f.Name(), f.Arg(0))
		return exitUsage, false
	}
	return 0, true
}

// parseArgs parses args with f for a command with positional arguments, which flags may
// follow ("validate DIR --format json"), and returns them. ok is false when the command must
// exit with code instead of running (help asked, bad flag).
func parseArgs(f *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		if f.NArg() == 0 {
			return pos, 0, true
		}
		pos, args = append(pos, f.Arg(0)), f.Args()[1:]
	}
}
