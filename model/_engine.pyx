# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=False
"""The compiled event calendar and stations (issue 11, plan step 3).

The same public behaviour as the reference classes in :mod:`model.events` and
:mod:`model.stations` (which pick these when this module imports): events run in
``(time, insertion)`` order; a station starts, queues and finishes jobs with the same float
operations in the same order, so every result is the reference's bit for bit
(tests/test_engine_backends.py). What differs is where the state lives: the calendar's heap
is a C array of ``(time, sequence, slot, kind)`` structs ordered by ``(time, sequence)``,
whose objects (callback and argument, or station, ``done`` and token) wait in one Python
list at ``3 × slot`` — one list, so the cyclic garbage collector sees them, and no tuple
or list per event. A heap entry of kind ``FINISH`` is a station's job ending: the
calendar frees the desk, starts the next queued job and then calls ``done(token)``
without a Python-level bound-method call (docs/design.md "Issue 11, ninth round: a compiled
event calendar and stations").

The working calendar's scalar conversions (``working_hours_at``, ``moment_at``, ``_moment``,
``add_working_hours``, ``add_working_days``) are here too, as functions that
:mod:`model.calendar` makes ``WorkCalendar``'s methods: they read the calendar's own per-day
lists and call its Python ``_extend`` for a day not yet known, with the reference methods'
float operations in the same order (docs/design.md "Issue 11, ninth round: the working
calendar in C").
"""

cimport cython
from libc.math cimport floor, isfinite
from libc.stdlib cimport free, malloc, realloc

import math
from model.desks import desks

cdef object _floor = math.floor

cdef extern from *:
    """
    #define MICROGOV_STRING_(x) #x
    #define MICROGOV_STRING(x) MICROGOV_STRING_(x)
    #ifdef MICROGOV_ENGINE_SHA256
    #define MICROGOV_ENGINE_SOURCE MICROGOV_STRING(MICROGOV_ENGINE_SHA256)
    #else
    #define MICROGOV_ENGINE_SOURCE ""
    #endif
    """
    const char* MICROGOV_ENGINE_SOURCE

SOURCE_SHA256 = MICROGOV_ENGINE_SOURCE.decode("ascii")
"""The sha256 of the _engine.pyx this module was built from (setup.py defines it; empty when
built otherwise): model.engine_backend refuses a module whose source has changed since."""

_NO_COPY = (
    "the compiled event calendar and stations cannot be pickled or copied; MICROGOV_PURE_PYTHON=1 "
    "runs the Python classes, which can"
)

cdef enum:
    CALLBACK = 0  # callback(argument)
    FINISH = 1  # station's job ends: station._finish_job(done, token)


ctypedef struct Entry:
    double time
    unsigned long long seq
    Py_ssize_t slot  # the objects are the store's items 3 × slot … 3 × slot + 2
    int kind


cdef inline bint _before(Entry* a, Entry* b) noexcept nogil:
    return a.time < b.time or (a.time == b.time and a.seq < b.seq)


ctypedef struct Job:
    double key  # deadline-first: smaller first (FIFO: unused)
    long long seq  # deadline-first: arrival order among equal keys
    double work
    Py_ssize_t slot  # done and token are the queue store's items 2 × slot, 2 × slot + 1


cdef inline bint _job_before(Job* a, Job* b) noexcept nogil:
    # the reference's tuples (key, sequence, …) compared: the sequence is unique
    return a.key < b.key or (a.key == b.key and a.seq < b.seq)


