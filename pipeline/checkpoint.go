package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// CheckpointInterval is how often a run with WithCheckpoint writes its
// checkpoint while it runs (after a flush of the sinks); it is also written
// when the run starts and when it ends.
const CheckpointInterval = time.Second

// CheckpointVersion is the version of the checkpoint file format.
const CheckpointVersion = 1

// Input is a source's input as a checkpoint sees it. A source that reads a
// file declares one (WithInput) so that a run with a checkpoint records what
// it read and can resume it exactly.
type Input interface {
	// Name names the input in messages, e.g. its path.
	Name() string
	// Identify returns what identifies the input (such as a file's path,
	// size and digest), stored in the checkpoint.
	Identify() (json.RawMessage, error)
	// Resume is called before the source starts when the run resumes a
	// checkpoint: identity is what Identify returned then, through the last
	// record of the done prefix, done the Seqs done above it. The input
	// checks that it is the same input and makes the source emit only what
	// is not done, keeping the records' numbers. An error refuses the
	// checkpoint.
	Resume(identity json.RawMessage, through Position, done []int64) error
}

// Output is a sink's destination as a checkpoint sees it: a byte stream
// whose length says what was written. A sink that writes a file declares one
// (WithOutput).
type Output interface {
	// Name names the output in messages and in the checkpoint, e.g. its
	// path.
	Name() string
	// Open is called before the run starts. at is what a checkpoint
	// recorded for the output; nil on a run that resumes nothing. The
	// output checks that it matches (it is at least at.Length long and its
	// bytes before at.Length are those recorded) and truncates what follows;
	// it never truncates below at.Length. An error refuses the checkpoint.
	Open(at *OutputState) error
	// State returns the output's length (every byte the sink confirmed
	// items for) and a digest of its last bytes. It is called in the sink's
	// goroutine right after a flush.
	State() OutputState
	// Sync makes what State reported durable on the storage device; it is
	// called before a checkpoint that records it is written, from another
	// goroutine than the sink's.
	Sync() error
	// Close is called when the run has ended.
	Close() error
}

// OutputState is what a checkpoint records of one output.
type OutputState struct {
	// Name is the output's name.
	Name string `json:"name"`
	// Length is the number of bytes written and confirmed.
	Length int64 `json:"length"`
	// Tail is a digest of the last bytes before Length, with which the
	// output recognises itself on resume.
	Tail string `json:"tail,omitempty"`
}

// Checkpoint is the content of a checkpoint file.
type Checkpoint struct {
	Version int       `json:"version"`
	Written time.Time `json:"written"`
	// Complete is true when the run that wrote it processed its whole
	// input: resuming it does nothing.
	Complete bool             `json:"complete"`
	Input    InputCheckpoint  `json:"input"`
	Outputs  []OutputState    `json:"outputs"`
	Stats    *CheckpointStats `json:"stats,omitempty"`
}

// InputCheckpoint is what a checkpoint records of the input.
type InputCheckpoint struct {
	Name     string          `json:"name"`
	Identity json.RawMessage `json:"identity,omitempty"`
	// Through is the last record of the done prefix.
	Through Position `json:"through"`
	// Done are the Seqs of the records done above Through, as ranges of
	// consecutive numbers: [[first, last], ...].
	Done SeqRanges `json:"done"`
}

// CheckpointStats are the figures of the runs up to the checkpoint.
type CheckpointStats struct {
	Written int64 `json:"written"`
	OK      int64 `json:"ok"`
	Failed  int64 `json:"failed"`
}

// SeqRanges is a set of sequence numbers, in JSON as ranges of consecutive
// numbers.
type SeqRanges []int64

// MarshalJSON writes the set as [[first, last], ...].
func (r SeqRanges) MarshalJSON() ([]byte, error) {
	out := [][2]int64{}
	for i := 0; i < len(r); {
		j := i
		for j+1 < len(r) && r[j+1] == r[j]+1 {
			j++
		}
		out = append(out, [2]int64{r[i], r[j]})
		i = j + 1
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads ranges written by MarshalJSON.
func (r *SeqRanges) UnmarshalJSON(data []byte) error {
	var ranges [][2]int64
	if err := json.Unmarshal(data, &ranges); err != nil {
		return err
	}
	*r = nil
	for _, rg := range ranges {
		if rg[1] < rg[0] || rg[1]-rg[0] > 1<<24 {
			return fmt.Errorf("bad range [%d, %d]", rg[0], rg[1])
		}
		for seq := rg[0]; seq <= rg[1]; seq++ {
			*r = append(*r, seq)
		}
	}
	slices.Sort(*r)
	return nil
}

// ReadCheckpoint reads the checkpoint file at path. A missing file is
// reported with an error matching fs.ErrNotExist.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Checkpoint
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, &CheckpointError{Path: path, What: "file", Reason: "not a checkpoint", Err: err}
	}
	if c.Version != CheckpointVersion {
		return nil, &CheckpointError{Path: path, What: "file", Reason: fmt.Sprintf("version %d, want %d", c.Version, CheckpointVersion)}
	}
	return &c, nil
}

// writeCheckpoint writes c to path atomically: a temporary file in the same
// directory, synced, renamed over path, and the directory synced.
func writeCheckpoint(path string, c *Checkpoint) error {
	data, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, nothing to remove
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil && !errors.Is(err, fs.ErrInvalid) {
			return err
		}
	}
	return nil
}

