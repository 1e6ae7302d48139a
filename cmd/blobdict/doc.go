// Command blobdict builds the zstd dictionary that index compresses stored
// records with (index/blobdict), from events of the project's generator.
//
// It was run once to make index/blobdict/v1.dict. That file must never
// change: every record stored with blob version 2 needs it to be read back.
// A better dictionary is a new file with a new dictionary ID and a new blob
// version beside the old ones.
package main
