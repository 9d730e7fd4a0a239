// Package snsfilter parses, validates and evaluates SNS subscription
// filter policies as AWS does: exact strings, numbers, booleans and null;
// prefix, suffix, equals-ignore-case; anything-but (values, prefix, suffix,
// equals-ignore-case); numeric equality and ranges; exists; cidr; and $or,
// nested keys for the MessageBody scope, and AWS's limits (5 keys, 150
// combinations).
//
// Validation errors carry AWS's text, including the Jackson source
// position AWS appends ("\n at [Source: (String)"…"; line: 1, column:
// N]"), so that a client sees what it would see from AWS.
//
// Divergence from the recorded AWS responses: AWS once refused
// {"anything-but": {"suffix": …}} ("Unsupported anything-but pattern:
// suffix"); it is accepted here, as AWS accepts it today.
package snsfilter
