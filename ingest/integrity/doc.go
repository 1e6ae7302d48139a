// Package integrity checks CloudTrail log file integrity and completeness
// from digest files, the way `aws cloudtrail validate-logs` does, but against
// what codetrail actually ingested.
//
// A Checker is fed digest files (body as stored plus the hex signature from
// the x-amz-meta-signature object metadata) and the SHA-256 of every log file
// ingested. Check then verifies each digest's RSA signature (SHA256withRSA,
// public keys from CloudTrail ListPublicKeys matched by fingerprint), follows
// the previousDigest* chain of each trail, and compares every log file a
// digest lists with what was ingested. The Report lists missing files, hash
// mismatches, broken chains and unsigned or badly signed digests per account
// and region.
//
// Hashes follow AWS's definition (and the aws-cli implementation): a log file
// hash and a digest hash are SHA-256 of the uncompressed content, not of the
// gzip bytes stored in S3. HashLog computes it from either form.
package integrity
