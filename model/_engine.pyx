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

The daily trust step (``diffuse_trust``, model/trust_diffusion.py) and a day's needs
(``draw_needs`` and ``arrange_needs``, model/demand.py; ``sort_needs`` and
``gather_needs``, model/casework.py), the trust step's grouping of the ties
(``group_by_degree``, model/trust_diffusion.py) and the build's tie matrix
(``symmetric_ties``, model/population.py) are here too, each the twin of a numpy or scipy
reference kept beside its caller (docs/design.md "The daily trust step in C" and "A small
day's needs drawn, arranged and sorted in C"), and the writing of a day's new cases into
the case table (``write_cases``, whose reference is ``Casework._write_cases``; docs/design.md
"A day's new cases written in C"), and scalar draws (``integer_below`` and ``uniform``, whose
references are numpy's ``Generator.integers`` and ``Generator.random``;
model/scalar_draws.py). The case log's CSV text (``csv_text``, model/_csv_text.pxi, whose
reference is Arrow's writer in experiments/case_sinks.py) is included at the end, with its
floats' digits from model/_shortest.cpp (docs/design.md "The case log's text written in C").
"""

cimport cython
from libc.math cimport exp, floor, isfinite, signbit
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort, realloc
from libc.string cimport memset
from cpython.bytes cimport PyBytes_AsString, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Contains
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM

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
    # the push's sequence number, the slot (the event's objects are the store's items
    # 3 × slot … 3 × slot + 2) and the kind in one word: seq << _SEQ_SHIFT | slot << 1 | kind.
    # Events of one time then compare by sequence in one comparison of this word (the
    # sequence is unique), and an entry is 16 bytes, four to a cache line (32 with three
    # fields: issue 11, thirty-second round)
    unsigned long long key


cdef enum:
    _SEQ_SHIFT = 24  # the key's bits: 40 of sequence, 23 of slot, 1 of kind
    _MOST_SLOTS = 1 << (_SEQ_SHIFT - 1)  # events pending at once: 8,388,608
cdef unsigned long long _MOST_SEQ = 1ULL << (64 - _SEQ_SHIFT)  # events pushed: ≈ 1.1e12


cdef inline Py_ssize_t _slot_of(Entry* entry) noexcept nogil:
    return <Py_ssize_t> ((entry.key >> 1) & (_MOST_SLOTS - 1))


cdef inline int _kind_of(Entry* entry) noexcept nogil:
    return <int> (entry.key & 1)


cdef inline bint _before(Entry* a, Entry* b) noexcept nogil:
    """Whether event ``a`` comes before ``b`` (time, then sequence), without branches: a pop's
    two children are in either order about as often, so a branch choosing between them was
    mispredicted about half the time (issue 11, thirty-first round)."""
    return (<int> (a.time < b.time)) | ((<int> (a.time == b.time)) & (<int> (a.key < b.key)))


ctypedef struct Job:
    double key  # deadline-first: smaller first (FIFO: unused)
    long long seq  # deadline-first: arrival order among equal keys
    double work
    Py_ssize_t slot  # done and token are the queue store's items 2 × slot, 2 × slot + 1


cdef inline bint _job_before(Job* a, Job* b) noexcept nogil:
    """The reference's tuples (key, sequence, …) compared — the sequence is unique — without
    branches (as ``_before``)."""
    return (<int> (a.key < b.key)) | ((<int> (a.key == b.key)) & (<int> (a.seq < b.seq)))


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
        if self._cap == _MOST_SLOTS:  # (the capacity doubles from 64: it reaches it exactly)
            raise OverflowError(f"the event calendar holds at most {_MOST_SLOTS:,} pending events")
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
        if self._seq == _MOST_SEQ:
            raise OverflowError(f"the event calendar takes at most {_MOST_SEQ:,} events")
        self._nfree -= 1
        cdef Py_ssize_t slot = self._free[self._nfree]
        cdef list store = self._store
        store[3 * slot] = a
        store[3 * slot + 1] = b
        store[3 * slot + 2] = c
        cdef Entry entry
        entry.time = time
        entry.key = (self._seq << _SEQ_SHIFT) | (<unsigned long long> slot << 1) | kind
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
            # the earlier child (entry n, read when it is the right one, is the old last:
            # within the allocation, and not taken)
            child += (<int> (child + 1 < n)) & _before(&heap[child + 1], &heap[child])
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
        cdef Py_ssize_t at, slot
        cdef list store = self._store
        while self._n > 0 and self._heap[0].time < end:
            entry = self._pop()
            slot = _slot_of(&entry)
            at = 3 * slot
            a = store[at]
            b = store[at + 1]
            c = store[at + 2]
            store[at] = None
            store[at + 1] = None
            store[at + 2] = None
            self._free[self._nfree] = slot
            self._nfree += 1
            self.now = entry.time
            # an exception leaves the calendar as the reference does: the failed event is
            # spent, the rest wait, and this call's count is not added to ``processed``
            if _kind_of(&entry) == CALLBACK:
                a(b)
            else:
                (<Station> a)._finish_job(b, c)
            count += 1
        self.processed += count
        self.now = end

    def pending(self):
        """The pending events' ``(time, callback, argument)``, in the order they will run."""
        cdef Py_ssize_t k, slot
        cdef list order = sorted(
            [(self._heap[k].time, self._heap[k].key, k) for k in range(self._n)]
        )
        cdef list out = []
        cdef Entry* entry
        for _, _, k in order:
            entry = &self._heap[<Py_ssize_t> k]
            slot = _slot_of(entry)
            a = self._store[3 * slot]
            b = self._store[3 * slot + 1]
            c = self._store[3 * slot + 2]
            if _kind_of(entry) == CALLBACK:
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
        self._plain = _plain_calendar(value)

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
            # the right child unless the left comes first (entry ``end``, read when it is
            # the right one, is ``last``: within the allocation, and not taken)
            child += (<int> (child + 1 < end)) & (1 - _job_before(&heap[child], &heap[child + 1]))
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
            return _add_hours(<CalendarState> self._calendar, t, hours, None)
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

    def queued_work(self):
        """The ``(key, work hours)`` of the jobs waiting, as floats, in the order
        ``queued_tokens`` names them (a deadline-first queue's heap order; key None in a
        first-come queue)."""
        cdef Py_ssize_t k
        cdef Job* job
        cdef list work = []
        if self.deadline_first:
            for k in range(self._heap_count):
                job = &self._jobs_heap[k]
                work.append((job.key, job.work))
        else:
            for k in range(self._ring_count):
                work.append((None, self._ring[(self._ring_head + k) % self._ring_cap].work))
        return work

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
#
# With the compiled engine, WorkCalendar's base is CalendarState: the per-day lists and the
# numbers the conversions read are fields of a C struct, not entries of an instance
# dictionary (issue 11, twenty-second round: the attribute look-ups and the checks for a
# subclass's own conversions were most of a conversion's ≈ 1,600 instructions).

cdef extern from "Python.h":
    ctypedef struct _TaggedType "PyTypeObject":
        unsigned long tp_flags
        unsigned int tp_version_tag  # 0, or a number no other state of any type has had
    unsigned long Py_TPFLAGS_VALID_VERSION_TAG
    PyObject** _PyObject_GetDictPtr(object obj)  # where an object's __dict__ is (or NULL)
    void PyObject_GC_UnTrack(void* op)  # (a no-op for an object not tracked)

cdef enum:
    _OWN_HOURS_AT = 1  # the class's working_hours_at is this module's
    _OWN_MOMENT = 2  # its _moment
    _OWN_MOMENT_AT = 4  # its moment_at
    _OWN_ADD = 8  # its add_working_hours


cdef class CalendarState:
    """What the compiled conversions read of a working calendar (model.calendar.WorkCalendar's
    base where the compiled engine is in use; ``object`` is its base otherwise): the per-day
    lists (working hours before each day, whether each day works, each day's working window),
    the last day known, the opening moment and the hours of a working day. The class's own
    conversions are looked up once per state of the class (CPython's type version tag
    changes whenever the class or a base is modified), not at every call."""

    cdef public object _cum
    cdef public object _working
    cdef public object _starts
    cdef public object _ends
    cdef public Py_ssize_t _known
    cdef public double _open
    cdef public double hours_per_day
    cdef object _flags_type  # the class _flags were found for
    cdef unsigned int _flags_tag  # its version tag then (0: look again)
    cdef int _flags

    # pickled as its attributes, without the look-up cache (a version tag is a number of
    # this process's): a pure-Python calendar's pickle loads here and the other way round
    def __getstate__(self):
        state = dict(getattr(self, "__dict__", ()))
        for name in _CALENDAR_FIELDS:
            state[name] = getattr(self, name)
        return state

    def __setstate__(self, state):
        for name, value in state.items():
            setattr(self, name, value)


cdef tuple _CALENDAR_FIELDS = (
    "_cum", "_working", "_starts", "_ends", "_known", "_open", "hours_per_day",
)


cdef int _own_flags(CalendarState calendar) except -1:
    """Which conversions ``calendar``'s class has from this module (``_OWN_*``)."""
    tp = type(calendar)
    cdef _TaggedType* t = <_TaggedType*> <void*> tp
    cdef unsigned int tag = t.tp_version_tag
    if (
        tag != 0 and (t.tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)
        and tag == calendar._flags_tag and tp is calendar._flags_type
    ):
        return calendar._flags
    cdef int flags = 0
    if getattr(tp, "working_hours_at", None) is working_hours_at:
        flags |= _OWN_HOURS_AT
    if getattr(tp, "_moment", None) is _moment:
        flags |= _OWN_MOMENT
    if getattr(tp, "moment_at", None) is moment_at:
        flags |= _OWN_MOMENT_AT
    if getattr(tp, "add_working_hours", None) is add_working_hours:
        flags |= _OWN_ADD
    calendar._flags = flags
    calendar._flags_type = tp
    calendar._flags_tag = (<_TaggedType*> <void*> tp).tp_version_tag  # set by the look-ups
    return flags


cdef inline Py_ssize_t _index(double day):
    """A whole day as a list index (past either end of any list when too large for one)."""
    if day >= 4.0e18:
        return <Py_ssize_t> 4000000000000000000
    if day <= -4.0e18:
        return -<Py_ssize_t> 4000000000000000000
    return <Py_ssize_t> day


cdef extern from *:
    """
    /* ``seq[i]`` of a list whose item ``i`` (0 ≤ i < its length) is a float: into ``*out``,
       1; else 0 (the caller converts as Python would) */
    static inline int microgov_list_double(PyObject *seq, Py_ssize_t i, double *out) {
        if (PyList_CheckExact(seq) && i >= 0 && i < PyList_GET_SIZE(seq)) {
            PyObject *item = PyList_GET_ITEM(seq, i);
            if (PyFloat_CheckExact(item)) {
                *out = PyFloat_AS_DOUBLE(item);
                return 1;
            }
        }
        return 0;
    }
    """
    bint microgov_list_double(PyObject* seq, Py_ssize_t i, double* out) noexcept


@cython.boundscheck(True)
@cython.wraparound(True)
cdef inline double _item(object seq, Py_ssize_t i) except? -1.0:
    """``<double> seq[i]``: a calendar list's float read in place (no item fetched and
    converted: ≈ 35 instructions a read, ≈ 12 reads a hand-off's moment; issue 11,
    twenty-eighth round), anything else converted as before (an index from the end, an
    item that is not a float, a sequence that is not a list)."""
    cdef double value
    if microgov_list_double(<PyObject*> seq, i, &value):
        return value
    return <double> seq[i]


@cython.boundscheck(True)
@cython.wraparound(True)
cdef double _hours_at(CalendarState calendar, double t, object shown) except? -1.0:
    """``working_hours_at(t)``; ``shown`` is ``t`` as the caller gave it (for the message;
    None: ``t``)."""
    cdef double day = floor(t)
    if not isfinite(day):
        _floor(t)  # math.floor's own error: NaN or an infinity has no day
    if day >= <double> calendar._known:
        calendar._extend(_floor(t) + 1)
    elif day < 0.0:
        raise ValueError(f"a moment must be a time ≥ 0 (days), got {t if shown is None else shown}")
    cdef Py_ssize_t at = _index(day)
    cdef double base = _item(calendar._cum, at)
    if not calendar._working[at]:
        return base
    cdef double into = (t - day - calendar._open) * 24.0
    if into <= 0.0:
        return base
    cdef double hours = calendar.hours_per_day
    return base + (into if into < hours else hours)


@cython.boundscheck(True)
@cython.wraparound(True)
cdef double _moment_from(CalendarState calendar, double hours, Py_ssize_t first) except? -1.0:
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
        if hours < _item(cum, mid):
            hi = mid
        else:
            lo = mid + 1
    cdef Py_ssize_t day = lo - 1
    return _item(calendar._starts, day) + (hours - _item(cum, day)) / 24.0


cdef object _moment_of(CalendarState calendar, double hours, Py_ssize_t first):
    """``self._moment(hours, first)``: here, or the class's own."""
    if _own_flags(calendar) & _OWN_MOMENT:
        return _moment_from(calendar, hours, first)
    return calendar._moment(hours, first)


cdef object _hours_of(CalendarState calendar, double t, object shown):
    """``self.working_hours_at(t)``: here, or the class's own."""
    if _own_flags(calendar) & _OWN_HOURS_AT:
        return _hours_at(calendar, t, shown)
    return calendar.working_hours_at(t if shown is None else shown)


cdef object _moment_at(CalendarState calendar, double hours, object shown):
    """``moment_at(hours)``."""
    if not hours >= 0.0:
        raise ValueError(f"working hours elapsed must be a number ≥ 0, got {shown}")
    return _moment_of(calendar, hours, 0)


@cython.boundscheck(True)
@cython.wraparound(True)
cdef double _add_hours(CalendarState calendar, double t, double hours, object shown) except? -1.0:
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
    cdef double start = _item(starts, at)
    cdef double finish = t + hours / 24.0
    # the work ends inside the working window that ``t`` is in (most jobs)
    if start <= t and finish < _item(calendar._ends, at):
        return finish
    if hours >= 0.0:
        return _moment_of(calendar, <double> _hours_of(calendar, t, shown) + hours, at)
    total = <double> _hours_of(calendar, t, shown) + hours
    if _own_flags(calendar) & _OWN_MOMENT_AT:
        return _moment_at(calendar, total, total)
    return calendar.moment_at(total)


def working_hours_at(CalendarState self, t):
    """Working hours elapsed between time 0 and moment ``t`` (days, ≥ 0)."""
    return _hours_at(self, t, t)


def moment_at(CalendarState self, hours):
    """The earliest moment at which ``hours`` working hours have elapsed."""
    return _moment_at(self, hours, hours)


def _moment(CalendarState self, double hours, Py_ssize_t first):
    """:meth:`moment_at`, knowing that day ``first`` starts with at most ``hours`` behind it."""
    return _moment_from(self, hours, first)


def add_working_hours(CalendarState self, t, hours):
    """Moment at which ``hours`` of work starting at ``t`` (≥ 0) end (office hours only)."""
    return _add_hours(self, t, hours, t)


def add_working_days(CalendarState self, t, days):
    """Deadline ``days`` working days after ``t`` (F4.1 time limits)."""
    cdef double moment = t
    cdef double amount = days
    cdef double hours = <double> _hours_of(self, moment, t) + amount * self.hours_per_day
    cdef double first = floor(moment) if amount >= 0.0 else 0.0
    return _moment_of(self, hours, _index(first))


cdef object _PLAIN_ADD = add_working_hours


cdef inline bint _plain_calendar(object calendar) except -1:
    """Whether ``calendar.add_working_hours`` is this module's (its class's, not its own
    instance's): then it is computed by ``_add_hours``, without a Python call. Asked at
    every call by the lifecycle (as the reference asks the calendar), once by a station."""
    if not isinstance(calendar, CalendarState) or not (
        _own_flags(<CalendarState> calendar) & _OWN_ADD
    ):
        return False
    # its own dictionary, found without an attribute look-up (``getattr(calendar,
    # "__dict__")`` was ≈ 200 instructions a hand-off; issue 11, twenty-eighth round)
    cdef PyObject** own = _PyObject_GetDictPtr(calendar)
    return own is NULL or own[0] is NULL or not PyDict_Contains(<object> own[0], "add_working_hours")


# ------------------------------------------------------------------ the daily trust step
cdef extern from "_trust_step.h":
    int MICROGOV_TRUST_SIMD
    void microgov_trust_to_float(const double* t, float* x, Py_ssize_t n, int simd) noexcept nogil
    void microgov_fill_slots(float* x, const int* source, const int* to, Py_ssize_t slots) noexcept nogil
    void microgov_group_sums(
        const int* row, const int64_t* starts, Py_ssize_t groups, const int* tie,
        const float* weight, const float* x, float* out, int simd,
    ) noexcept nogil
    double microgov_update_block(
        double* t, const double* d, const float* out, Py_ssize_t lo, Py_ssize_t n, float w32,
        double keep, double r, int* bad, int simd,
    ) noexcept nogil

TRUST_SIMD = bool(MICROGOV_TRUST_SIMD)
"""Whether the trust step's loops run four and two lanes wide (SSE2; model/_trust_step.h):
the same bits as the one-value loops, which run elsewhere and under ``simd=False``."""

cdef enum:
    _PAIRWISE_BLOCK = 128  # numpy's PW_BLOCKSIZE: the largest block summed by 8 running sums


cdef double _update_and_sum(
    double* t, const double* d, const float* out, Py_ssize_t lo, Py_ssize_t n, float w32,
    double keep, double r, int* bad, int simd,
) noexcept nogil:
    """Residents ``lo … lo + n − 1``'s new trust, and their sum in numpy's order:
    ``np.add.reduce`` of a contiguous float64 vector is its pairwise sum — halves cut at
    multiples of 8 down to blocks of at most 128, each summed by 8 running sums (numpy's
    ``pairwise_sum``, _core/src/umath/loops_utils.h.src). Each block is updated, then summed
    while it is in cache (``microgov_update_block``), so the day's mean trust costs no pass of
    its own over the vector (tests/test_trust_diffusion.py holds the sums to numpy's, bit for
    bit)."""
    cdef Py_ssize_t half
    cdef double total
    if n > _PAIRWISE_BLOCK:
        half = n // 2
        half -= half % 8
        total = _update_and_sum(t, d, out, lo, half, w32, keep, r, bad, simd)
        return total + _update_and_sum(t, d, out, lo + half, n - half, w32, keep, r, bad, simd)
    return microgov_update_block(t, d, out, lo, n, w32, keep, r, bad, simd)


@cython.boundscheck(False)
@cython.wraparound(False)
def diffuse_trust(
    const int[::1] rows,
    const int64_t[::1] starts,
    const int[::1] ties,
    const float[::1] weight,
    double[::1] trust,
    const double[::1] disposition,
    float[::1] work,
    float[::1] neighbours,
    const int[::1] far_from,
    const int[::1] far_to,
    double w,
    double r,
    bint simd=True,
):
    """One day's trust step in place (model/trust_diffusion.py, whose reference this is bit
    for bit), on the ties grouped by degree (``TiesByDegree``): ``rows[starts[d]:starts[d +
    1]]`` are the residents with ``d`` ties, ascending, ``ties`` their ties group by group and
    row by row in each row's stored order, ``weight`` each grouped row's one stored value.
    ``work[:n]`` ← trust as float32; the far ties' slots filled, ``work[far_to[i]] =
    work[far_from[i]]`` in the given order (stretches of slots by resident: the trust vector
    read in order, the slots written in cache); each resident's neighbours' mean (into
    ``neighbours``) is the float32 sum, in stored order, of ``weight * work[j]`` over their
    ties ``j`` — a resident's row or a far tie's slot — (no tie: one's own trust); then,
    resident by resident, ``trust = disposition·r + (trust·(1 − w − r) +
    float32(neighbours·w))``. Returns whether some value is out of [0, 1] or NaN (the
    caller clips) and the new trust's sum, ``np.add.reduce``'s bit for bit
    (``_update_and_sum``; the caller sums again after a clip). ``ties``, ``rows``,
    ``far_from`` and ``far_to`` are read unchecked: ``TiesByDegree`` checks them once when
    made.

    Four rows of one degree are summed side by side: each row's sum keeps its own order, the
    four chains of additions overlap, and every loop's length is its group's degree, so the
    loops end where the processor predicts (rows of unequal lengths side by side cost a
    mispredicted branch or two per row; docs/performance.md, thirteenth round). The loops
    are model/_trust_step.h's: with SSE2 (``TRUST_SIMD``) the four rows are the four lanes
    of one vector and the update goes two residents a vector; ``simd=False`` runs the
    one-value loops, the same bits (the tests run both)."""
    cdef Py_ssize_t n = trust.shape[0]
    cdef Py_ssize_t groups = starts.shape[0] - 1
    cdef Py_ssize_t slots = far_from.shape[0]
    if (
        rows.shape[0] != n or weight.shape[0] != n or disposition.shape[0] != n
        or neighbours.shape[0] != n or far_to.shape[0] != slots or work.shape[0] != n + slots
    ):
        raise ValueError("diffuse_trust: arrays of different lengths")
    if groups < 1 or starts[0] != 0 or starts[groups] != n:
        raise ValueError("diffuse_trust: the groups do not cover the residents")
    cdef Py_ssize_t g, total = 0
    for g in range(groups):
        if starts[g + 1] < starts[g]:
            raise ValueError("diffuse_trust: the groups are not in order")
        total += g * (starts[g + 1] - starts[g])
    if total != ties.shape[0]:
        raise ValueError("diffuse_trust: the groups' ties are not the ties given")
    if n == 0:
        return False, 0.0
    cdef double keep = 1.0 - w - r
    cdef double trust_sum
    cdef float w32 = <float> w
    cdef const int* tie = &ties[0] if ties.shape[0] else NULL
    cdef const int* row = &rows[0]
    cdef const float* wt = &weight[0]
    cdef float* x = &work[0]
    cdef float* out = &neighbours[0]
    cdef double* t = &trust[0]
    cdef const double* d = &disposition[0]
    cdef const int* source = &far_from[0] if slots else NULL
    cdef const int* to = &far_to[0] if slots else NULL
    cdef int bad = 0
    with nogil:
        microgov_trust_to_float(t, x, n, simd)
        microgov_fill_slots(x, source, to, slots)  # the far ties' trust, in the sums' order
        microgov_group_sums(row, &starts[0], groups, tie, wt, x, out, simd)
        trust_sum = 0.0 + _update_and_sum(t, d, out, 0, n, w32, keep, r, &bad, simd)
    return bad != 0, trust_sum


# ------------------------------------------------------------------ a day's needs, arranged
cdef object _np = None  # numpy, imported on first use: the engine's import stays light
                        # (experiments.executors checks the engine before a pool starts)


cdef object _numpy():
    global _np
    if _np is None:
        import numpy
        _np = numpy
    return _np


cdef inline Py_ssize_t _upper_bound(const double[::1] cdf, double v) noexcept nogil:
    """``cdf.searchsorted(v, side="right")`` of a sorted ``cdf``: the entries ≤ ``v``."""
    return _upper_bound_in(cdf, 0, cdf.shape[0], v)


ctypedef fused _Sorted:
    int32_t
    double


cdef inline Py_ssize_t _upper_bound_in(
    const _Sorted[::1] cdf, Py_ssize_t lo, Py_ssize_t hi, _Sorted v
) noexcept nogil:
    """The first index in [lo, hi) whose entry is > ``v`` (``hi`` if none): halvings (a
    cumulative distribution's, or a CSR row's sorted column indices)."""
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef void _stable_order(const double* key, Py_ssize_t n, Py_ssize_t* order, Py_ssize_t* spare) noexcept nogil:
    """``key.argsort(kind="stable")`` into ``order`` (``spare``: n more slots): runs of 16
    by insertion, then merges; equal keys keep their order, so the result is the one stable
    order, whatever the algorithm (numpy's is a timsort)."""
    cdef Py_ssize_t i, j, start, end, width, left, mid, right, a, b, k, x
    cdef Py_ssize_t* src = order
    cdef Py_ssize_t* dst = spare
    cdef Py_ssize_t* swap
    for i in range(n):
        order[i] = i
    start = 0
    while start < n:
        end = start + 16 if start + 16 < n else n
        for i in range(start + 1, end):
            x = order[i]
            j = i
            while j > start and key[order[j - 1]] > key[x]:
                order[j] = order[j - 1]
                j -= 1
            order[j] = x
        start = end
    width = 16
    while width < n:
        left = 0
        while left < n:
            mid = left + width if left + width < n else n
            right = left + 2 * width if left + 2 * width < n else n
            a = left
            b = mid
            k = left
            while a < mid and b < right:
                if key[src[b]] < key[src[a]]:
                    dst[k] = src[b]
                    b += 1
                else:
                    dst[k] = src[a]
                    a += 1
                k += 1
            while a < mid:
                dst[k] = src[a]
                a += 1
                k += 1
            while b < right:
                dst[k] = src[b]
                b += 1
                k += 1
            left = right
        swap = src
        src = dst
        dst = swap
        width *= 2
    if src != order:
        for i in range(n):
            order[i] = src[i]


@cython.boundscheck(False)
@cython.wraparound(False)
def arrange_needs(
    long day,
    const int64_t[::1] who,
    const double[::1] time_u,
    const double[::1] u,
    const double[::1] type_cdf,
    const double[:, :] place_type_cdf,
    const signed char[::1] type_index,
    const double[::1] department_cdf,
    const double[::1] public_cdf,
    double multi_share,
    const int64_t[::1] extra_draw,
    const int64_t[:, :] offsets,
    Py_ssize_t n_departments,
    const double[:, ::1] severity_minor,
    double minor_share,
    const double[:, ::1] expo,
    const double[::1] work_mean_padded,
    double minor_work_share,
    const double[:, ::1] uniforms,
    double disputed_share,
    signed char patrol,
):
    """A day's needs in time order from the day's draws (model/demand.py, whose numpy
    arithmetic this does, bit for bit; tests/test_daily_draws.py): returns ``resident``,
    ``time``, ``case_type``, ``departments``, ``severity``, ``minor``, ``work``, the 14
    rows of uniforms and ``disputed``, each reordered by the stable order of the times.

    ``who``: the needs' residents (the public problems follow, ``time_u`` has one uniform
    per need of both); ``u``: the types', leads' and more-departments' uniforms;
    ``place_type_cdf`` (None: ``type_cdf`` for all) each need's own case-type mix;
    ``extra_draw`` (None: no need has more than one department) and ``offsets`` (None:
    one department) as the draws give them."""
    cdef Py_ssize_t n_needs = who.shape[0]
    cdef Py_ssize_t n = time_u.shape[0]
    cdef Py_ssize_t n_public = n - n_needs
    cdef Py_ssize_t n_types = type_index.shape[0]
    cdef bint by_place = place_type_cdf is not None
    cdef bint has_extra = extra_draw is not None
    cdef bint has_offsets = offsets is not None
    if n_public < 0 or u.shape[0] != 3 * n_needs + 2 * n_public:
        raise ValueError("arrange_needs: the uniforms do not match the needs")
    if (
        severity_minor.shape[0] != 2 or severity_minor.shape[1] != n
        or expo.shape[0] != n or expo.shape[1] != 4
        or uniforms.shape[0] != 14 or uniforms.shape[1] != n
        or (has_extra and extra_draw.shape[0] != n)
        or (by_place and place_type_cdf.shape[0] != n_needs)
        or work_mean_padded.shape[0] != n_departments + 1
    ):
        raise ValueError("arrange_needs: draws of different lengths")
    cdef Py_ssize_t k = 0  # the extra departments a need can have (offsets' columns used)
    if has_offsets:
        if offsets.shape[0] < n:
            raise ValueError("arrange_needs: too few rows of offsets")
        k = offsets.shape[1] if offsets.shape[1] < 3 else 3
    if n_public and public_cdf is None:
        raise ValueError("arrange_needs: public problems without their departments' mix")
    np = _numpy()
    resident = np.empty(n, dtype=np.int64)
    time = np.empty(n, dtype=np.float64)
    case_type = np.empty(n, dtype=np.int8)
    departments = np.empty((n, 4), dtype=np.int16)
    severity = np.empty(n, dtype=np.float64)
    minor = np.empty(n, dtype=np.bool_)
    work = np.empty((n, 4), dtype=np.float64)
    rows = np.empty((14, n), dtype=np.float64)
    disputed = np.empty(n, dtype=np.bool_)
    if n == 0:
        return resident, time, case_type, departments, severity, minor, work, rows, disputed
    cdef int64_t[::1] r_out = resident
    cdef double[::1] t_out = time
    cdef signed char[::1] c_out = case_type
    cdef short[:, ::1] d_out = departments
    cdef double[::1] s_out = severity
    cdef unsigned char[::1] m_out = minor.view(np.uint8)
    cdef double[:, ::1] w_out = work
    cdef double[:, ::1] u_out = rows
    cdef unsigned char[::1] q_out = disputed.view(np.uint8)
    cdef Py_ssize_t* order = <Py_ssize_t*> malloc(2 * n * sizeof(Py_ssize_t))
    cdef double* t_pre = <double*> malloc(n * sizeof(double))
    if order == NULL or t_pre == NULL:
        free(order)
        free(t_pre)
        raise MemoryError()
    cdef Py_ssize_t i, j, c, kind, lead, extra, count, last = work_mean_padded.shape[0] - 1
    cdef double v, top
    cdef short dept
    cdef bint is_minor, bad = False
    try:
        with nogil:
            for i in range(n):
                t_pre[i] = <double> day + time_u[i]
            _stable_order(t_pre, n, order, order + n)
            for j in range(n):
                i = order[j]
                t_out[j] = t_pre[i]
                if i < n_needs:
                    r_out[j] = who[i]
                    if by_place:
                        top = u[i] * place_type_cdf[i, place_type_cdf.shape[1] - 1]
                        count = 0
                        for c in range(place_type_cdf.shape[1]):
                            if top >= place_type_cdf[i, c]:
                                count += 1
                        kind = count if count < n_types - 1 else n_types - 1
                    else:
                        kind = _upper_bound(type_cdf, u[i])
                    if kind >= n_types:
                        bad = True
                        break
                    c_out[j] = type_index[kind]
                    lead = _upper_bound(department_cdf, u[n_needs + i])
                else:
                    r_out[j] = -1
                    c_out[j] = patrol
                    lead = _upper_bound(public_cdf, u[2 * n_needs + (i - n_needs)])
                if has_extra and u[2 * n_needs + n_public + i] < multi_share:
                    extra = 1 + extra_draw[i]
                else:
                    extra = 0
                d_out[j, 0] = <short> lead
                for c in range(3):
                    if c < k and extra > c:
                        d_out[j, c + 1] = <short> ((lead + offsets[i, c]) % n_departments)
                    else:
                        d_out[j, c + 1] = -1
                s_out[j] = severity_minor[0, i]
                is_minor = severity_minor[1, i] < minor_share
                m_out[j] = is_minor
                for c in range(4):
                    dept = d_out[j, c]
                    v = expo[i, c] * work_mean_padded[dept if dept >= 0 else last]
                    if is_minor:
                        v = v * minor_work_share
                    w_out[j, c] = v
                for c in range(14):
                    u_out[c, j] = uniforms[c, i]
                q_out[j] = uniforms[11, i] < disputed_share
    finally:
        free(order)
        free(t_pre)
    if bad:
        raise IndexError("arrange_needs: a case type beyond the case types' index")
    return resident, time, case_type, departments, severity, minor, work, rows, disputed


@cython.boundscheck(False)
@cython.wraparound(False)
def sort_needs(
    const int64_t[:] resident,
    const unsigned char[:] prevented,
    const double[::1] trust,
    const double[:] u_report,
    double p_zero,
    double slope,
    const signed char[:] case_type,
    const unsigned char[::1] visible_type,
    const short[:, :] departments,
    const unsigned char[::1] sensor_visible,
    const double[:] u_sensor,
    double sensor_share,
    const unsigned char[::1] patrol_visible,
    const double[:] patrol_delay,
    double lifetime,
    const double[:] u_channel,
    const double[::1] channel_cdf,
    int sensor_source,
):
    """Which of a day's needs become cases, and how (model/casework.py ``Casework.receive``,
    whose numpy masks this computes, bit for bit; tests/test_small_day.py): a need with a
    resident is reported when ``u_report < p_zero + slope · trust``; one unreported of a
    type others see is found by a sensor (``u_sensor < sensor_share`` where its lead
    department's problems are sensor-visible), else by a patrol (patrol-visible, within
    ``lifetime`` days); the rest lapse. ``prevented`` (None: none) needs do not arise.

    Returns ``(prevented, reported, found, kept, how)``: the counts, the positions of the
    needs that become cases (in order) and for each its channel (0–2, by ``u_channel``
    against ``channel_cdf``) if reported, ``sensor_source`` if a sensor finds it, −1 if a
    patrol will."""
    cdef Py_ssize_t n = resident.shape[0]
    cdef bint has_prevented = prevented is not None
    if (
        u_report.shape[0] != n or case_type.shape[0] != n or departments.shape[0] != n
        or u_sensor.shape[0] != n or patrol_delay.shape[0] != n or u_channel.shape[0] != n
        or (has_prevented and prevented.shape[0] != n) or departments.shape[1] < 1
        or channel_cdf.shape[0] < 1
    ):
        raise ValueError("sort_needs: fields of different lengths")
    cdef Py_ssize_t i, who, lead, kind, channel
    cdef Py_ssize_t n_prevented = 0, n_reported = 0, n_found = 0
    cdef Py_ssize_t n_trust = trust.shape[0], n_types = visible_type.shape[0]
    cdef Py_ssize_t n_departments = sensor_visible.shape[0]
    cdef Py_ssize_t top = channel_cdf.shape[0] - 1
    cdef double scale = channel_cdf[top]
    cdef bint is_prevented, unseen, by_sensor
    kept = []
    how = []
    for i in range(n):
        is_prevented = has_prevented and prevented[i]
        if is_prevented:
            n_prevented += 1
            continue
        who = resident[i]
        if who >= 0:
            if who >= n_trust:
                raise IndexError(f"sort_needs: resident {who} beyond the {n_trust} residents")
            if u_report[i] < p_zero + slope * trust[who]:
                channel = _upper_bound(channel_cdf, u_channel[i] * scale)
                kept.append(i)
                how.append(channel if channel < 2 else 2)
                n_reported += 1
                continue
        kind = case_type[i]
        if kind < 0 or kind >= n_types:
            raise IndexError(f"sort_needs: case type {kind} beyond the {n_types} case types")
        if not visible_type[kind]:
            continue
        lead = departments[i, 0]
        if lead < 0 or lead >= n_departments or patrol_visible.shape[0] != n_departments:
            raise IndexError(f"sort_needs: department {lead} beyond the {n_departments} departments")
        by_sensor = sensor_visible[lead] and u_sensor[i] < sensor_share
        if by_sensor:
            kept.append(i)
            how.append(sensor_source)
            n_found += 1
        elif patrol_visible[lead] and patrol_delay[i] <= lifetime:
            kept.append(i)
            how.append(-1)
            n_found += 1
    return n_prevented, n_reported, n_found, kept, how


@cython.boundscheck(False)
@cython.wraparound(False)
def gather_needs(
    list kept,
    const double[:] time,
    const int64_t[:] resident,
    const signed char[:] case_type,
    const double[:] severity,
    const unsigned char[:] minor,
    const unsigned char[:] disputed,
    const double[:, :] uniforms,
    const short[:, :] departments,
    const double[:, :] work,
    Py_ssize_t desk_row,
    const Py_ssize_t[::1] value_rows,
    double[:, ::1] values,
):
    """The fields of the needs at positions ``kept`` (model/casework.py ``_NeedRows``, whose
    numpy gathers are the reference; tests/test_small_day.py): as Python lists time,
    resident, case type, minor, disputed, the uniforms of row ``desk_row`` of ``uniforms``
    (u_desk), then each need's departments and work content as tuples of its row's entries
    before the −1 padding (one entry where the second department is −1); and into
    ``values``, one row per kept need, its severity and the uniforms of the rows
    ``value_rows`` (casework's ``NEED_VALUES``)."""
    cdef Py_ssize_t n = time.shape[0]
    cdef Py_ssize_t width = departments.shape[1]
    if (
        resident.shape[0] != n or case_type.shape[0] != n or severity.shape[0] != n
        or minor.shape[0] != n or disputed.shape[0] != n or uniforms.shape[0] != 14
        or uniforms.shape[1] != n or departments.shape[0] != n or work.shape[0] != n
        or work.shape[1] != width or width < 2
    ):
        raise ValueError("gather_needs: fields of different lengths")
    cdef Py_ssize_t m = len(kept)
    cdef Py_ssize_t columns = 1 + value_rows.shape[0]
    if values.shape[0] != m or values.shape[1] != columns:
        raise ValueError(
            f"gather_needs: values of shape ({values.shape[0]}, {values.shape[1]}), "
            f"not ({m}, {columns})"
        )
    cdef Py_ssize_t j, i, c, k, padding
    for c in range(-1, value_rows.shape[0]):
        if not 0 <= (desk_row if c < 0 else value_rows[c]) < uniforms.shape[0]:
            raise IndexError(f"gather_needs: a row beyond the {uniforms.shape[0]} uniforms")
    cdef list out = [[] for _ in range(8)]
    cdef list t_out = out[0], r_out = out[1], c_out = out[2], m_out = out[3]
    cdef list q_out = out[4], desk_out = out[5], d_out = out[6], w_out = out[7]
    for j in range(m):
        i = kept[j]
        if i < 0 or i >= n:
            raise IndexError(f"gather_needs: position {i} beyond the {n} needs")
        t_out.append(time[i])
        r_out.append(resident[i])
        c_out.append(case_type[i])
        m_out.append(minor[i] != 0)
        q_out.append(disputed[i] != 0)
        desk_out.append(uniforms[desk_row, i])
        values[j, 0] = severity[i]
        for c in range(columns - 1):
            values[j, 1 + c] = uniforms[value_rows[c], i]
        if departments[i, 1] >= 0:
            padding = 0
            for c in range(width):
                if departments[i, c] == -1:
                    padding += 1
            k = width - padding
        else:
            k = 1
        d_out.append(_atoms(_row_tuple(departments, i, k)))
        w_out.append(_atoms(_row_tuple(work, i, k)))
    return out


ctypedef fused _Entry:
    short
    double


cdef inline tuple _row_tuple(const _Entry[:, :] values, Py_ssize_t i, Py_ssize_t k):
    """``tuple(values[i, :k])`` of Python numbers, made at its size and filled (no list made
    and grown for each, as ``tuple([…])`` did; issue 11, thirty-fourth round)."""
    cdef tuple entries = PyTuple_New(k)
    cdef Py_ssize_t c
    cdef object entry
    for c in range(k):
        entry = values[i, c]
        Py_INCREF(entry)
        PyTuple_SET_ITEM(entries, c, entry)
    return entries


cdef inline tuple _atoms(tuple values):
    """``values``, a tuple of ints or floats, left out of the cyclic collector's lists at once
    (it holds nothing that can be part of a cycle; CPython leaves such a tuple out when a
    collection first meets it). A district keeps ≈ 3,300 of them a day (each new case's
    departments and work content) alive for weeks, and each collection first visits every
    one made since the last (≈ 200 ns each, cold): ≈ 60 % of a young collection's objects
    (issue 11, thirtieth round)."""
    PyObject_GC_UnTrack(<void*> values)
    return values


@cython.boundscheck(True)
@cython.wraparound(True)
def intake_items(
    list today,
    object linked,
    bint bundling,
    long patrol_channel,
    dict found_type,
    long hotline,
    list limits,
    Py_ssize_t small_batch,
):
    """The day's items of ``Casework._create`` (model/casework.py, whose Python is the
    reference; tests/test_case_intake.py): for each of ``today``'s entries (the moment, the
    need's number, the need rows, the row, the source) one item ``(moment, rows, row,
    source, need, None)`` — or, for a linked request (``linked`` not None, the source before
    ``patrol_channel`` and the need in ``linked``: ``OneThing.is_linked``'s rule), one item
    of part −1 (``bundling``) or one per department (parts 0, 1, …) — and each item's case
    type (``found_type``'s for a patrol's or sensor's find, else the need's). Where there
    are ``small_batch`` items or more, also the arrays the calendar's vector forms take: the
    moments (float64), whether each was taken in person (not ``hotline``) and its time
    limit in working days (``limits`` by case type, float64) — else None for the three, as
    also where a moment or a limit is not a float or a source not an int (the caller makes
    them as numpy would)."""
    cdef list items = []
    cdef list case_types = []
    cdef Py_ssize_t k, parts, n
    cdef tuple entry
    cdef object last_rows = None, types = None  # the need rows last read, and their types
    for item in today:
        entry = <tuple?> item
        if PyTuple_GET_SIZE(entry) != 5:
            raise ValueError(f"intake_items: an entry of {PyTuple_GET_SIZE(entry)} fields, not 5")
        now = <object> PyTuple_GET_ITEM(entry, 0)
        need = <object> PyTuple_GET_ITEM(entry, 1)
        rows = <object> PyTuple_GET_ITEM(entry, 2)
        i = <object> PyTuple_GET_ITEM(entry, 3)
        source = <object> PyTuple_GET_ITEM(entry, 4)
        if rows is not last_rows:  # (today's needs, and earlier days' finds among them)
            last_rows, types = rows, rows.case_type
        case_type = found_type.get(source, types[i])
        if linked is not None and source < patrol_channel and need in linked:
            if bundling:
                items.append((now, rows, i, source, need, -1))
                case_types.append(case_type)
            else:
                parts = len(rows.departments[i])
                for k in range(parts):
                    items.append((now, rows, i, source, need, k))
                    case_types.append(case_type)
        else:
            items.append((now, rows, i, source, need, None))
            case_types.append(case_type)
    n = len(items)
    if n < small_batch:
        return items, case_types, None, None, None
    np = _numpy()
    now_of = np.empty(n, dtype=np.float64)
    in_person = np.empty(n, dtype=np.bool_)
    limit_days = np.empty(n, dtype=np.float64)
    cdef double[::1] now_out = now_of
    cdef unsigned char[::1] person_out = in_person.view(np.uint8)
    cdef double[::1] limit_out = limit_days
    cdef tuple made
    for k in range(n):
        made = <tuple> items[k]
        now = <object> PyTuple_GET_ITEM(made, 0)
        source = <object> PyTuple_GET_ITEM(made, 3)
        limit = limits[case_types[k]]
        if type(now) is not float or type(limit) is not float or type(source) is not int:
            return items, case_types, None, None, None
        now_out[k] = <double> now
        person_out[k] = source != hotline
        limit_out[k] = <double> limit
    return items, case_types, now_of, in_person, limit_days


@cython.boundscheck(True)
@cython.wraparound(True)
def today_entries(
    list how, list position, list times, Py_ssize_t base, object needs, double sensor_delay,
    long sensor_source,
):
    """``Casework.receive``'s entries of the day (model/casework.py ``_today_entries``, the
    reference, whose arguments these are; tests/test_case_intake.py): for the ``j``-th kept
    need, ``(moment, base + position[j], needs, j, source)`` — its time plus
    ``sensor_delay`` if ``how[j]`` is ``sensor_source``, else its time if ``how[j]`` is a
    channel (≥ 0) — and, for a need left for a patrol (−1), ``j`` and ``position[j]``.
    Returns ``(today, patrolled, their positions)``."""
    cdef Py_ssize_t j, n = len(how)
    if len(position) != n or len(times) != n:
        raise ValueError("today_entries: how, position and times of different lengths")
    cdef list today = []
    cdef list patrolled = []
    cdef list batch_rows = []
    cdef long source
    for j in range(n):
        source = how[j]
        if source == sensor_source:
            today.append((times[j] + sensor_delay, base + <object> position[j], needs, j, source))
        elif source >= 0:
            today.append((times[j], base + <object> position[j], needs, j, source))
        else:
            patrolled.append(j)
            batch_rows.append(position[j])
    return today, patrolled, batch_rows


@cython.boundscheck(True)
@cython.wraparound(True)
def file_found(
    dict found, list patrolled, list found_at, list batch_rows, Py_ssize_t base,
    object needs, long patrol_source,
):
    """``Casework.receive``'s patrol finds filed by day (model/casework.py ``_file_found``,
    the reference, whose arguments these are; tests/test_case_intake.py): for the ``k``-th
    patrolled need found at ``found_at[k]``, ``(moment, base + batch_rows[k],
    needs, patrolled[k], patrol_source)`` appended to ``found[int(moment)]`` — the day by a
    C conversion, toward zero, for a finite float within ±4·10¹⁸, else by ``int``. Returns
    the number filed."""
    cdef Py_ssize_t k, n = len(patrolled)
    if len(found_at) != n or len(batch_rows) != n:
        raise ValueError("file_found: patrolled, found_at and batch_rows of different lengths")
    cdef object day
    cdef double value
    for k in range(n):
        moment = found_at[k]
        if type(moment) is float and isfinite(<double> moment) and (
            -4.0e18 < <double> moment < 4.0e18
        ):
            value = <double> moment
            day = <long long> value  # int(moment): toward zero
        else:
            day = int(moment)
        entries = found.get(day)
        if entries is None:
            entries = found[day] = []
        (<list?> entries).append(
            (moment, base + <object> batch_rows[k], needs, patrolled[k], patrol_source)
        )
    return n


@cython.boundscheck(True)
@cython.wraparound(True)
def write_cases(
    list rows,
    list items,
    list case_types,
    tuple columns,
    list departments_out,
    list work_out,
    const int[::1] resident_grid,
    dict last_need,
    long long n_departments,
    double window,
    long patrol_source,
    long sensor_source,
    long dispute_type,
):
    """New cases' rows of the case table, written from their needs: the twin of
    ``Casework._write_cases`` (model/casework.py), the reference, bit for bit
    (tests/test_case_intake.py).

    ``items[k]`` is the ``k``-th new case's (moment, need rows, row in them, source, need
    number, part) and ``rows[k]`` its row of the table; ``columns`` the table's columns
    named in casework's ``_WRITTEN_COLUMNS``, in that order. Each case gets its departments
    and work content (the ``part``-th entry alone for a separate linked request, ``part``
    ≥ 0) in ``departments_out`` and ``work_out``; its need number, case type
    (``case_types[k]``), source, grid (its resident's, else the need's public grid),
    resident (−1 for a need found by a patrol or sensor: nobody waits for it), severity,
    minor and disputed flags and eight uniforms; the moment reported; and whether it
    repeats the same resident's need of the same lead department reported at most
    ``window`` days before (``last_need``, keyed ``resident × n_departments + lead``, is
    updated in the cases' order; a neighbourhood dispute is no repeat need).

    Indexing is checked here (unlike the module's kernels): a malformed item — a position
    or part beyond its need rows, too short a tuple, a case type or source beyond a byte —
    raises the reference's IndexError or OverflowError instead of reading past a list."""
    cdef Py_ssize_t n = len(items)
    if len(rows) != n or len(case_types) != n or len(columns) != 18:
        raise ValueError("write_cases: rows, items, case types or columns of the wrong length")
    cdef long long[::1] need = columns[0]
    cdef long long[::1] resident_col = columns[1]
    cdef signed char[::1] case_type_col = columns[2]
    cdef signed char[::1] source_col = columns[3]
    cdef long[::1] grid = columns[4]
    cdef double[::1] severity = columns[5]
    cdef signed char[::1] minor = columns[6]
    cdef signed char[::1] disputed = columns[7]
    cdef double[::1] u_classify = columns[8]
    cdef double[::1] u_satisfy = columns[9]
    cdef double[::1] u_quality = columns[10]
    cdef double[::1] u_callback = columns[11]
    cdef double[::1] u_repeat = columns[12]
    cdef double[::1] u_urge = columns[13]
    cdef double[::1] u_dispute = columns[14]
    cdef double[::1] u_verify = columns[15]
    cdef double[::1] reported = columns[16]
    cdef signed char[::1] repeat = columns[17]
    cdef Py_ssize_t size = need.shape[0]
    if (
        resident_col.shape[0] != size or case_type_col.shape[0] != size
        or source_col.shape[0] != size or grid.shape[0] != size or severity.shape[0] != size
        or minor.shape[0] != size or disputed.shape[0] != size
        or u_classify.shape[0] != size or u_satisfy.shape[0] != size
        or u_quality.shape[0] != size or u_callback.shape[0] != size
        or u_repeat.shape[0] != size or u_urge.shape[0] != size
        or u_dispute.shape[0] != size or u_verify.shape[0] != size
        or reported.shape[0] != size or repeat.shape[0] != size
    ):
        raise ValueError("write_cases: columns of different lengths")
    # the table's rows in use (its columns' length is its capacity)
    cdef Py_ssize_t used = min(len(departments_out), len(work_out), size)
    cdef Py_ssize_t n_residents = resident_grid.shape[0]
    cdef object batch, last_batch = None, part, last
    cdef dict read = {}  # each batch's fields by its id, read once: the items of a day's
                         # batch and of earlier days' patrolled needs interleave
    cdef tuple lists
    cdef list b_departments, b_work, b_resident, b_minor, b_disputed, b_public
    cdef const double[:, ::1] checked
    cdef const double* b_values = NULL  # the batch's values (casework's NEED_VALUES), a
                                        # row of nine per need, held by ``lists``
    cdef const double* v
    cdef Py_ssize_t b_rows = 0, value_row
    cdef tuple item, departments, work
    cdef Py_ssize_t k, i, row, first
    cdef long long resident, key
    cdef signed char source, case_type  # converted with a range check, as array('b') does
    cdef double now
    for k in range(n):
        item = items[k]
        if len(item) != 6:
            raise ValueError(f"write_cases: item {k} has {len(item)} fields, not 6")
        now = item[0]
        batch = item[1]
        i = item[2]
        source = item[3]
        part = item[5]
        if batch is not last_batch:
            last_batch = batch
            lists = read.get(id(batch))
            if lists is None:
                checked = batch.values  # float64, C-contiguous rows (else it raises)
                if checked.shape[1] != 9:
                    raise ValueError(
                        f"write_cases: need values of {checked.shape[1]} columns, not 9"
                    )
                # the view is kept in ``lists`` (its array alive, and not resized while
                # its buffer is exported) with the address of its first value
                lists = read[id(batch)] = (
                    batch.departments, batch.work, batch.resident, batch.minor,
                    batch.disputed, batch.public_grid, checked,
                    <Py_ssize_t> &checked[0, 0] if checked.shape[0] > 0 else 0,
                    checked.shape[0],
                )
            b_departments = lists[0]
            b_work = lists[1]
            b_resident = lists[2]
            b_minor = lists[3]
            b_disputed = lists[4]
            b_public = lists[5]
            b_values = <const double*> <Py_ssize_t> lists[7]
            b_rows = lists[8]
        row = rows[k]
        if row < 0 or row >= used:
            raise IndexError(f"write_cases: row {row} beyond the table's {used}")
        departments = b_departments[i]
        work = b_work[i]
        if part is not None and part >= 0:  # one of the separate linked requests
            first = part
            departments = departments[first : first + 1]
            work = work[first : first + 1]
        departments_out[row] = departments
        work_out[row] = work
        resident = b_resident[i]
        case_type = case_types[k]
        need[row] = item[4]
        case_type_col[row] = case_type
        source_col[row] = source
        if resident >= 0:
            if resident >= n_residents:
                raise IndexError(f"write_cases: resident {resident} beyond the {n_residents}")
            grid[row] = resident_grid[resident]
        else:
            grid[row] = b_public[i]
        if source == patrol_source or source == sensor_source:
            resident = -1  # found, not reported: nobody is waiting for it
        resident_col[row] = resident
        minor[row] = b_minor[i]
        disputed[row] = b_disputed[i]
        value_row = i + b_rows if i < 0 else i  # from the end, as the lists are read
        if value_row < 0 or value_row >= b_rows:
            raise IndexError(f"write_cases: position {i} beyond the {b_rows} need values")
        v = b_values + 9 * value_row
        severity[row] = v[0]
        u_classify[row] = v[1]
        u_satisfy[row] = v[2]
        u_quality[row] = v[3]
        u_callback[row] = v[4]
        u_repeat[row] = v[5]
        u_urge[row] = v[6]
        u_dispute[row] = v[7]
        u_verify[row] = v[8]
        reported[row] = now
        if resident >= 0 and case_type != dispute_type:  # a dispute is no repeat need
            key = resident * n_departments + <long long> departments[0]
            last = last_need.get(key)
            repeat[row] = last is not None and now - <double> last <= window
            last_need[key] = now


def leads_and_counts(list departments, const int64_t[::1] rows):
    """Each of ``rows``' cases' lead department (the first it needs) and how many it needs,
    from ``departments`` (the case table's tuples), as two int64 arrays: the twin of
    ``CaseRows.lead`` and ``CaseRows.needed`` (model/case_tallies.py), which list the rows'
    tuples and read each twice in Python (≈ 0.5 µs a case of a retired block; issue 11,
    thirty-third round). A row beyond the list, or a case that needs no department, raises
    their IndexError; an entry that is not a tuple is read as they read it."""
    np = _numpy()
    cdef Py_ssize_t n = rows.shape[0], k, size = len(departments)
    lead = np.empty(n, dtype=np.int64)
    needed = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] lead_out = lead
    cdef int64_t[::1] needed_out = needed
    cdef int64_t row
    for k in range(n):
        row = rows[k]
        if row < -size or row >= size:
            raise IndexError("list index out of range")
        entry = departments[row + size if row < 0 else row]
        if type(entry) is tuple:
            if PyTuple_GET_SIZE(entry) == 0:
                raise IndexError("tuple index out of range")
            first = <object> PyTuple_GET_ITEM(entry, 0)
            needed_out[k] = PyTuple_GET_SIZE(entry)
        else:
            first = entry[0]
            needed_out[k] = len(entry)
        lead_out[k] = first
    return lead, needed