@cython.final
cdef class EventCalendar:
    """A minimal, strongly-referencing discrete-event calendar (compiled).

    Final: a subclass is refused when its class is created (the stations call into this
    class's C methods, which a subclass could not override)."""

    cdef Entry* _heap
    cdef Py_ssize_t _n
    cdef Py_ssize_t _cap
    cdef Py_ssize_t* _free  # the unused slots (a stack)
    cdef Py_ssize_t _nfree
    cdef unsigned long long _seq
    cdef list _store
    cdef public double now
    cdef public long long processed

    def __cinit__(self):
        self._heap = NULL
        self._free = NULL
        self._n = 0
        self._cap = 0
        self._nfree = 0
        self._seq = 0
        self._store = []
        self.now = 0.0
        self.processed = 0

    def __dealloc__(self):
        free(self._heap)
        free(self._free)

    cdef int _grow(self) except -1:
        cdef Py_ssize_t cap = self._cap * 2 if self._cap else 64
        cdef Py_ssize_t k
        cdef Entry* heap = <Entry*> realloc(self._heap, cap * sizeof(Entry))
        if heap == NULL:
            raise MemoryError()
        self._heap = heap
        cdef Py_ssize_t* spare = <Py_ssize_t*> realloc(self._free, cap * sizeof(Py_ssize_t))
        if spare == NULL:
            raise MemoryError()
        self._free = spare
        self._store.extend([None] * (3 * (cap - self._cap)))
        for k in range(cap - 1, self._cap - 1, -1):
            self._free[self._nfree] = k
            self._nfree += 1
        self._cap = cap
        return 0

    cdef int _push(self, double time, int kind, object a, object b, object c) except -1:
        """Add an event at ``time`` (already checked: a number, not before now)."""
        if self._n == self._cap:
            self._grow()
        self._nfree -= 1
        cdef Py_ssize_t slot = self._free[self._nfree]
        cdef list store = self._store
        store[3 * slot] = a
        store[3 * slot + 1] = b
        store[3 * slot + 2] = c
        cdef Entry entry
        entry.time = time
        entry.seq = self._seq
        entry.slot = slot
        entry.kind = kind
        self._seq += 1
        # sift up; the newest event has the largest sequence, so only its time can put it
        # before another
        cdef Entry* heap = self._heap
        cdef Py_ssize_t pos = self._n
        cdef Py_ssize_t parent
        self._n += 1
        while pos > 0:
            parent = (pos - 1) >> 1
            if time < heap[parent].time:
                heap[pos] = heap[parent]
                pos = parent
            else:
                break
        heap[pos] = entry
        return 0

    cdef Entry _pop(self) noexcept:
        """Remove and return the first event (the heap is not empty)."""
        cdef Entry* heap = self._heap
        cdef Entry first = heap[0]
        self._n -= 1
        cdef Py_ssize_t n = self._n
        if n == 0:
            return first
        cdef Entry last = heap[n]
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t child = 1
        while child < n:
            if child + 1 < n and _before(&heap[child + 1], &heap[child]):
                child += 1
            if _before(&heap[child], &last):
                heap[pos] = heap[child]
                pos = child
                child = 2 * pos + 1
            else:
                break
        heap[pos] = last
        return first

    cdef int _schedule(self, double time, int kind, object a, object b, object c) except -1:
        if not time >= self.now:
            if time != time:
                shown = a if kind == CALLBACK else (<Station> a)._finished
                raise ValueError(f"event time must be a number, got {time} (callback {shown!r})")
            time = self.now
        return self._push(time, kind, a, b, c)

    def schedule(self, double time, callback, argument=None):
        """Run ``callback(argument)`` at ``time`` (never before the current time)."""
        self._schedule(time, CALLBACK, callback, argument, None)

    def run_until(self, double end):
        """Run every event with time < ``end``, in time order; then the clock reads ``end``."""
        cdef long long count = 0
        cdef Entry entry
        cdef Py_ssize_t at
        cdef list store = self._store
        while self._n > 0 and self._heap[0].time < end:
            entry = self._pop()
            at = 3 * entry.slot
            a = store[at]
            b = store[at + 1]
            c = store[at + 2]
            store[at] = None
            store[at + 1] = None
            store[at + 2] = None
            self._free[self._nfree] = entry.slot
            self._nfree += 1
            self.now = entry.time
            # an exception leaves the calendar as the reference does: the failed event is
            # spent, the rest wait, and this call's count is not added to ``processed``
            if entry.kind == CALLBACK:
                a(b)
            else:
                (<Station> a)._finish_job(b, c)
            count += 1
        self.processed += count
        self.now = end

    def pending(self):
        """The pending events' ``(time, callback, argument)``, in the order they will run."""
        cdef Py_ssize_t k
        cdef list order = sorted(
            [(self._heap[k].time, self._heap[k].seq, k) for k in range(self._n)]
        )
        cdef list out = []
        cdef Entry* entry
        for _, _, k in order:
            entry = &self._heap[<Py_ssize_t> k]
            a = self._store[3 * entry.slot]
            b = self._store[3 * entry.slot + 1]
            c = self._store[3 * entry.slot + 2]
            if entry.kind == CALLBACK:
                out.append((entry.time, a, b))
            else:
                out.append((entry.time, (<Station> a)._finished, (b, c)))
        return iter(out)

    def __len__(self):
        return self._n

    def __reduce__(self):
        raise TypeError(_NO_COPY)


