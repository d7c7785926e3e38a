// Package native is the SWIG-generated cgo layer under package sparsetrain (not public API).
// sparsetrain_native.go and wrap_go.c are SWIG's output for bindings/sparsetrain.i, committed so
// that the module builds with the go tool alone; //bindings/go:native_sync_test keeps them current.
package native

// The C library is found through its pkg-config file, which tools/install.sh PREFIX installs:
// PKG_CONFIG_PATH=PREFIX/lib/pkgconfig.

// #cgo pkg-config: sparsetrain
import "C"