def fill_rows(double[::1] column, list rows, double value):
    """``column[row] = value`` for each of ``rows`` (the twin of the loop in model/casework.py
    ``CaseTable.allocate`` that resets a reused row's kept timestamps; ≈ 100 ns a row in
    Python, a district day's ≈ 2,650 new cases mostly in reused rows; issue 11, thirty-fourth
    round). A row is read
    as a list index is (from the end if negative); one beyond the column raises the
    IndexError ``array`` raises, after the rows before it are written, as the loop does."""
    cdef Py_ssize_t k, size = column.shape[0]
    for k in range(len(rows)):
        column[_array_row(rows[k], size)] = value


def number_rows(int64_t[::1] column, list rows, int64_t first):
    """``column[rows[k]] = first + k`` for each ``k`` (``CaseTable.allocate``'s numbering of
    its new cases, the twin of its loop), with :func:`fill_rows`' reading of a row."""
    cdef Py_ssize_t k, size = column.shape[0]
    for k in range(len(rows)):
        column[_array_row(rows[k], size)] = first + k


cdef inline Py_ssize_t _array_row(Py_ssize_t row, Py_ssize_t size) except -1:
    """Row ``row`` of an ``array`` of ``size``, read as its assignment reads an index (from the
    end if negative; beyond it, its IndexError)."""
    if row < -size or row >= size:
        raise IndexError("array assignment index out of range")
    return row + size if row < 0 else row


