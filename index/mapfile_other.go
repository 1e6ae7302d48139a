//go:build !unix

package index

import "os"

// mapFile reads the file at path into memory where files cannot be mapped.
func mapFile(path string) (data []byte, unmap func(), err error) {
	data, err = os.ReadFile(path)
	return data, func() {}, err
}