@cython.final
cdef class Station:
    """A queue with ``staff`` FTE (``servers`` desks), served in working hours (compiled).

    Attributes as :class:`model.stations.Station`'s (the reference). Final: a subclass is
    refused when its class is created, since the calendar ends jobs through C methods that
    an overriding ``arrive`` or ``_finish`` would not replace.
    """

    cdef public object name
    cdef public double staff
    cdef public long long servers
    cdef public double slowdown
    cdef object _calendar
    cdef bint _plain  # the calendar's add_working_hours is this module's
    cdef object _events
    cdef EventCalendar _compiled  # _events when it is this module's calendar, else None
    cdef public bint deadline_first
    cdef public double work_factor
    cdef public long long busy
    cdef public double busy_hours
    cdef public double busy_hours_mark
    cdef public long long jobs_done
    cdef public long long _sequence
    cdef public object _finished
    # the queues: a FIFO ring and a deadline-first heap of Job structs (the heap kept in
    # heapq's own layout, so that the queued jobs list in the reference's order); their
    # done and token wait in one Python list at 2 × slot
    cdef Job* _ring
    cdef Py_ssize_t _ring_head
    cdef Py_ssize_t _ring_count
    cdef Py_ssize_t _ring_cap
    cdef Job* _jobs_heap
    cdef Py_ssize_t _heap_count
    cdef Py_ssize_t _heap_cap
    cdef list _queued
    cdef Py_ssize_t* _spare  # the unused slots of _queued (a stack)
    cdef Py_ssize_t _nspare
    cdef Py_ssize_t _slots

    def __cinit__(self, *args, **kwargs):
        self._ring = NULL
        self._jobs_heap = NULL
        self._spare = NULL
        self._ring_head = self._ring_count = self._ring_cap = 0
        self._heap_count = self._heap_cap = 0
        self._nspare = self._slots = 0
        self._queued = []

    def __dealloc__(self):
        free(self._ring)
        free(self._jobs_heap)
        free(self._spare)

    def __init__(
        self,
        name,
        staff,
        calendar,
        events,
        deadline_first=False,
        work_factor=1.0,
    ):
        self.name = name
        self.staff, self.servers, self.slowdown = desks(name, staff)  # model/desks.py
        self.calendar = calendar
        self.events = events
        self.deadline_first = deadline_first
        self.work_factor = work_factor
        self.busy = 0
        self.busy_hours = 0.0
        self.busy_hours_mark = 0.0
        self.jobs_done = 0
        self._sequence = 0
        self._finished = self._finish

    @property
    def calendar(self):
        return self._calendar

    @calendar.setter
    def calendar(self, value):
        self._calendar = value
        # a class (or instance) with its own add_working_hours is always asked; so is a
        # WorkCalendar of the Python conversions (MICROGOV_PURE_PYTHON=1)
        self._plain = (
            getattr(type(value), "add_working_hours", None) is _PLAIN_ADD
            and "add_working_hours" not in getattr(value, "__dict__", ())
        )

    @property
    def events(self):
        return self._events

    @events.setter
    def events(self, value):
        self._events = value
        self._compiled = value if type(value) is EventCalendar else None

    def mark(self):
        """Start a measured period: :attr:`busy_hours_since_mark` counts from now."""
        self.busy_hours_mark = self.busy_hours

    @property
    def busy_hours_since_mark(self):
        """Staff hours spent on jobs started since :meth:`mark` (the measured period)."""
        return self.busy_hours - self.busy_hours_mark

    @property
    def queue_length(self):
        return self._heap_count if self.deadline_first else self._ring_count

    def arrive(self, double work_hours, done, token, double key=0.0):
        """A job needing ``work_hours`` arrives now; ``done(token)`` runs when it ends."""
        self._arrive(work_hours, done, token, key)

    cdef int _arrive(self, double work_hours, object done, object token, double key) except -1:
        cdef double hours, now, end
        cdef EventCalendar compiled
        if self.busy < self.servers:
            self.busy += 1
            hours = work_hours * self.work_factor
            self.busy_hours += hours
            compiled = self._compiled
            if compiled is not None:
                now = compiled.now
                end = self._add_working_hours(now, hours * self.slowdown)
                compiled._schedule(end, FINISH, self, done, token)
            else:
                now = self._events.now
                end = self._add_working_hours(now, hours * self.slowdown)
                self._events.schedule(end, self._finished, (done, token))
        elif self.deadline_first:
            self._sequence += 1
            self._queue_heap(key, self._sequence, work_hours, self._keep(done, token))
        else:
            self._queue_ring(work_hours, self._keep(done, token))
        return 0

    cdef Py_ssize_t _keep(self, object done, object token) except -1:
        """Put a queued job's done and token in the store; their slot."""
        cdef Py_ssize_t slots, k
        cdef Py_ssize_t* spare
        if self._nspare == 0:
            slots = self._slots * 2 if self._slots else 8
            spare = <Py_ssize_t*> realloc(self._spare, slots * sizeof(Py_ssize_t))
            if spare == NULL:
                raise MemoryError()
            self._spare = spare
            self._queued.extend([None] * (2 * (slots - self._slots)))
            for k in range(slots - 1, self._slots - 1, -1):
                self._spare[self._nspare] = k
                self._nspare += 1
            self._slots = slots
        self._nspare -= 1
        cdef Py_ssize_t slot = self._spare[self._nspare]
        self._queued[2 * slot] = done
        self._queued[2 * slot + 1] = token
        return slot

    cdef int _queue_ring(self, double work, Py_ssize_t slot) except -1:
        cdef Py_ssize_t cap, k
        cdef Job* ring
        if self._ring_count == self._ring_cap:  # full: a larger ring, oldest first
            cap = self._ring_cap * 2 if self._ring_cap else 8
            ring = <Job*> malloc(cap * sizeof(Job))
            if ring == NULL:
                raise MemoryError()
            for k in range(self._ring_count):
                ring[k] = self._ring[(self._ring_head + k) % self._ring_cap]
            free(self._ring)
            self._ring = ring
            self._ring_cap = cap
            self._ring_head = 0
        cdef Job* job = &self._ring[(self._ring_head + self._ring_count) % self._ring_cap]
        job.key = 0.0
        job.seq = 0
        job.work = work
        job.slot = slot
        self._ring_count += 1
        return 0

    cdef int _queue_heap(self, double key, long long seq, double work, Py_ssize_t slot) except -1:
        """heapq.heappush of (key, seq, work, …): append, then heapq's _siftdown."""
        cdef Py_ssize_t cap
        cdef Job* grown
        if self._heap_count == self._heap_cap:
            cap = self._heap_cap * 2 if self._heap_cap else 8
            grown = <Job*> realloc(self._jobs_heap, cap * sizeof(Job))
            if grown == NULL:
                raise MemoryError()
            self._jobs_heap = grown
            self._heap_cap = cap
        cdef Job new
        new.key = key
        new.seq = seq
        new.work = work
        new.slot = slot
        cdef Py_ssize_t pos = self._heap_count
        self._heap_count += 1
        _sift_down(self._jobs_heap, 0, pos, new)
        return 0

    cdef Job _unqueue_heap(self) noexcept:
        """heapq.heappop (the heap is not empty): the last job to the top, heapq's _siftup."""
        cdef Job* heap = self._jobs_heap
        self._heap_count -= 1
        cdef Py_ssize_t end = self._heap_count
        cdef Job last = heap[end]
        if end == 0:
            return last
        cdef Job first = heap[0]
        # heapq's _siftup: the smaller child up to the leaves, then last sifted down there
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t child = 1
        while child < end:
            if child + 1 < end and not _job_before(&heap[child], &heap[child + 1]):
                child += 1
            heap[pos] = heap[child]
            pos = child
            child = 2 * pos + 1
        _sift_down(heap, 0, pos, last)
        return first

    cdef Job _unqueue_ring(self) noexcept:
        cdef Job job = self._ring[self._ring_head]
        self._ring_head = (self._ring_head + 1) % self._ring_cap
        self._ring_count -= 1
        return job

    cdef double _add_working_hours(self, double t, double hours) except? -1.0:
        """The calendar's ``add_working_hours(t, hours)``: computed here for a calendar that
        has this module's conversion, else asked of the calendar."""
        if self._plain:
            return _add_hours(self._calendar, t, hours, None)
        return self._calendar.add_working_hours(t, hours)

    cdef int _finish_job(self, object done, object token) except -1:
        self.busy -= 1
        self.jobs_done += 1
        # a desk is free now (``servers`` never changes after __init__), so the next queued
        # job starts at once, before ``done`` runs
        cdef Job job
        if self.deadline_first:
            if self._heap_count:
                job = self._unqueue_heap()
                self._arrive_queued(job)
        elif self._ring_count:
            job = self._unqueue_ring()
            self._arrive_queued(job)
        done(token)
        return 0

    cdef int _arrive_queued(self, Job job) except -1:
        """A job leaving the queue arrives again (at the desk just freed)."""
        cdef list queued = self._queued
        cdef Py_ssize_t at = 2 * job.slot
        queued_done = queued[at]
        queued_token = queued[at + 1]
        queued[at] = None
        queued[at + 1] = None
        self._spare[self._nspare] = job.slot
        self._nspare += 1
        return self._arrive(job.work, queued_done, queued_token, job.key)

    def _finish(self, item):
        """A job's end as a plain callback (for a calendar of the other backend)."""
        done, token = item
        self._finish_job(done, token)

    def __reduce__(self):
        raise TypeError(_NO_COPY)

    def queued_tokens(self):
        """Tokens of the jobs waiting (not in service)."""
        return [token for _, token in self.queued_jobs()]

    def queued_jobs(self):
        """The ``(done, token)`` of the jobs waiting (not in service): whose job it is."""
        cdef Py_ssize_t k, slot
        cdef list jobs = []
        if self.deadline_first:
            for k in range(self._heap_count):
                slot = self._jobs_heap[k].slot
                jobs.append((self._queued[2 * slot], self._queued[2 * slot + 1]))
        else:
            for k in range(self._ring_count):
                slot = self._ring[(self._ring_head + k) % self._ring_cap].slot
                jobs.append((self._queued[2 * slot], self._queued[2 * slot + 1]))
        return jobs