def scale_blocks(
    double[::1] values, list bounds, const double[::1] factors, const int64_t[::1] counts
):
    """``values[bounds[c]:bounds[c + 1]] *= factors[c]`` for each ``c`` whose count is not
    zero, in order (the twin of model/meetings.py ``_python_scale_blocks``, the open
    collective issues' erosion of each community's trust: a numpy slice product per
    community, ≈ 1.5–3 µs each of a few hundred a district day; issue 11, thirty-fourth
    round). Bounds are read as a slice's are (clipped to the values, an empty block where
    they cross)."""
    cdef Py_ssize_t c, i, a, b, n = values.shape[0]
    if len(bounds) < counts.shape[0] + 1 or factors.shape[0] < counts.shape[0]:
        raise ValueError("scale_blocks: fewer bounds or factors than counts")
    cdef double f
    for c in range(counts.shape[0]):
        if counts[c] == 0:
            continue
        a = _slice_end(bounds[c], n)
        b = _slice_end(bounds[c + 1], n)
        f = factors[c]
        for i in range(a, b):
            values[i] *= f


def diagonal_block(
    const int32_t[::1] indptr, const int32_t[::1] indices, const double[::1] data,
    Py_ssize_t a, Py_ssize_t b,
):
    """The block of rows and columns ``a`` … ``b − 1`` of a CSR matrix whose rows' indices
    are sorted and unique (canonical), as ``(indptr, indices, data)``: what scipy's
    ``matrix[a:b, a:b]`` holds, the same entries in the same order (the twin is that slice,
    model/meetings.py ``community_ties``). A row's columns in ``[a, b)`` are one run of its
    sorted indices, found by two binary searches and copied at once, where scipy goes over
    the rows twice and tests every column (a meeting day's community submatrices of the
    district's 8.7 M ties, ≈ 0.1 s; issue 11, thirty-fifth round)."""
    cdef Py_ssize_t rows = indptr.shape[0] - 1
    if not 0 <= a <= b <= rows:
        raise ValueError(f"diagonal_block: rows {a}:{b} of a matrix of {rows}")
    if indptr[0] < 0 or indptr[rows] > min(indices.shape[0], data.shape[0]):
        raise ValueError("diagonal_block: row pointers outside the indices or data")
    cdef Py_ssize_t n = b - a, r, i, j, k, p, total = 0
    np = _numpy()
    out_indptr = np.empty(n + 1, dtype=np.int32)
    starts = np.empty(n, dtype=np.intp)
    cdef int32_t[::1] o_indptr = out_indptr
    cdef Py_ssize_t[::1] o_starts = starts
    for r in range(n):
        if indptr[a + r] > indptr[a + r + 1]:
            raise ValueError(f"diagonal_block: row pointers decrease at row {a + r}")
        # the row's first column ≥ a and first ≥ b: the first > a − 1 and > b − 1
        i = _upper_bound_in(indices, indptr[a + r], indptr[a + r + 1], <int32_t> (a - 1))
        j = _upper_bound_in(indices, i, indptr[a + r + 1], <int32_t> (b - 1))
        o_indptr[r] = <int32_t> total
        o_starts[r] = i
        total += j - i
    o_indptr[n] = <int32_t> total
    out_indices = np.empty(total, dtype=np.int32)
    out_data = np.empty(total, dtype=np.float64)
    cdef int32_t[::1] o_indices = out_indices
    cdef double[::1] o_data = out_data
    cdef int32_t shift = <int32_t> a
    for r in range(n):
        k = o_starts[r]
        for p in range(o_indptr[r], o_indptr[r + 1]):
            o_indices[p] = indices[k] - shift
            o_data[p] = data[k]
            k += 1
    return out_indptr, out_indices, out_data