// checkpointer writes the checkpoints of one run: snapshots are taken in the
// sink's goroutine after a flush, and written by a goroutine of its own so
// that syncing the outputs does not hold the sink up.
type checkpointer[T any] struct {
	path    string
	rt      *runtime[T]
	input   InputCheckpoint
	outputs []Output
	base    CheckpointStats // figures of the runs before this one

	last  time.Time
	snaps chan *Checkpoint
	wg    sync.WaitGroup
	err   error // of the background writer, read after wg.Wait
}

// start writes the first checkpoint and starts the background writer.
func (c *checkpointer[T]) start() error {
	if err := c.write(c.snapshot(false)); err != nil {
		return err
	}
	c.last = time.Now()
	c.snaps = make(chan *Checkpoint, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for snap := range c.snaps {
			if c.err != nil {
				continue
			}
			if err := c.write(snap); err != nil {
				c.err = err
				c.rt.fail(err)
			}
		}
	}()
	return nil
}

// flushed is called by the sink after every successful flush (final: the
// last, when the sink has finished): it hands a snapshot to the writer
// when the interval has passed, and writes the last one itself. A nil
// checkpointer does nothing.
func (c *checkpointer[T]) flushed(final bool) {
	if c == nil {
		return
	}
	if !final {
		if time.Since(c.last) < CheckpointInterval {
			return
		}
		c.last = time.Now()
		snap := c.snapshot(false)
		select {
		case <-c.snaps: // an older one not yet written: this one replaces it
		default:
		}
		c.snaps <- snap
		return
	}
	close(c.snaps)
	c.wg.Wait()
	complete := c.rt.fatalErr() == nil && c.rt.stopCtx.Err() == nil
	if err := c.write(c.snapshot(complete)); err != nil && c.err == nil {
		c.err = err
		c.rt.fail(err)
	}
}

func (c *checkpointer[T]) snapshot(complete bool) *Checkpoint {
	commit := c.rt.tracker.Commit()
	in := c.input
	in.Through, in.Done = commit.Through, commit.Done
	snap := &Checkpoint{Version: CheckpointVersion, Written: time.Now().UTC(), Input: in,
		Complete: complete && commit.Pending == 0}
	for _, o := range c.outputs {
		snap.Outputs = append(snap.Outputs, o.State())
	}
	t := c.rt.totals
	snap.Stats = &CheckpointStats{Written: c.base.Written + t.written.Load(), OK: c.base.OK + t.ok.Load(), Failed: c.base.Failed + t.failed.Load()}
	return snap
}

func (c *checkpointer[T]) write(snap *Checkpoint) error {
	for _, o := range c.outputs {
		if err := o.Sync(); err != nil {
			return &CheckpointError{Path: c.path, What: o.Name(), Reason: "cannot sync the output", Err: err}
		}
	}
	if err := writeCheckpoint(c.path, snap); err != nil {
		return &CheckpointError{Path: c.path, What: "file", Reason: "cannot write", Err: err}
	}
	return nil
}

// resume prepares a checkpointed run: it reads the checkpoint (if any),
// resumes the input and opens the outputs at the recorded state.
func (c *checkpointer[T]) resume(in Input, outputs []Output) (*Tracker, error) {
	if in == nil {
		return nil, &CheckpointError{Path: c.path, What: "input", Reason: "the source declares no input (WithInput): it cannot be resumed"}
	}
	identity, err := in.Identify()
	if err != nil {
		return nil, &CheckpointError{Path: c.path, What: "input", Reason: "cannot identify " + in.Name(), Err: err}
	}
	c.input = InputCheckpoint{Name: in.Name(), Identity: identity}
	c.outputs = outputs
	prev, err := ReadCheckpoint(c.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		for _, o := range outputs {
			if err := o.Open(nil); err != nil {
				return nil, err
			}
		}
		return NewTracker(Position{}, nil), nil
	case err != nil:
		var ce *CheckpointError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, &CheckpointError{Path: c.path, What: "file", Reason: "cannot read", Err: err}
	}
	if prev.Input.Name != in.Name() {
		return nil, &CheckpointError{Path: c.path, What: "input", Reason: fmt.Sprintf("the checkpoint is of input %q, not %q", prev.Input.Name, in.Name())}
	}
	if len(prev.Outputs) != len(outputs) {
		return nil, &CheckpointError{Path: c.path, What: "outputs", Reason: fmt.Sprintf("the checkpoint records %d outputs, the run has %d", len(prev.Outputs), len(outputs))}
	}
	for i, o := range outputs {
		if prev.Outputs[i].Name != o.Name() {
			return nil, &CheckpointError{Path: c.path, What: "outputs", Reason: fmt.Sprintf("output %d is %q in the checkpoint, %q in the run", i+1, prev.Outputs[i].Name, o.Name())}
		}
	}
	if err := in.Resume(prev.Input.Identity, prev.Input.Through, prev.Input.Done); err != nil {
		return nil, &CheckpointError{Path: c.path, What: "input", Reason: "does not match " + in.Name(), Err: err}
	}
	for i, o := range outputs {
		if err := o.Open(&prev.Outputs[i]); err != nil {
			return nil, &CheckpointError{Path: c.path, What: o.Name(), Reason: "does not match the output", Err: err}
		}
	}
	if prev.Stats != nil {
		c.base = *prev.Stats
	}
	return NewTracker(prev.Input.Through, prev.Input.Done), nil
}
