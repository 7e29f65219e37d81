package obfuscation

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Format constants of version 1.
const (
	// Prefix opens every obfuscated artifact.
	Prefix = "ATOD"
	// Version is the only format version this package reads and writes.
	Version = 1
	// KeyLength is the number of key bytes stored in the header.
	KeyLength = 32
	// HeaderLength is the size of the header that precedes the payload.
	HeaderLength = len(Prefix) + 1 + 3 + KeyLength
)

// Sentinel errors, matched with errors.Is on the *Error that Decode and
// Encode return.
var (
	// ErrMalformedHeader: the data is shorter than a header, does not start
	// with "ATOD:", or its version field is not three digits.
	ErrMalformedHeader = errors.New("malformed obfuscated artifact header")
	// ErrUnsupportedVersion: the header names a version other than 1.
	ErrUnsupportedVersion = errors.New("unsupported obfuscated artifact version")
	// ErrEmptyOrganizationID: no organization id was given; it is part of the key.
	ErrEmptyOrganizationID = errors.New("organization id is empty")
	// ErrInvalidKey: a key that is not KeyLength printable ASCII bytes.
	ErrInvalidKey = errors.New("invalid obfuscation key")
	// ErrWrongKey: the payload does not deobfuscate to a JSON object, because
	// the organization id is not the one the artifact was written for or
	// the payload is damaged.
	ErrWrongKey = errors.New("artifact does not deobfuscate to JSON: wrong organization id or corrupt payload")
)

// Error describes why an artifact could not be encoded or decoded.
type Error struct {
	// Op is "decode" or "encode".
	Op string
	// Field names the part at fault: "prefix", "version", "key",
	// "organizationId", "payload" or "length".
	Field string
	// Value is the offending value, quoted for the message (may be empty).
	Value string
	// Err is one of the sentinel errors of this package.
	Err error
}

func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("obfuscation: %s: %s: %v", e.Op, e.Field, e.Err)
	}
	return fmt.Sprintf("obfuscation: %s: %s %s: %v", e.Op, e.Field, e.Value, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Header is the parsed header of an obfuscated artifact.
type Header struct {
	Version int
	Key     string
}

// IsObfuscated reports whether data starts like an obfuscated artifact, so a
// reader can tell rules.bin from rules.json without knowing the source.
func IsObfuscated(data []byte) bool {
	return len(data) >= len(Prefix)+1 && string(data[:len(Prefix)]) == Prefix && data[len(Prefix)] == ':'
}

// ParseHeader reads and checks the header of an obfuscated artifact.
func ParseHeader(data []byte) (Header, error) {
	if len(data) < HeaderLength {
		return Header{}, &Error{Op: "decode", Field: "length", Value: strconv.Itoa(len(data)) + " bytes",
			Err: fmt.Errorf("%w: need at least %d bytes", ErrMalformedHeader, HeaderLength)}
	}
	if !IsObfuscated(data) {
		return Header{}, &Error{Op: "decode", Field: "prefix", Value: strconv.Quote(string(data[:len(Prefix)+1])),
			Err: fmt.Errorf("%w: want %q", ErrMalformedHeader, Prefix+":")}
	}
	versionField := data[len(Prefix)+1 : len(Prefix)+4]
	version := 0
	for _, c := range versionField {
		if c < '0' || c > '9' {
			return Header{}, &Error{Op: "decode", Field: "version", Value: strconv.Quote(string(versionField)),
				Err: fmt.Errorf("%w: version is not three digits", ErrMalformedHeader)}
		}
		version = version*10 + int(c-'0')
	}
	if version != Version {
		return Header{}, &Error{Op: "decode", Field: "version", Value: strconv.Itoa(version), Err: ErrUnsupportedVersion}
	}
	key := string(data[len(Prefix)+4 : HeaderLength])
	if err := checkKey(key); err != nil {
		return Header{}, &Error{Op: "decode", Field: "key", Value: strconv.Quote(key), Err: err}
	}
	return Header{Version: version, Key: key}, nil
}

// Decode returns the artifact JSON held in data, an obfuscated artifact
// written for organizationID. It never returns bytes that are not a JSON
// object: a wrong organization id gives an *Error wrapping ErrWrongKey.
func Decode(organizationID string, data []byte) ([]byte, error) {
	if organizationID == "" {
		return nil, &Error{Op: "decode", Field: "organizationId", Err: ErrEmptyOrganizationID}
	}
	header, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	payload := make([]byte, len(data)-HeaderLength)
	xorWith(payload, data[HeaderLength:], organizationID+header.Key)
	if !isJSONObject(payload) {
		return nil, &Error{Op: "decode", Field: "organizationId", Value: strconv.Quote(organizationID), Err: ErrWrongKey}
	}
	return payload, nil
}

// Encode obfuscates the artifact JSON payload for organizationID with key,
// which must be KeyLength printable ASCII bytes (see NewKey). The payload
// must be a JSON object, so that Decode can tell a right key from a wrong one.
func Encode(organizationID, key string, payload []byte) ([]byte, error) {
	if organizationID == "" {
		return nil, &Error{Op: "encode", Field: "organizationId", Err: ErrEmptyOrganizationID}
	}
	if err := checkKey(key); err != nil {
		return nil, &Error{Op: "encode", Field: "key", Value: strconv.Quote(key), Err: err}
	}
	if !isJSONObject(payload) {
		return nil, &Error{Op: "encode", Field: "payload", Err: errors.New("payload is not a JSON object")}
	}
	out := make([]byte, HeaderLength+len(payload))
	n := copy(out, Prefix)
	n += copy(out[n:], fmt.Sprintf(":%03d", Version))
	copy(out[n:], key)
	xorWith(out[HeaderLength:], payload, organizationID+key)
	return out, nil
}

// NewKey returns a random key of KeyLength printable ASCII bytes ('!'..'~')
// read from random, or from crypto/rand when random is nil.
func NewKey(random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	const first, span = '!', '~' - '!' + 1
	raw := make([]byte, KeyLength)
	if _, err := io.ReadFull(random, raw); err != nil {
		return "", fmt.Errorf("obfuscation: reading random key bytes: %w", err)
	}
	for i, b := range raw {
		raw[i] = first + b%span
	}
	return string(raw), nil
}

func checkKey(key string) error {
	if len(key) != KeyLength {
		return fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(key), KeyLength)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < '!' || key[i] > '~' {
			return fmt.Errorf("%w: byte %d (0x%02x) is not printable ASCII", ErrInvalidKey, i, key[i])
		}
	}
	return nil
}

// xorWith writes src XOR'ed with the repeating bytes of mask into dst.
func xorWith(dst, src []byte, mask string) {
	m := len(mask)
	for i, b := range src {
		dst[i] = b ^ mask[i%m]
	}
}

func isJSONObject(data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed)
}