cdef inline bint _far(int64_t tie, int64_t row, int64_t far_rows) noexcept nogil:
    """Whether a tie is more than ``far_rows`` rows from its row."""
    return (tie - row if tie >= row else row - tie) > far_rows


def group_by_degree(const int32_t[::1] indptr, const int32_t[::1] indices, int64_t far_rows):
    """A CSR matrix's rows grouped by their numbers of ties, as
    ``model.trust_diffusion._numpy_grouping`` groups them (the reference; the same arrays
    for ties that are rows, ``[0, n)``): ``rows`` (int32) the rows by number of ties,
    ascending within a number (a stable counting sort); ``starts`` (int64, of length the
    most ties + 2) where each number's rows begin; ``ties`` (int32) the rows' indices group
    by group and row by row; ``far`` (intp) the positions in ``ties`` of the ties more than
    ``far_rows`` rows from their row. ``indptr`` must start at 0, never decrease and end at
    the number of indices, and number fewer than 2³¹ rows. A count and one pass over the
    rows in order, where numpy sorted, gathered blocks through int64 index arrays and took
    every tie's distance in a fresh array: the district's grouping on the trust step's
    first day (issue 11, thirty-seventh round)."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, i, d, k, p, top = 0, count = 0, at
    cdef int64_t row
    if n < 0 or n >= 2**31 or indptr[0] != 0 or indptr[n] != indices.shape[0]:
        raise ValueError("group_by_degree: row pointers do not span the indices")
    if far_rows < 0:
        raise ValueError(f"group_by_degree: far_rows {far_rows} must be ≥ 0")
    for i in range(n):  # (compared, not subtracted: a difference of two int32 can wrap)
        if indptr[i + 1] < indptr[i]:
            raise ValueError(f"group_by_degree: row pointers decrease at row {i}")
        d = <Py_ssize_t> indptr[i + 1] - <Py_ssize_t> indptr[i]
        if d > top:
            top = d
    np = _numpy()
    out_rows = np.empty(n, dtype=np.int32)
    out_starts = np.zeros(top + 2, dtype=np.int64)
    out_ties = np.empty(indices.shape[0], dtype=np.int32)
    cdef int32_t[::1] o_rows = out_rows
    cdef int64_t[::1] o_starts = out_starts
    cdef int32_t[::1] o_ties = out_ties
    for i in range(n):  # each number's rows counted, then where each number begins
        o_starts[indptr[i + 1] - indptr[i] + 1] += 1
    for d in range(1, top + 2):
        o_starts[d] += o_starts[d - 1]
    # each row's place among its number's rows, and where its ties go: rows read in order,
    # so that the indices are read once from the start (one stream written per number)
    cdef int64_t* place = <int64_t*> malloc(2 * (top + 1) * sizeof(int64_t))
    if place is NULL:
        raise MemoryError()
    cdef int64_t* tie_at = place + top + 1
    try:
        at = 0
        for d in range(top + 1):
            place[d] = o_starts[d]
            tie_at[d] = at
            at += d * (o_starts[d + 1] - o_starts[d])
        for i in range(n):
            d = indptr[i + 1] - indptr[i]
            o_rows[place[d]] = <int32_t> i
            place[d] += 1
            at = tie_at[d]
            for p in range(indptr[i], indptr[i + 1]):  # (the far ones counted)
                o_ties[at] = indices[p]
                count += _far(indices[p], i, far_rows)
                at += 1
            tie_at[d] = at
    finally:
        free(place)
    out_far = np.empty(count, dtype=np.intp)
    cdef Py_ssize_t[::1] o_far = out_far
    count = 0
    at = 0
    for d in range(1, top + 1):  # the far ones' positions, number by number
        for k in range(o_starts[d], o_starts[d + 1]):
            row = o_rows[k]
            for p in range(d):
                if _far(o_ties[at], row, far_rows):
                    o_far[count] = at
                    count += 1
                at += 1
    return out_rows, out_starts, out_ties, out_far


def grouping_fits(
    const int32_t[::1] indptr, const int32_t[::1] rows, const int64_t[::1] starts,
    const int32_t[::1] ties, const int32_t[::1] far_from, const int32_t[::1] far_to,
):
    """Whether a grouping describes the CSR row pointers ``indptr``'s rows, as
    ``model.trust_diffusion._numpy_fits`` checks it (the reference; the same answer): every
    row once and in the group of its number of ties, the groups' ties as many as their rows
    have, every tie a row or a slot (``n`` … ``n + slots − 1``, slots the far ties), every
    slot filled once (``far_to``) from a row (``far_from``) and read once. Marks in one byte
    a row or slot and one pass over each array, where numpy's checks made a count per row,
    a repeated number of ties per row and a mask of the ties: ≈ 0.1 s of each of the
    district's two groupings made on the trust step's first day (issue 11, forty-second
    round)."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, slots = far_from.shape[0], groups, d, k, i
    cdef int64_t total = 0
    cdef int32_t row, tie
    if n < 0 or rows.shape[0] != n or far_to.shape[0] != slots or starts.shape[0] < 2:
        return False
    groups = starts.shape[0] - 1
    if starts[0] != 0 or starts[groups] != n:
        return False
    for d in range(groups):
        if starts[d + 1] < starts[d]:
            return False
        total += d * (starts[d + 1] - starts[d])
    if total != ties.shape[0]:
        return False
    cdef unsigned char* seen = <unsigned char*> calloc(n + 2 * slots + 1, 1)
    if seen is NULL:
        raise MemoryError()
    cdef unsigned char* filled = seen + n
    cdef unsigned char* read = filled + slots
    try:
        for d in range(groups):  # each row once, in the group of its number of ties
            for k in range(starts[d], starts[d + 1]):
                row = rows[k]
                if row < 0 or row >= n or seen[row] or <int64_t> indptr[row + 1] - indptr[row] != d:
                    return False
                seen[row] = 1
        for k in range(ties.shape[0]):  # a row, or a slot read once
            tie = ties[k]
            if tie < 0 or tie - n >= slots:
                return False
            if tie >= n:
                if read[tie - n]:
                    return False
                read[tie - n] = 1
        for k in range(slots):  # filled once, from a row
            if far_from[k] < 0 or far_from[k] >= n:
                return False
            i = <Py_ssize_t> far_to[k] - n
            if i < 0 or i >= slots or filled[i]:
                return False
            filled[i] = 1
        for i in range(slots):  # (slots marks as many reads as there are ties ≥ n)
            if not read[i]:
                return False
    finally:
        free(seen)
    return True