cdef inline void _sift_down(Job* heap, Py_ssize_t start, Py_ssize_t pos, Job new) noexcept:
    """heapq's _siftdown: ``new`` at ``pos`` moves up past the parents it comes before."""
    cdef Py_ssize_t parent
    while pos > start:
        parent = (pos - 1) >> 1
        if _job_before(&new, &heap[parent]):
            heap[pos] = heap[parent]
            pos = parent
            continue
        break
    heap[pos] = new



# ------------------------------------------- the working calendar's conversions (issue 11)
# Each is the method of model.calendar.WorkCalendar of the same name, operation for
# operation: the same attributes read, ``_extend`` called with the same days, the same float
# operations in the same order, the same errors. Lists are indexed with Python's bounds
# checks and negative indices (the reference's ``cum[day]`` with ``day == -1`` reads the last
# element). A calendar whose class overrides a conversion these call is asked for it as the
# reference would ask (``self.working_hours_at``, ``self._moment``, ``self.moment_at``).


cdef inline bint _own(object calendar, str name, object compiled):
    """Whether ``calendar``'s class has this module's ``compiled`` as its ``name``."""
    return getattr(type(calendar), name, None) is compiled


cdef inline Py_ssize_t _index(double day):
    """A whole day as a list index (past either end of any list when too large for one)."""
    if day >= 4.0e18:
        return <Py_ssize_t> 4000000000000000000
    if day <= -4.0e18:
        return -<Py_ssize_t> 4000000000000000000
    return <Py_ssize_t> day


