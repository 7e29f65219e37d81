package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// Exit codes shared by every command.
const (
	exitOK          = 0
	exitFailed      = 1   // some records or lines failed
	exitUsage       = 2   // bad flags, configuration, artifact or checkpoint
	exitOutput      = 3   // the output, dead letters or checkpoint could not be written (full disk, closed pipe)
	exitInterrupted = 130 // stopped by SIGINT/SIGTERM
)

// demoArtifact, given to --artifact, means the bundled demo artifact in
// every command (a file named so is ./demo).
const demoArtifact = "demo"

// stdio is what a command reads from and writes to; tests fill it with buffers.
type stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// OutIsTerminal and ErrIsTerminal tell whether Out and Err are terminals
	// (the run command prints a summary instead of JSON, and a progress bar).
	OutIsTerminal bool
	ErrIsTerminal bool
}

// command is one subcommand: it parses args, does its work until ctx is
// cancelled, and returns the process exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, std stdio) int
}

func commands() []command {
	return []command{
		{"run", "bulk delivery of visitor records (no flags: the offline demo)", runCommand},
		{"decide", "on-device decisioning of Delivery API requests, JSON lines in and out", decideCommand},
		{"edge", "serve a local Delivery API edge from a rules artifact", edgeCommand},
	}
}

func main() {
	std := stdio{
		In:            os.Stdin,
		Out:           os.Stdout,
		Err:           os.Stderr,
		OutIsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
		ErrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
	}
	// A closed output pipe is an error a command reports (exit 3), not a
	// signal that kills it (exit 141).
	ignoreBrokenPipe()
	ctx, stop := interruptContext(std.Err)
	code := dispatch(ctx, os.Args[1:], std)
	stop()
	os.Exit(code)
}

// interruptContext returns a context cancelled by the first SIGINT or SIGTERM;
// a second signal exits the process at once with exitInterrupted.
func interruptContext(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-signals:
			fmt.Fprintln(stderr, "targetflow: interrupted, finishing in-flight work (interrupt again to exit now)")
			cancel()
		case <-done:
			return
		}
		select {
		case <-signals:
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(done)
		cancel()
	}
}

// dispatch runs the command named by args[0]; with no arguments it runs the
// bulk demo, the project's main job.
func dispatch(ctx context.Context, args []string, std stdio) int {
	if len(args) == 0 {
		return runCommand(ctx, nil, std)
	}
	name := args[0]
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], std)
		}
	}
	if name == "-h" || name == "--help" || name == "help" {
		usage(std.Out)
		return exitOK
	}
	fmt.Fprintf(std.Err, "targetflow: unknown command %q\n\n", name)
	usage(std.Err)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: targetflow <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `With no command, "targetflow" runs "targetflow run": the offline demo.`)
}