cdef inline void _bucket_starts(Py_ssize_t* place, Py_ssize_t buckets) noexcept nogil:
    """Each bucket's count in ``place`` replaced by where the bucket begins (a counting
    sort's running sum)."""
    cdef Py_ssize_t digit, size, total = 0
    for digit in range(buckets):
        size = place[digit]
        place[digit] = total
        total += size


cdef void _by_row_digit(
    const int32_t[::1] far_from, const Py_ssize_t* given, Py_ssize_t* out, int shift,
    Py_ssize_t* place,
) noexcept nogil:
    """One stable counting pass of ``stretch_order``: the positions ``given`` (NULL: 0, 1,
    …) into ``out`` in the order of their rows' 16-bit digit ``far_from[k] >> shift &
    0xFFFF`` (``place``: 65,536 entries of work space)."""
    cdef Py_ssize_t count = far_from.shape[0], j, k, digit
    memset(place, 0, 65536 * sizeof(Py_ssize_t))
    for k in range(count):
        place[(far_from[k] >> shift) & 0xFFFF] += 1
    _bucket_starts(place, 65536)
    for j in range(count):
        k = j if given is NULL else given[j]
        digit = (far_from[k] >> shift) & 0xFFFF
        out[place[digit]] = k
        place[digit] += 1


