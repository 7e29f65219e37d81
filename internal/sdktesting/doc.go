// Package sdktesting locates Adobe's on-device decisioning conformance data
// (the target-sdk-testing suites) for tests. The data is never copied into
// the repository: it is read from the directory named by the environment
// variable TARGETFLOW_SDK_TESTING, or else from ../shared/target-sdk-testing
// next to the module root. Tests that need the data skip, with a message
// saying where it was looked for, when it is absent.
package sdktesting
