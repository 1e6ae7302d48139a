// Package record turns one audit record (a CloudTrail event or a CodeCatalyst
// event log entry) into the Event model that codetrail indexes: typed common
// fields, the developer tool it belongs to, the resources it touched and every
// scalar leaf, while keeping the original bytes.
package record