@cython.cdivision(True)  # (k ≥ 0 and stretch ≥ 1: C's division is floor division)
def stretch_order(const int32_t[::1] far_from, int64_t stretch):
    """``numpy.argsort(k // stretch * n + far_from[k], kind="stable")`` (intp) for rows
    ``0 ≤ far_from[k] < n`` (``n`` the number of rows, below 2³¹): the far ties by stretch
    of ``stretch``, each stretch by row, stably. Three counting sorts, each stable, over all
    of them: by the row's low 16 bits, its high 15, then the stretch — the same cost for any
    stretch (model.trust_diffusion.TiesByDegree.layouts_of; the district's 2.0 M in
    ≈ 0.05–0.06 s where numpy's sorts of 16-bit digits took ≈ 0.11–0.16 s on the forty-second
    round's machine; issue 11). A row of ``n`` or more is ordered as if ``n`` were above
    it: the caller's rows are below ``n``."""
    cdef Py_ssize_t count = far_from.shape[0], k, j, digit
    cdef Py_ssize_t buckets = 65536
    if stretch < 1:
        raise ValueError(f"stretch_order: stretch {stretch} must be ≥ 1")
    for k in range(count):
        if far_from[k] < 0:
            raise ValueError("stretch_order: a negative row")
    if stretch > count:
        stretch = count if count > 0 else 1
    cdef Py_ssize_t stretches = (count + stretch - 1) // stretch
    if stretches > buckets:
        buckets = stretches
    np = _numpy()
    out = np.empty(count, dtype=np.intp)
    cdef Py_ssize_t[::1] order = out
    # (at least one byte asked of each: malloc(0) may answer NULL)
    cdef Py_ssize_t* first = <Py_ssize_t*> malloc(count * sizeof(Py_ssize_t) + 1)
    cdef Py_ssize_t* second = <Py_ssize_t*> malloc(count * sizeof(Py_ssize_t) + 1)
    cdef Py_ssize_t* place = <Py_ssize_t*> malloc(buckets * sizeof(Py_ssize_t))
    if first is NULL or second is NULL or place is NULL:
        free(first)
        free(second)
        free(place)
        raise MemoryError()
    try:
        _by_row_digit(far_from, NULL, first, 0, place)  # by the row's low 16 bits
        _by_row_digit(far_from, first, second, 16, place)  # then its high bits, stably
        # then by the stretch, stably, into the order (stretch s holds positions
        # s·stretch … of them, in order: where it begins needs no count)
        for digit in range(stretches):
            place[digit] = digit * stretch
        for j in range(count):
            k = second[j]
            digit = k // stretch
            order[place[digit]] = k
            place[digit] += 1
    finally:
        free(first)
        free(second)
        free(place)
    return out


