package kafka

import (
	"fmt"
)

// ConfigError is a configuration that NewConsumer, NewProducer or ParseURL
// refused: which field, with which value, and why.
type ConfigError struct {
	// Field names the setting at fault (a URL parameter's name for
	// ParseURL).
	Field string
	// Value is the value given, if any.
	Value string
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, if one caused the refusal (a CA file
	// that cannot be read, say); Reason is then its text.
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("kafka: %s %q: %s", e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("kafka: %s: %s", e.Field, e.Reason)
}

// Unwrap returns the underlying error, if any.
func (e *ConfigError) Unwrap() error { return e.Err }

// RecordError is the failure of one Kafka record: a consumed message that
// could not be decoded (Op "decode": the item carries it and is
// dead-lettered), or a result that the brokers did not take (Op
// "produce": fatal to the run). It names the record's topic, partition
// and offset.
type RecordError struct {
	// Op is "decode" or "produce".
	Op string
	// Topic and Partition name the record's partition; Partition is -1
	// for a produced record that was never assigned one.
	Topic     string
	Partition int32
	// Offset is the record's offset; -1 for a produced record the brokers
	// did not take.
	Offset int64
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *RecordError) Error() string {
	switch {
	case e.Op == "decode":
		return fmt.Sprintf("kafka: topic %s partition %d offset %d: cannot decode the message: %v", e.Topic, e.Partition, e.Offset, e.Err)
	case e.Partition < 0:
		return fmt.Sprintf("kafka: producing to topic %s: %v", e.Topic, e.Err)
	}
	return fmt.Sprintf("kafka: producing to topic %s partition %d: %v", e.Topic, e.Partition, e.Err)
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }
