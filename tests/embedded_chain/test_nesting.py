"""Nesting bounds: JSON depth refused before parsing; runaway recursion is a RecursionError on any
thread, never a crash of the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from embedded_chain.nesting import MAX_JSON_DEPTH, JsonTooDeep, loads

RUNAWAY = textwrap.dedent(
    """
    import sys, threading
    import registry_api.app  # imports py_ecc, which raises the recursion limit to 100,000
    from embedded_chain.nesting import bound_recursion

    bound_recursion()

    class Runaway:  # ~740 bytes of C stack a level: the deepest user of the stack measured
        def __getattr__(self, name):
            return getattr(Runaway(), name)

    def run():
        try:
            Runaway().x
        except RecursionError:
            print("RecursionError", threading.current_thread().name, flush=True)

    run()
    thread = threading.Thread(target=run, name="worker")
    thread.start()
    thread.join()
    """
)


def test_runaway_recursion_is_a_recursion_error_on_the_main_thread_and_on_others() -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUNAWAY], capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["RecursionError MainThread", "RecursionError worker"]


def test_json_nested_deeper_than_the_bound_is_refused_before_parsing() -> None:
    fits = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH

    assert loads(fits) is not None
    with pytest.raises(JsonTooDeep, match="nests deeper than 32 levels"):
        loads("[" * 200_000)
    with pytest.raises(JsonTooDeep):
        loads(b'{"a": "' + b"[" * 100 + b'", "b": ' + b"{" * 33 + b"}" * 33 + b"}")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '{"title": "' + "[{" * 1_000 + '\\"]", "n": [1]}'

    assert loads(text) == {"title": "[{" * 1_000 + '"]', "n": [1]}