@cython.boundscheck(True)
@cython.wraparound(True)
cdef double _hours_at(object calendar, double t, object shown) except? -1.0:
    """``working_hours_at(t)``; ``shown`` is ``t`` as the caller gave it (for the message;
    None: ``t``)."""
    cdef double day = floor(t)
    if not isfinite(day):
        _floor(t)  # math.floor's own error: NaN or an infinity has no day
    if day >= <double> <Py_ssize_t> calendar._known:
        calendar._extend(_floor(t) + 1)
    elif day < 0.0:
        raise ValueError(f"a moment must be a time ≥ 0 (days), got {t if shown is None else shown}")
    cdef Py_ssize_t at = _index(day)
    cdef double base = calendar._cum[at]
    if not calendar._working[at]:
        return base
    cdef double into = (t - day - <double> calendar._open) * 24.0
    if into <= 0.0:
        return base
    cdef double hours = calendar.hours_per_day
    return base + (into if into < hours else hours)


@cython.boundscheck(True)
@cython.wraparound(True)
cdef double _moment_from(object calendar, double hours, Py_ssize_t first) except? -1.0:
    """``_moment(hours, first)``: ``bisect_right`` from ``first``, as the reference's."""
    cum = calendar._cum
    while hours >= <double> cum[-1]:
        calendar._extend(len(calendar._working) + 7)
    if first < 0:
        raise ValueError("lo must be non-negative")
    cdef Py_ssize_t lo = first
    cdef Py_ssize_t hi = len(cum)
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) // 2
        if hours < <double> cum[mid]:
            hi = mid
        else:
            lo = mid + 1
    cdef Py_ssize_t day = lo - 1
    return <double> calendar._starts[day] + (hours - <double> cum[day]) / 24.0


