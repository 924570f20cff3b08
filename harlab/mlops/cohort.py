"""A cohort on a cluster: one pure per-session function over many sessions, on Dask distributed.

:func:`run_cohort` is the one engine behind ``harlab predict`` over several sessions, the folds of
``harlab evaluate --cv K --workers N`` and any other per-session command (``harlab summary``)::

    report = run_cohort(fn, paths, CohortOptions(workers=4), shared=job, on_result=show)
    sys.exit(1 if report.failed else 0)

- ``fn(item, shared)`` (or ``fn(item)`` when ``shared`` is None) runs on a worker. It must be
  picklable (a module-level function, or a :func:`functools.partial` of one) and return something
  picklable; it may return :class:`Skipped` to say there was nothing to do (resumption). A session
  file is opened, locked, written and saved by ``fn`` on the worker, through
  :func:`harlab.storage.open_session` and its atomic save: the client never writes a session.
- ``shared`` (a model, a dataset) is sent to every worker once (``Client.scatter`` with
  ``broadcast``), not once per item.
- Every item gets an :class:`ItemResult`: ``done`` with ``fn``'s value, ``skipped`` with the
  reason, or ``failed`` with the error's message (and the traceback when the error is not one of
  harlab's own). One failing item never stops the others; a worker that dies on an item (killed,
  out of memory) fails that item after Dask's retries.
- ``on_result`` sees the results in input order as soon as each and all before it are in, so a
  command's output is the same whichever worker finishes first; ``progress`` sees every completion
  as it happens (for a progress bar).

Where it runs: with ``scheduler`` (``tcp://host:8786``) on that existing cluster, e.g. one that
dask-jobqueue started on SLURM (docs/COHORT.md); otherwise on a :class:`distributed.LocalCluster`
of ``workers`` processes with one thread each. Processes, not threads: feature extraction and
HDF5 reading hold the GIL, so threads of one process would take turns. The cluster is closed
when the run ends, by error or Ctrl+C too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from harlab.core.errors import HarlabError
from harlab.core.wording import counted

if TYPE_CHECKING:
    from harlab.ml.evaluate import CVPlan, FoldResult, FoldRunner

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class Skipped:
    """What a per-session function returns when there is nothing to do (already done)."""

    reason: str


@dataclass(frozen=True)
class ItemResult:
    """The outcome for one item (a session path, a fold)."""

    index: int  #: position in the input
    item: str  #: the item as text (the session path)
    status: Status
    value: Any = None  #: what the function returned (``done``)
    message: str = ""  #: the reason (``skipped``) or the error (``failed``)
    detail: str = ""  #: the traceback of an unexpected error (not a HarlabError)
    seconds: float = 0.0  #: time in the function
    worker: str = ""  #: the Dask worker's address


@dataclass
class CohortReport:
    """Every item's result in input order, and how the run went."""

    results: list[ItemResult]
    workers: int  #: workers the cluster had when the run started
    seconds: float  #: wall time, cluster start included
    scheduler: str  #: address of the scheduler used
    start_s: float = 0.0  #: of ``seconds``, the time to start (or reach) the cluster

    def with_status(self, status: Status) -> list[ItemResult]:
        return [r for r in self.results if r.status == status]

    @property
    def failed(self) -> list[ItemResult]:
        return self.with_status("failed")

    @property
    def ok(self) -> bool:
        """No item failed."""
        return not self.failed

    def summary(self, done: str = "done", unit: str = "session") -> str:
        """One line: how many items, where, how long, and how many of each outcome."""
        parts = [f"{len(self.with_status('done'))} {done}"]
        if skipped := self.with_status("skipped"):
            parts.append(f"{len(skipped)} skipped")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return (
            f"{counted(len(self.results), unit)} on {counted(self.workers, 'worker')} in "
            f"{self.seconds:.1f} s: {', '.join(parts)}"
        )


ProgressFn = Callable[[int, int, ItemResult], None]  #: (finished so far, total, the one that finished)


@dataclass(frozen=True)
class CohortOptions:
    """Where and how a cohort runs.

    ``workers``: processes of the local cluster (0: one per core, at most one per item); ignored
    with ``scheduler``, the address of an existing Dask scheduler. ``memory_limit``: per local
    worker, as Dask reads it ("auto": the machine's memory shared out; 0: no limit).
    """

    workers: int = 0
    scheduler: str | None = None
    memory_limit: str | int = "auto"
    connect_timeout_s: float = 30.0
    #: environment variables for the local workers (the thread counts of numeric libraries)
    worker_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise HarlabError(f"--workers must be 0 (one per core) or more, not {self.workers}")


def local_workers(options: CohortOptions, n_items: int) -> int:
    """Workers a local cluster gets for ``n_items`` items."""
    return options.workers or max(1, min(os.cpu_count() or 1, n_items))


