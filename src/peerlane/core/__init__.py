"""The sans-I/O core: wire messages, codes, credentials and state machines.

Nothing in this package performs I/O, reads the clock or starts a task: callers pass
time in and act on the outputs. That keeps it testable without an event loop and lets
the server, the aiortc peer and the tests drive the same logic.
"""
