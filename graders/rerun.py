"""Running a notebook's experiment again, as the hidden part of its check does.

A value the notebook computed (a training accuracy, a loss history, a sweep of accuracies...) is worth
points only if it is what the notebook's procedure gives with the student's own functions. So the hidden
part of an experiment check runs that procedure again (``graders.<topic>``, or the topic's hidden module
where the procedure is an exercise's solution) and compares. In the trusted re-check every call of a
student's function is a round trip to the student's kernel, and the rest of the procedure is the judge's
own numpy work; two helpers keep that fast:

- :func:`one_blas_thread`: the course's matrices are small; in a busy grading process a multi-threaded
  BLAS makes each product many times slower (the notebooks' own kernels run on one BLAS thread too,
  see ``tnn_course.activate``);
- :class:`Lockstep`: independent runs of one procedure (one per weight scale, say) side by side, their
  calls of the same student function batched into one round trip each time all of them wait.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Callable

from .checking import prefetch


@contextlib.contextmanager
def one_blas_thread():
    """numpy's BLAS on one thread inside the block (where threadpoolctl, installed with scikit-learn, is)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


class Lockstep:
    """Runs independent procedures side by side, one thread each, and makes their calls of a function
    together: when every running procedure waits on a call, the calls of each function go out as one batch
    (:func:`graders.checking.prefetch`: one round trip to the student's kernel in the re-check instead of one
    per call). Each call keeps its own result, exception and in-place changes to its arguments.

    Use ``f = lockstep.wrap(student_f)`` inside the procedures, then ``lockstep.run([job, ...])``."""

    def __init__(self):
        self.cond = threading.Condition()
        self.pending: list[dict] = []
        self.running = 0
        self.stopped: BaseException | None = None

    def wrap(self, f: Callable) -> Callable:
        def batched(*args, **kwargs):
            slot = {"f": f, "args": args, "kwargs": kwargs, "done": False}
            with self.cond:
                if self.stopped is not None:
                    raise RuntimeError("the batched runs were stopped") from self.stopped
                self.pending.append(slot)
                self.cond.notify_all()
                while not slot["done"]:
                    self.cond.wait()
            if "error" in slot:
                raise slot["error"]
            return slot["result"]
        return batched

    @staticmethod
    def _dispatch(batch: list[dict]) -> None:
        groups: dict[int, list[dict]] = {}
        for slot in batch:
            groups.setdefault(id(slot["f"]), []).append(slot)
        for slots in groups.values():
            stand_ins = prefetch(slots[0]["f"], [(list(s["args"]), dict(s["kwargs"])) for s in slots])
            for slot, stand_in in zip(slots, stand_ins):
                try:
                    slot["result"] = stand_in(*slot["args"], **slot["kwargs"])
                except Exception as err:  # noqa: BLE001 - the call's own failure, raised in its procedure
                    slot["error"] = err

    def run(self, jobs: list[Callable]) -> list:
        """``[job() for job in jobs]``, the jobs running side by side; the first exception is raised. Student
        calls are made from the calling thread only (the one that talks to the student's kernel)."""
        results, errors = [None] * len(jobs), [None] * len(jobs)

        def target(k):
            try:
                results[k] = jobs[k]()
            except BaseException as err:  # noqa: BLE001 - handed to the caller below
                errors[k] = err
            finally:
                with self.cond:
                    self.running -= 1
                    self.cond.notify_all()

        self.running = len(jobs)
        threads = [threading.Thread(target=target, args=(k,), daemon=True) for k in range(len(jobs))]
        for t in threads:
            t.start()
        try:
            while True:
                with self.cond:
                    while self.running and len(self.pending) < self.running:
                        self.cond.wait()
                    if not self.running:
                        break
                    batch, self.pending = self.pending, []
                try:
                    self._dispatch(batch)
                finally:
                    with self.cond:
                        for slot in batch:
                            if "result" not in slot and "error" not in slot:
                                slot["error"] = RuntimeError("the batched call was not made")
                            slot["done"] = True
                        self.cond.notify_all()
        except BaseException as err:  # a time limit, the kernel gone: release every waiting procedure
            with self.cond:
                self.stopped = err
                for slot in self.pending:
                    slot["error"], slot["done"] = RuntimeError("the batched runs were stopped"), True
                self.pending = []
                self.cond.notify_all()
            raise
        for t in threads:
            t.join()
        for err in errors:
            if err is not None:
                raise err
        return results


# ---------------------------------------------------------------- the size the notebook ran at
# Notebooks shrink their experiments while nbgrader runs them (``utils.fast_mode``). The student's kernel and
# the process re-checking it need not agree on that (the kernel's environment is the sandbox's), so a rerun
# takes the size from the notebook's values where they show it, and otherwise tries both: a value computed
# at one size matches only the rerun at that size, so trying both accepts nothing that was not computed.
def fast_modes() -> list[bool]:
    """``[this process's utils.fast_mode(), the other]``: the order in which to try the two sizes."""
    from utils import fast_mode

    return [fast_mode(), not fast_mode()]


def mode_of(size, sizes: dict, what: str) -> bool:
    """Whether ``size`` (a length the notebook's values show) is the fast size of ``sizes`` =
    ``{"fast": ..., "full": ...}``; a failure naming both sizes when it is neither."""
    from .checking import fail

    for name, value in sizes.items():
        if size == value:
            return name == "fast"
    fail(f"{what} is {size}, but the notebook's cell makes {sizes['fast']} while it is graded and {sizes['full']} "
         "otherwise. Run the cells as given, top to bottom, and do not change or type in their results.")


def matching_rerun(rerun: Callable[[bool], object], compare: Callable[[object], None], sizes: list[bool] | None = None):
    """``rerun(fast)`` at the size of this process first, then at the other (or at ``sizes`` only, when the
    caller knows better), until ``compare(result)`` (which raises ``AssertionError`` when the notebook's values
    differ from ``result``) passes; returns that result, or raises the first size's failure."""
    first = None
    for fast in (fast_modes() if sizes is None else sizes):
        result = rerun(fast)
        try:
            compare(result)
            return result
        except AssertionError as err:
            first = first or err
    raise first