cdef object _moment_of(object calendar, double hours, Py_ssize_t first):
    """``self._moment(hours, first)``: here, or the class's own."""
    if _own(calendar, "_moment", _moment):
        return _moment_from(calendar, hours, first)
    return calendar._moment(hours, first)


cdef object _hours_of(object calendar, double t, object shown):
    """``self.working_hours_at(t)``: here, or the class's own."""
    if _own(calendar, "working_hours_at", working_hours_at):
        return _hours_at(calendar, t, shown)
    return calendar.working_hours_at(t if shown is None else shown)


cdef object _moment_at(object calendar, double hours, object shown):
    """``moment_at(hours)``."""
    if not hours >= 0.0:
        raise ValueError(f"working hours elapsed must be a number ≥ 0, got {shown}")
    return _moment_of(calendar, hours, 0)


@cython.boundscheck(True)
@cython.wraparound(True)
cdef double _add_hours(object calendar, double t, double hours, object shown) except? -1.0:
    """``add_working_hours(t, hours)``; ``shown`` is ``t`` as the caller gave it (None:
    ``t``)."""
    cdef double day = floor(t)
    if not isfinite(day):
        _floor(t)
    starts = calendar._starts
    cdef Py_ssize_t at = _index(day)
    cdef Py_ssize_t known = len(starts)
    if at >= known:
        calendar._extend(_floor(t) + 1)
        starts = calendar._starts
    elif at < -known:  # far enough before 0 that the lists' end does not reach it
        raise ValueError(f"a moment must be a time ≥ 0 (days), got {t if shown is None else shown}")
    cdef double start = starts[at]
    cdef double finish = t + hours / 24.0
    # the work ends inside the working window that ``t`` is in (most jobs)
    if start <= t and finish < <double> calendar._ends[at]:
        return finish
    if hours >= 0.0:
        return _moment_of(calendar, <double> _hours_of(calendar, t, shown) + hours, at)
    total = <double> _hours_of(calendar, t, shown) + hours
    if _own(calendar, "moment_at", moment_at):
        return _moment_at(calendar, total, total)
    return calendar.moment_at(total)


def working_hours_at(self, t):
    """Working hours elapsed between time 0 and moment ``t`` (days, ≥ 0)."""
    return _hours_at(self, t, t)


def moment_at(self, hours):
    """The earliest moment at which ``hours`` working hours have elapsed."""
    return _moment_at(self, hours, hours)


def _moment(self, double hours, Py_ssize_t first):
    """:meth:`moment_at`, knowing that day ``first`` starts with at most ``hours`` behind it."""
    return _moment_from(self, hours, first)


