"""Compiler options shared by BUILD files."""

# Programs and tests on the C API are strict C11: they show the header works for C users.
C11_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
]
