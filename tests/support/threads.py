"""Running one piece of test code in several threads at once."""
from __future__ import annotations

import threading


def all_at_once(n: int, target, timeout: float = 60) -> list:
    """Call ``target()`` in ``n`` threads released together by a barrier; return what
    each returned. An exception in any thread fails the test, after all have ended."""
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread is still running"
    if errors:
        raise errors[0]
    return results
