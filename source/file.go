package source

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/targetflow/targetflow/pipeline"
)

// fileInput is a source's input file as a checkpoint sees it
// (pipeline.Input): it identifies the file by its size and the digests of
// its first and last MiB, and on resume makes the source skip the records
// done and check that the record ending the done prefix is where the
// checkpoint says.
type fileInput struct {
	path string
	skipper
	checkAt  pipeline.Position // the checkpoint's last record of the done prefix
	verified bool
}

func newFileInput(path string, skip int64) *fileInput {
	return &fileInput{path: path, skipper: skipper{through: skip}}
}

// fileIdentity is what a checkpoint records of an input file.
type fileIdentity struct {
	Size int64  `json:"size"`
	Head string `json:"head"` // SHA-256 of the first MiB
	Tail string `json:"tail"` // SHA-256 of the last MiB
}

const identitySpan = 1 << 20

func (in *fileInput) Name() string { return in.path }

func (in *fileInput) Identify() (json.RawMessage, error) {
	if in.path == "-" {
		return nil, errors.New("standard input cannot be read again: checkpoint a file")
	}
	id, err := identifyFile(in.path)
	if err != nil {
		return nil, err
	}
	return json.Marshal(id)
}

func identifyFile(path string) (fileIdentity, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileIdentity{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fileIdentity{}, err
	}
	id := fileIdentity{Size: info.Size()}
	digest := func(off int64) (string, error) {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, off, identitySpan)); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	if id.Head, err = digest(0); err != nil {
		return id, err
	}
	if id.Tail, err = digest(max(id.Size-identitySpan, 0)); err != nil {
		return id, err
	}
	return id, nil
}

func (in *fileInput) Resume(identity json.RawMessage, through pipeline.Position, done []int64) error {
	var was fileIdentity
	if err := json.Unmarshal(identity, &was); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	now, err := identifyFile(in.path)
	if err != nil {
		return err
	}
	switch {
	case now.Size != was.Size:
		return fmt.Errorf("the file is %d bytes, the checkpoint's was %d: another file, or changed", now.Size, was.Size)
	case now.Head != was.Head || now.Tail != was.Tail:
		return errors.New("the file's content differs from the checkpoint's: another file, or changed")
	}
	in.through = max(in.through, through.Seq)
	in.done = make(map[int64]bool, len(done))
	for _, seq := range done {
		in.done[seq] = true
	}
	in.checkAt = through
	return nil
}

// verify checks the record ending the checkpoint's done prefix.
func (in *fileInput) verify(pos pipeline.Position) error {
	if in.checkAt.Seq == 0 || pos.Seq != in.checkAt.Seq {
		return nil
	}
	in.verified = true
	if pos.Line != in.checkAt.Line || pos.Offset != in.checkAt.Offset {
		return fmt.Errorf("record %d is at line %d (byte %d), the checkpoint says line %d (byte %d): the input does not match the checkpoint",
			pos.Seq, pos.Line, pos.Offset, in.checkAt.Line, in.checkAt.Offset)
	}
	return nil
}

// read opens the file (standard input for "-") and reads it with fn.
func (in *fileInput) read(fn func(io.Reader) error) error {
	var r io.Reader = os.Stdin
	if in.path != "-" {
		f, err := os.Open(in.path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if err := fn(r); err != nil {
		return err
	}
	if in.checkAt.Seq > 0 && !in.verified {
		return fmt.Errorf("the input ends before record %d, which the checkpoint records as done", in.checkAt.Seq)
	}
	return nil
}