cdef int _compare_int32(const void* a, const void* b) noexcept nogil:
    cdef int32_t x = (<const int32_t*> a)[0], y = (<const int32_t*> b)[0]
    return (x > y) - (x < y)


cdef inline void _sort_int32(int32_t* values, Py_ssize_t n) noexcept nogil:
    """``values[:n]`` in ascending order: by insertion for a row of a few ties, else qsort."""
    cdef Py_ssize_t i, j
    cdef int32_t v
    if n > 32:
        qsort(values, n, sizeof(int32_t), _compare_int32)
        return
    for i in range(1, n):
        v = values[i]
        j = i
        while j > 0 and values[j - 1] > v:
            values[j] = values[j - 1]
            j -= 1
        values[j] = v


def symmetric_ties(const int32_t[::1] first, const int32_t[::1] second, Py_ssize_t n):
    """The canonical CSR structure ``(indptr, indices)`` (int32) of the symmetric 0/1 matrix
    of ``n`` rows with a tie both ways for each pair ``(first[k], second[k])`` that is not a
    row with itself: each row's columns sorted, each once — what scipy's ``coo_matrix((ones,
    (rows, columns))).tocsr()`` of the pairs and their mirror images holds (the reference:
    ``model.population._scipy_ties``). One count, one scatter and one sort of each row's
    few ties, where scipy scattered, sorted pairs of index and value, then merged them: a
    district's build (issue 11, thirty-seventh round). The rows of a pair that is not a
    row with itself must be in ``[0, n)``, and the ties both ways fewer than 2³¹."""
    cdef Py_ssize_t m = first.shape[0], k, i, p, q, end
    cdef int32_t a, b
    if second.shape[0] != m:
        raise ValueError(f"symmetric_ties: {m} first rows and {second.shape[0]} second rows")
    if n < 0 or n >= 2**31:
        raise ValueError(f"symmetric_ties: {n} rows: int32 numbers 0 … 2³¹ − 1 only")
    np = _numpy()
    at = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t[::1] place = at
    for k in range(m):  # each row's ties both ways, counted, then where each row begins
        a = first[k]
        b = second[k]
        if a == b:  # (a resident with themself: no tie, as scipy's reference drops it)
            continue
        if a < 0 or a >= n or b < 0 or b >= n:
            raise ValueError(f"symmetric_ties: pair {k} ({a}, {b}) outside rows 0 … {n - 1}")
        place[a + 1] += 1
        place[b + 1] += 1
    for i in range(n):
        place[i + 1] += place[i]
    if place[n] >= 2**31:
        raise ValueError(f"symmetric_ties: {place[n]} ties both ways: more than int32 numbers")
    scattered = np.empty(place[n], dtype=np.int32)
    cdef int32_t[::1] ties = scattered
    for k in range(m):  # (``place[i]`` ends where row i + 1 begins)
        a = first[k]
        b = second[k]
        if a != b:
            ties[place[a]] = b
            place[a] += 1
            ties[place[b]] = a
            place[b] += 1
    out_indptr = np.empty(n + 1, dtype=np.int32)
    cdef int32_t[::1] indptr = out_indptr
    p = 0  # each row sorted and its repeats dropped, the rows moved up together
    q = 0
    indptr[0] = 0
    for i in range(n):
        end = place[i]
        if end > p:
            _sort_int32(&ties[p], end - p)
            ties[q] = ties[p]
            q += 1
            for k in range(p + 1, end):
                if ties[k] != ties[q - 1]:
                    ties[q] = ties[k]
                    q += 1
        p = end
        indptr[i + 1] = <int32_t> q
    # (a copy when repeats were dropped: a view would keep the longer array alive)
    return out_indptr, scattered if q == scattered.shape[0] else scattered[:q].copy()


cdef inline Py_ssize_t _slice_end(int64_t end, Py_ssize_t n) noexcept:
    """A slice's end ``end`` of a sequence of ``n``: from the end if negative, clipped."""
    if end < 0:
        end += n
        return 0 if end < 0 else <Py_ssize_t> end
    return n if end > n else <Py_ssize_t> end


# ------------------------------------------------------------------ a day's draws
ctypedef struct bitgen_t:
    # numpy's public bit generator interface (numpy/random/bitgen.h), read from a bit
    # generator's ``capsule``: the run's own generator state, advanced by its own functions
    void* state
    uint64_t (*next_uint64)(void* st) noexcept nogil
    uint32_t (*next_uint32)(void* st) noexcept nogil
    double (*next_double)(void* st) noexcept nogil
    uint64_t (*next_raw)(void* st) noexcept nogil


cdef bitgen_t* _bitgen(object generator) except NULL:
    return <bitgen_t*> PyCapsule_GetPointer(generator.bit_generator.capsule, "BitGenerator")


cdef inline uint32_t _lemire(bitgen_t* g, uint32_t rng) noexcept nogil:
    """numpy's ``buffered_bounded_lemire_uint32``: a uniform integer in [0, rng] (rng below
    2**32 − 1), by Lemire's multiply-and-reject on 32-bit draws."""
    cdef uint32_t rng_excl = rng + 1
    cdef uint64_t m = (<uint64_t> g.next_uint32(g.state)) * rng_excl
    cdef uint32_t leftover = <uint32_t> (m & 0xFFFFFFFFUL)
    cdef uint32_t threshold
    if leftover < rng_excl:
        threshold = (0xFFFFFFFFUL - rng) % rng_excl
        while leftover < threshold:
            m = (<uint64_t> g.next_uint32(g.state)) * rng_excl
            leftover = <uint32_t> (m & 0xFFFFFFFFUL)
    return <uint32_t> (m >> 32)


cdef inline uint64_t _interval(bitgen_t* g, uint64_t top) noexcept nogil:
    """numpy's ``random_interval``: a uniform integer in [0, top] by masked rejection."""
    if top == 0:
        return 0
    cdef uint64_t mask = top, value
    mask |= mask >> 1
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    mask |= mask >> 32
    if top <= 0xFFFFFFFFUL:
        value = g.next_uint32(g.state) & mask
        while value > top:
            value = g.next_uint32(g.state) & mask
    else:
        value = g.next_uint64(g.state) & mask
        while value > top:
            value = g.next_uint64(g.state) & mask
    return value


cdef object _integers(object generator, int64_t high, Py_ssize_t n):
    """``generator.integers(0, high, n)`` (int64), the same numbers and generator state:
    numpy's 32-bit Lemire path, or numpy's own call for a range beyond it."""
    if high < 1 or high - 1 >= 0xFFFFFFFF:
        return generator.integers(0, high, n)
    np = _numpy()
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    cdef int64_t[::1] o = out
    cdef bitgen_t* g = _bitgen(generator)
    cdef uint32_t rng = <uint32_t> (high - 1)
    cdef Py_ssize_t i
    if rng == 0:
        for i in range(n):
            o[i] = 0
    else:
        for i in range(n):
            o[i] = <int64_t> _lemire(g, rng)
    return out


def integer_below(object generator, object high):
    """``int(generator.integers(high))``, the same number and generator state (numpy's
    32-bit Lemire path: no draw for ``high`` 1), as a Python int, for a Python int
    ``high`` in [1, 2**32 − 1]; numpy's own call for anything else (a larger range, which
    numpy draws otherwise, a ``high`` below 1, which it refuses, another type). A scalar
    ``Generator.integers`` costs ≈ 1.8 µs of argument handling (issue 11, eighteenth round;
    model/scalar_draws.py checks the two agree). Without numpy's lock on the generator, as
    ``draw_needs``: a run's generators are its own, used by one thread."""
    if type(high) is not int or high < 1 or high > 0xFFFFFFFF:
        return int(generator.integers(high))
    if high == 1:
        return 0
    cdef bitgen_t* g = _bitgen(generator)
    return <int64_t> _lemire(g, <uint32_t> (<int64_t> high - 1))


def uniform(object generator):
    """``generator.random()``: one ``next_double``, the same float and generator state,
    without numpy's argument handling (≈ 0.5 µs; issue 11, eighteenth round;
    model/scalar_draws.py checks the two agree). Without numpy's lock, as above."""
    cdef bitgen_t* g = _bitgen(generator)
    return g.next_double(g.state)


def uniforms(object generator, Py_ssize_t n):
    """``generator.random(n).tolist()``: ``n`` ``next_double``s in order, the same floats
    and generator state, as a list without the array numpy makes and converts (≈ 4 µs of a
    repeat contact's nine draws in a district day; issue 11, thirty-third round;
    model/scalar_draws.py checks the two agree). Without numpy's lock, as above."""
    if n < 0:
        return generator.random(n).tolist()  # numpy's own error
    cdef bitgen_t* g = _bitgen(generator)
    cdef list out = [None] * n
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = g.next_double(g.state)
    return out


cdef extern from *:
    """
    /* numpy's SeedSequence (pool of 4 words, no spawn key) and PCG64 seeded from it: the
       hash constants and steps of numpy/random/bit_generator.pyx and pcg64.h */
    static inline uint32_t microgov_hashmix(uint32_t value, uint32_t *hash_const) {
        value ^= *hash_const;
        *hash_const *= 0x931e8875U;
        value *= *hash_const;
        value ^= value >> 16;
        return value;
    }
    static inline uint32_t microgov_mix(uint32_t x, uint32_t y) {
        uint32_t result = 0xca01f9ddU * x - 0x4973f715U * y;
        result ^= result >> 16;
        return result;
    }
    /* SeedSequence(entropy words).generate_state(4, np.uint64) */
    static void microgov_seed_state(const uint32_t *entropy, Py_ssize_t n, uint64_t *out) {
        uint32_t pool[4], words[8], hash_const = 0x43b0d7e5U, data;
        Py_ssize_t i, j;
        for (i = 0; i < 4; i++)
            pool[i] = microgov_hashmix(i < n ? entropy[i] : 0U, &hash_const);
        for (i = 0; i < 4; i++)
            for (j = 0; j < 4; j++)
                if (i != j)
                    pool[j] = microgov_mix(pool[j], microgov_hashmix(pool[i], &hash_const));
        for (i = 4; i < n; i++)
            for (j = 0; j < 4; j++)
                pool[j] = microgov_mix(pool[j], microgov_hashmix(entropy[i], &hash_const));
        hash_const = 0x8b51f9ddU;
        for (i = 0; i < 8; i++) {
            data = pool[i % 4];
            data ^= hash_const;
            hash_const *= 0x58f38dedU;
            data *= hash_const;
            data ^= data >> 16;
            words[i] = data;
        }
        for (i = 0; i < 4; i++)
            out[i] = (uint64_t) words[2 * i] | ((uint64_t) words[2 * i + 1] << 32);
    }
    /* PCG64(seed state).random(n): pcg64_set_seed, then (next64 >> 11) / 2**53; with a
       compiler's 128-bit integers only (else numpy's own calls: MICROGOV_INT128 0) */
    #if defined(__SIZEOF_INT128__)
    #define MICROGOV_INT128 1
    static void microgov_pcg64_uniforms(const uint64_t *seed, double *out, Py_ssize_t n) {
        const __uint128_t mult =
            ((__uint128_t) 2549297995355413924ULL << 64) + 4865540595714422341ULL;
        __uint128_t state = 0U;
        __uint128_t inc = ((((__uint128_t) seed[2] << 64) + seed[3]) << 1) | 1U;
        Py_ssize_t i;
        uint64_t x;
        unsigned int rot;
        state = state * mult + inc;
        state += ((__uint128_t) seed[0] << 64) + seed[1];
        state = state * mult + inc;
        for (i = 0; i < n; i++) {
            state = state * mult + inc;
            x = (uint64_t) (state >> 64) ^ (uint64_t) state;
            rot = (unsigned int) (state >> 122);
            x = (x >> rot) | (x << ((-rot) & 63U));
            out[i] = (double) (x >> 11) * (1.0 / 9007199254740992.0);
        }
    }
    #else
    #define MICROGOV_INT128 0
    static void microgov_pcg64_uniforms(const uint64_t *seed, double *out, Py_ssize_t n) {
        (void) seed; (void) out; (void) n;
    }
    #endif
    """
    const int MICROGOV_INT128
    void microgov_seed_state(const uint32_t* entropy, Py_ssize_t n, uint64_t* out) nogil
    void microgov_pcg64_uniforms(const uint64_t* seed, double* out, Py_ssize_t n) nogil


