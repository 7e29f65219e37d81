// Package kafkatest is what the Kafka tests share: an in-process kfake
// cluster of several brokers on loopback, and plain kgo clients that seed
// a topic, read one back to its end and read a group's offsets. It is a
// real (fake) cluster, not a mock: the code under test speaks the Kafka
// protocol to it.
package kafkatest