def add_working_hours(self, t, hours):
    """Moment at which ``hours`` of work starting at ``t`` (≥ 0) end (office hours only)."""
    return _add_hours(self, t, hours, t)


def add_working_days(self, t, days):
    """Deadline ``days`` working days after ``t`` (F4.1 time limits)."""
    cdef double moment = t
    cdef double amount = days
    cdef double hours = <double> _hours_of(self, moment, t) + amount * <double> self.hours_per_day
    cdef double first = floor(moment) if amount >= 0.0 else 0.0
    return _moment_of(self, hours, _index(first))


cdef object _PLAIN_ADD = add_working_hours


# ------------------------------------------------------------------ the daily trust step
cdef inline bint _update_trust(
    double* trust, const double* disposition, Py_ssize_t i, float neighbours, float w32,
    double keep, double r,
) noexcept nogil:
    """Resident ``i``'s new trust from the mean of their neighbours' trust, with the float
    operations of model/trust_diffusion.py's reference in its order; whether it left [0, 1]."""
    cdef double kept = trust[i] * keep
    kept = kept + <double> (neighbours * w32)
    cdef double value = disposition[i] * r
    value = value + kept
    trust[i] = value
    return not (value <= 1.0 and value >= 0.0)


@cython.boundscheck(False)
@cython.wraparound(False)
def diffuse_trust(
    const int[::1] indptr,
    const int[::1] indices,
    const float[::1] weight,
    double[::1] trust,
    const double[::1] disposition,
    float[::1] work,
    double w,
    double r,
):
    """One day's trust step in place (model/trust_diffusion.py, whose reference this is bit
    for bit): ``work`` ← trust as float32; each resident's neighbours' mean is the float32
    sum, in stored order, of ``weight[i] * work[j]`` over row ``i``'s ties (``weight[i]`` the
    row's one stored value; an empty row: one's own trust), then
    ``trust = disposition·r + (trust·(1 − w − r) + float32(neighbours·w))``.
    Returns whether some value is out of [0, 1] or NaN (the caller clips).

    Two rows are summed side by side: each row's sum keeps its own order, and the two
    chains of additions overlap (the far ties' loads are what a row waits on)."""
    cdef Py_ssize_t n = trust.shape[0]
    if (
        indptr.shape[0] != n + 1 or weight.shape[0] != n or disposition.shape[0] != n
        or work.shape[0] != n
    ):
        raise ValueError("diffuse_trust: arrays of different lengths")
    if n == 0:
        return False
    if indptr[n] > indices.shape[0]:
        raise ValueError("diffuse_trust: the index pointers run past the indices")
    cdef double keep = 1.0 - w - r
    cdef float w32 = <float> w
    cdef const int* idx = &indices[0] if indices.shape[0] else NULL
    cdef float* x = &work[0]
    cdef double* t = &trust[0]
    cdef const double* d = &disposition[0]
    cdef Py_ssize_t i, j, end, k, kend
    cdef float a, b, wa, wb
    cdef bint bad = False
    with nogil:
        for i in range(n):
            x[i] = <float> t[i]
        i = 0
        while i + 1 < n:
            j = indptr[i]
            end = indptr[i + 1]
            k = end
            kend = indptr[i + 2]
            wa = weight[i]
            wb = weight[i + 1]
            a = 0.0
            b = 0.0
            while j < end and k < kend:
                a = a + wa * x[idx[j]]
                b = b + wb * x[idx[k]]
                j += 1
                k += 1
            while j < end:
                a = a + wa * x[idx[j]]
                j += 1
            while k < kend:
                b = b + wb * x[idx[k]]
                k += 1
            if indptr[i] == end:
                a = x[i]
            if end == kend:
                b = x[i + 1]
            bad |= _update_trust(t, d, i, a, w32, keep, r)
            bad |= _update_trust(t, d, i + 1, b, w32, keep, r)
            i += 2
        if i < n:
            j = indptr[i]
            end = indptr[i + 1]
            wa = weight[i]
            a = 0.0
            while j < end:
                a = a + wa * x[idx[j]]
                j += 1
            if indptr[i] == end:
                a = x[i]
            bad |= _update_trust(t, d, i, a, w32, keep, r)
    return bad
