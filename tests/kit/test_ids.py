"""`new_id` hands out buffered random bits: never the same id twice, also across a fork."""

from __future__ import annotations

import os
import re

from agentry.kit.ids import new_id


def test_ids_are_unique_well_formed_and_span_refills() -> None:
    ids = [new_id("inv") for _ in range(2000)]  # several buffer refills
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"inv_[0-9a-f]{30}", i) for i in ids)


def test_a_forked_child_does_not_repeat_the_parents_next_ids() -> None:
    new_id("x")  # the buffer holds unused bits now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        os.write(write, " ".join(new_id("x") for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {new_id("x") for _ in range(10)}
    assert len(child) == 10
    assert not child & parent