cdef enum:
    _MAX_ENTROPY_WORDS = 64


cdef Py_ssize_t _entropy_words(object entropy, uint32_t* words) except -2:
    """``entropy`` as numpy's SeedSequence reads a sequence of ints (each as its 32-bit words,
    lowest first; 0 as one word), into ``words``; −1 for anything else (another type, an
    element outside [0, 2**64), too many words), which the caller leaves to numpy."""
    if type(entropy) is not list and type(entropy) is not tuple:
        return -1
    cdef Py_ssize_t n = 0
    cdef uint64_t x
    for value in entropy:
        if type(value) is not int or value < 0 or value > 0xFFFFFFFFFFFFFFFF:
            return -1
        x = value
        if n + 2 > _MAX_ENTROPY_WORDS:
            return -1
        if x == 0:
            words[n] = 0
            n += 1
        while x:
            words[n] = <uint32_t> (x & 0xFFFFFFFF)
            x >>= 32
            n += 1
    return n


cdef bint _seed(object entropy, uint64_t* seed) except -1:
    """``seed`` ← SeedSequence(entropy)'s four 64-bit words; False (``seed`` untouched) for
    entropy ``_entropy_words`` does not take."""
    cdef uint32_t words[_MAX_ENTROPY_WORDS]
    cdef Py_ssize_t n = _entropy_words(entropy, words)
    if n < 0:
        return False
    microgov_seed_state(words, n, seed)
    return True


def seed_state(entropy):
    """``numpy.random.SeedSequence(entropy).generate_state(4, numpy.uint64)`` as four Python
    ints (what PCG64 is seeded with), for a list or tuple of ints in [0, 2**64); None for
    other entropy (model/scalar_draws.py checks the two agree)."""
    cdef uint64_t out[4]
    if not _seed(entropy, out):
        return None
    return (out[0], out[1], out[2], out[3])


def seeded_uniforms(entropy, Py_ssize_t n):
    """``numpy.random.default_rng(entropy).random(n).tolist()`` without the generator made:
    SeedSequence's hashing, PCG64's seeding and its doubles in C (≈ 10 µs less a call;
    issue 11), for entropy ``seed_state`` takes; numpy's own calls for any other."""
    cdef uint64_t seed[4]
    if n < 0 or not MICROGOV_INT128 or not _seed(entropy, seed):
        return _numpy().random.default_rng(entropy).random(n).tolist()
    cdef double* out = <double*> malloc((n if n > 0 else 1) * sizeof(double))
    if out == NULL:
        raise MemoryError()
    try:
        microgov_pcg64_uniforms(seed, out, n)
        return [out[i] for i in range(n)]
    finally:
        free(out)


cdef object _uniforms(object generator, object shape):
    """``generator.random(shape)``: one ``next_double`` per value, in C order."""
    np = _numpy()
    out = np.empty(shape, dtype=np.float64)
    cdef double[::1] o = out.reshape(-1)
    cdef bitgen_t* g = _bitgen(generator)
    cdef Py_ssize_t i, n = o.shape[0]
    for i in range(n):
        o[i] = g.next_double(g.state)
    return out


@cython.boundscheck(False)
@cython.wraparound(False)
def draw_needs(
    arrivals,
    attributes,
    Py_ssize_t n_needs,
    Py_ssize_t n_public,
    int64_t residents,
    const double[::1] resident_cdf,
    int64_t max_extra,
    const int64_t[:, ::1] offset_rows,
):
    """A day's draws after its two counts (model/demand.py ``DemandGenerator._draws``, whose
    numpy calls are the reference; tests/test_daily_draws.py): the same numbers, in the
    same order, leaving both generators in the same state, through numpy's public bit
    generator interface — the needs' residents (uniform, or by ``resident_cdf``) and the
    times' uniforms from ``arrivals``; from ``attributes`` the types', leads' and more
    departments' uniforms, the number of more departments (None: ``max_extra`` < 1), the
    offsets (``offset_rows[:n]`` shuffled row by row, as ``permuted(axis=1)``; None: one
    department), severity and minor, work content (numpy's ``standard_exponential``) and
    the 14 rows of uniforms. The generators' locks are not taken: a run is single-threaded,
    and the interpreter's lock is held throughout (no other thread moves a generator)."""
    cdef Py_ssize_t n = n_needs + n_public
    cdef Py_ssize_t width
    cdef double top
    if n_needs < 0 or n_public < 0:
        raise ValueError("draw_needs: negative counts")
    np = _numpy()
    if resident_cdf is None:
        who = _integers(arrivals, residents, n_needs)
    else:
        if resident_cdf.shape[0] == 0 or residents < 1:
            raise ValueError("draw_needs: an empty resident distribution")
        who = np.empty(n_needs, dtype=np.int64)
        if n_needs:
            top = resident_cdf[resident_cdf.shape[0] - 1]
            _residents_by_weight(
                _bitgen(arrivals), resident_cdf, top, residents, who,
                _guide_of(resident_cdf.base, resident_cdf, top),
            )
    time_u = _uniforms(arrivals, n)
    u = _uniforms(attributes, 3 * n_needs + 2 * n_public)
    extra_draw = _integers(attributes, max_extra, n) if max_extra > 0 else None
    offsets = None
    if offset_rows is not None:
        if offset_rows.shape[0] < n:
            raise ValueError("draw_needs: too few rows of offsets")
        offsets = np.asarray(offset_rows[:n]).copy()
        width = offset_rows.shape[1]
        if n and width:
            _shuffle_rows(_bitgen(attributes), offsets, n, width)
    severity_minor = _uniforms(attributes, (2, n))
    exponential = attributes.standard_exponential((n, 4))
    uniforms = _uniforms(attributes, (14, n))
    return who, time_u, u, extra_draw, offsets, severity_minor, exponential, uniforms


DEF _GUIDE_BUCKETS = 16384  # a district's 1.15 M residents: ≈ 70 a bucket, 7 halvings

cdef object _guide_cdf = None  # the resident distribution the guide was made for, ...
cdef double _guide_top = 0.0  # ... with this total, ...
cdef object _guide = None  # ... and the guide: int64, _GUIDE_BUCKETS + 2 entries


cdef object _guide_of(object cdf_object, const double[::1] cdf, double top):
    """Where the search for a value in each of ``_GUIDE_BUCKETS`` equal parts of [0, top]
    starts and ends: ``guide[k]`` is the upper bound of ``top · k / _GUIDE_BUCKETS``, the
    last entry the number of entries. Made once for a distribution (kept with the object
    and its total; another object or total makes it again); None where ``top`` is not a
    positive finite number."""
    global _guide_cdf, _guide_top, _guide
    if not (top > 0.0 and isfinite(top)):
        return None
    if cdf_object is _guide_cdf and top == _guide_top:
        return _guide
    np = _numpy()
    guide = np.empty(_GUIDE_BUCKETS + 2, dtype=np.int64)
    cdef int64_t[::1] starts = guide
    cdef Py_ssize_t k
    for k in range(_GUIDE_BUCKETS + 1):
        starts[k] = _upper_bound(cdf, top * k / _GUIDE_BUCKETS)
    starts[_GUIDE_BUCKETS + 1] = cdf.shape[0]
    _guide_cdf, _guide_top, _guide = cdf_object, top, guide
    return guide


cdef inline Py_ssize_t _guided_upper_bound(
    const double[::1] cdf, const int64_t[::1] guide, double scale, double v
) noexcept nogil:
    """``_upper_bound(cdf, v)``, searched for between the guide's entries for ``v``'s part
    of [0, top] (``scale``: parts per unit of ``v``). The answer is checked — the entries
    before it ≤ ``v``, the one at it > ``v``: for a sorted ``cdf`` no other entry is — and
    else searched for over the whole ``cdf`` (a guide made for other values, or a part
    misjudged by rounding, costs time, never the answer)."""
    cdef Py_ssize_t n = cdf.shape[0], lo, hi
    cdef double part = v * scale
    if part >= 0.0 and part <= _GUIDE_BUCKETS:  # (false for a NaN)
        lo = <Py_ssize_t> guide[<Py_ssize_t> part]
        hi = <Py_ssize_t> guide[<Py_ssize_t> part + 1]
        if 0 <= lo <= hi <= n:
            lo = _upper_bound_in(cdf, lo, hi, v)
            if (lo == 0 or cdf[lo - 1] <= v) and (lo == n or cdf[lo] > v):
                return lo
    return _upper_bound(cdf, v)


cdef void _residents_by_weight(
    bitgen_t* g, const double[::1] cdf, double top, int64_t residents, int64_t[::1] out,
    object guide,
) noexcept:
    """``min(cdf.searchsorted(random(n) * cdf[-1], "right"), residents − 1)``; with a
    ``guide`` (``_guide_of``) each search starts between its entries (a district's
    distribution is 9 MB: a plain search's last halvings miss the cache; issue 11,
    twenty-ninth round)."""
    cdef Py_ssize_t i, k
    cdef const int64_t[::1] starts = guide  # (None: no guide)
    cdef double v, scale = _GUIDE_BUCKETS / top if guide is not None else 0.0
    for i in range(out.shape[0]):
        v = g.next_double(g.state) * top
        k = _upper_bound(cdf, v) if guide is None else _guided_upper_bound(cdf, starts, scale, v)
        out[i] = k if k < residents - 1 else residents - 1


cdef void _shuffle_rows(bitgen_t* g, int64_t[:, ::1] rows, Py_ssize_t n, Py_ssize_t width) noexcept:
    """Each of the first ``n`` rows shuffled in place, in order, as numpy's ``permuted``
    (``_shuffle_raw``: from the last entry down, swapped with one at ``random_interval``)."""
    cdef Py_ssize_t r, i, j
    cdef int64_t x
    for r in range(n):
        i = width - 1
        while i >= 0:
            j = <Py_ssize_t> _interval(g, <uint64_t> i)
            x = rows[r, i]
            rows[r, i] = rows[r, j]
            rows[r, j] = x
            i -= 1


include "_lifecycle.pxi"
include "_csv_text.pxi"