@contextlib.contextmanager
def cohort_client(options: CohortOptions, n_items: int) -> Iterator[Any]:
    """A connected :class:`distributed.Client`: to ``options.scheduler``, or to a new local
    cluster that is shut down (workers and all) when the block ends."""
    from distributed import Client, LocalCluster

    if options.scheduler:
        try:
            client = Client(options.scheduler, timeout=options.connect_timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: not an address
            raise HarlabError(f"cannot reach the Dask scheduler at {options.scheduler}: {exc}") from exc
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=local_workers(options, n_items),
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,  # no dashboard, and its HTTP server on any free port (not 8787)
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        memory_limit=options.memory_limit,
        silence_logs=logging.ERROR,
        env=dict(options.worker_env),
    )
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def run_item(fn: Callable[..., Any], index: int, item: Any, shared: Any, has_shared: bool) -> ItemResult:
    """Run ``fn`` on one item and turn whatever happens into an :class:`ItemResult` (on the worker,
    so that an error is a result like any other and never a lost task)."""
    t0 = time.perf_counter()
    worker = ""
    with contextlib.suppress(ValueError, ImportError):
        from distributed import get_worker

        worker = get_worker().address
    try:
        value = fn(item, shared) if has_shared else fn(item)
    except HarlabError as exc:
        return ItemResult(index, str(item), "failed", message=str(exc), seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - one item's failure is reported, never stops the cohort
        return ItemResult(
            index,
            str(item),
            "failed",
            message=f"{type(exc).__name__}: {exc}",
            detail=traceback.format_exc(),
            seconds=time.perf_counter() - t0,
            worker=worker,
        )
    dt = time.perf_counter() - t0
    if isinstance(value, Skipped):
        return ItemResult(index, str(item), "skipped", message=value.reason, seconds=dt, worker=worker)
    return ItemResult(index, str(item), "done", value=value, seconds=dt, worker=worker)


def run_cohort(
    fn: Callable[..., Any],
    items: Sequence[Any],
    options: CohortOptions | None = None,
    *,
    shared: Any = None,
    on_result: Callable[[ItemResult], None] | None = None,
    progress: ProgressFn | None = None,
) -> CohortReport:
    """Run ``fn`` over ``items`` on a Dask cluster; see the module docstring for the contract."""
    from distributed import as_completed

    options = options or CohortOptions()
    t0 = time.perf_counter()
    results: list[ItemResult | None] = [None] * len(items)
    if not items:
        return CohortReport([], 0, 0.0, "")
    with cohort_client(options, len(items)) as client:
        started = time.perf_counter() - t0
        info = client.scheduler_info()
        n_workers = len(info.get("workers", {}))
        has_shared = shared is not None
        run = uuid.uuid4().hex[:12]  # task keys of this run only, on a scheduler others may share
        remote = client.scatter(shared, broadcast=True, hash=False) if has_shared else None
        futures = [
            client.submit(run_item, fn, i, item, remote, has_shared, pure=False, key=f"cohort-{run}-{i}")
            for i, item in enumerate(items)
        ]
        index_of = {f.key: i for i, f in enumerate(futures)}
        shown = 0
        finished = 0
        try:
            for future in as_completed(futures):
                i = index_of[future.key]
                if future.status == "finished":
                    result: ItemResult = future.result()
                else:  # the task itself was lost: a worker died on it (after Dask's retries)
                    exc = future.exception()
                    result = ItemResult(i, str(items[i]), "failed", message=f"{type(exc).__name__}: {exc}")
                results[i] = result
                finished += 1
                if progress:
                    progress(finished, len(items), result)
                while shown < len(items) and (ready := results[shown]) is not None:
                    if on_result:
                        on_result(ready)
                    shown += 1
        finally:
            client.cancel([f for f in futures if not f.done()])
        scheduler = str(info.get("address", ""))
    done = [r for r in results if r is not None]
    return CohortReport(done, n_workers, time.perf_counter() - t0, scheduler, started)


def cohort_fold_runner(options: CohortOptions, progress: ProgressFn | None = None) -> FoldRunner:
    """A ``run_folds`` for :func:`harlab.ml.evaluate.cross_validate`: every fold is one item of a
    cohort (the plan, with its dataset, goes to each worker once). A failed fold fails the whole
    cross-validation, naming the fold and its error."""
    from harlab.ml.evaluate import cv_fold

    def run_folds(plan: CVPlan) -> list[FoldResult]:
        report = run_cohort(cv_fold, range(len(plan.splits)), options, shared=plan, progress=progress)
        if report.failed:
            first = report.failed[0]
            raise HarlabError(f"fold {int(first.item) + 1} failed on the cluster: {first.message}")
        return [r.value for r in report.results]

    return run_folds
