"""The pseudo-terminal harness (tests/terminal.py) shows what a person would see, however
the tty splits what the command writes between reads, and Ctrl-C reaches the command
however the test run was started."""

from __future__ import annotations

import signal

from terminal import Terminal

# Writes its first argument (as bytes, escapes allowed) with the tty's output processing
# and echo off, waits for a line typed, then writes the second: the second part can only
# come in a read of its own.
TWO_PARTS = """
import os, sys, termios
attrs = termios.tcgetattr(1)
attrs[1] &= ~termios.OPOST
attrs[3] &= ~termios.ECHO
termios.tcsetattr(1, termios.TCSANOW, attrs)
first, second = (arg.encode().decode("unicode_escape").encode("latin-1") for arg in sys.argv[1:])
os.write(1, first)
sys.stdin.readline()
os.write(1, second)
sys.stdin.readline()
"""


def two_reads(first: str, shown_first: str, second: str, wanted: str) -> str:
    term = Terminal([first, second], program=("-c", TWO_PARTS))
    try:
        term.wait_for(shown_first)
        term.type("go\n")
        term.wait_for(wanted)
        term.type("end\n")
        assert term.wait_exit() == 0, term.output
        return term.output
    finally:
        term.close()


def test_a_line_end_split_between_reads_is_one_newline() -> None:
    # "\r" and "\n" of one line end (the tty writes them one by one) in two reads.
    assert two_reads("a: line\\r", "a: line\r", "\\n", "a: line\n") == "a: line\n"


def test_a_character_split_between_reads_is_decoded_whole() -> None:
    assert two_reads("x\\xc3", "x", "\\xa9\\n", "x\u00e9\n") == "x\u00e9\n"


def test_ctrl_c_reaches_the_command_when_the_test_run_ignores_it() -> None:
    # A test run started in the background (`make test &`) has SIGINT ignored; its
    # children inherit that unless the harness gives the command the default back.
    was = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        term = Terminal(["print('ready', flush=True); input()"], program=("-c",))
    finally:
        signal.signal(signal.SIGINT, was)
    try:
        term.wait_for("ready\n")
        term.interrupt()
        # Python's default for Ctrl-C: KeyboardInterrupt, and it ends by that signal.
        assert term.wait_exit() == -signal.SIGINT, term.output
    finally:
        term.close()
