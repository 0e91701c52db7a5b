# A route's, stage's, visit's and unit's fields, and a route memo's parts and routes, read
# in C (included by model/_lifecycle.pxi; issue 11, twenty-eighth round). The lifecycle
# reads a case's route at each event: the stages, a stage's role and visits, a visit's
# unit and hours, a unit's level and index; and a memo's parts and routes at each look-up.
# Each is an object of a class with slots (the routes' frozen dataclasses of
# model/policies/base.py, model/route_memo.RouteMemo), and each read was a Python
# attribute look-up (≈ 170 instructions, ≈ 4–5 % of a street day's); a field of an object
# of the class itself is read here from its slot, as its member descriptor reads it.

cdef extern from *:
    """
    /* ``obj``'s slot at ``offset`` (borrowed) where ``obj`` is of ``cls`` itself and ``cls`` is
       in the state ``tag`` names (a valid version tag, nonzero) in which its slots were
       found to be read directly (``direct``); else NULL, as for an empty slot */
    static inline PyObject *microgov_field(
        PyObject *obj, PyTypeObject *cls, unsigned int tag, int direct, Py_ssize_t offset
    ) {
        if (Py_TYPE(obj) != cls || !direct || tag == 0 || cls->tp_version_tag != tag
                || !(cls->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)) {
            return NULL;
        }
        return *(PyObject **) ((char *) obj + offset);
    }
    /* the offset a member descriptor reads at, or -1 where it is not a plain object slot
       (an object member that raises AttributeError when empty, with no audit on read) */
    static inline Py_ssize_t microgov_member_offset(PyObject *descriptor) {
        PyMemberDef *member = ((PyMemberDescrObject *) descriptor)->d_member;
        if (member->type != Py_T_OBJECT_EX || (member->flags & Py_AUDIT_READ)) {
            return -1;
        }
        return member->offset;
    }
    """
    PyObject* microgov_field(
        PyObject* obj, PyTypeObject* cls, unsigned int tag, int direct, Py_ssize_t offset
    ) noexcept
    Py_ssize_t microgov_member_offset(PyObject* descriptor) noexcept

DEF _MOST_FIELDS = 8  # fields a _Fields reads at most


@cython.final
cdef class _Fields:
    """Reads of ``names`` of objects of ``cls``, a class with slots: for an object of ``cls``
    itself (not a subclass), the slot's value where the class reads attributes as
    ``object`` does and each name is found, in its method resolution order, as the member
    descriptor of ``cls``'s own that it had when this was made — which is what the look-up
    returns then; checked once per state of the class (CPython's type version tag, as
    ``_Owned`` checks an agent's class). Anything else, and an empty slot (whose
    AttributeError the look-up raises), is read by ``getattr``."""

    cdef object cls
    cdef tuple names
    cdef tuple descriptors  # the class's own entries for the names when made
    cdef unsigned int tag  # the class's version tag when last looked at (0: look again)
    cdef bint direct  # whether, in that state, its slots are read here
    cdef Py_ssize_t offsets[_MOST_FIELDS]

    def __cinit__(self, object cls, tuple names):
        if type(cls) is not type:  # a plain class: its type object's layout is read
            raise TypeError(f"a plain class is read, not {cls!r}")
        if len(names) > _MOST_FIELDS:
            raise ValueError(f"at most {_MOST_FIELDS} fields, got {len(names)}")
        import types
        self.cls = cls
        self.names = names
        own = vars(cls)
        self.descriptors = tuple([own.get(name) for name in names])
        cdef Py_ssize_t k
        for k in range(len(names)):
            descriptor = self.descriptors[k]
            self.offsets[k] = (
                microgov_member_offset(<PyObject*> descriptor)
                if type(descriptor) is types.MemberDescriptorType else -1
            )
        self.tag = 0
        self.direct = False

    cdef bint _direct(self) except -1:
        """Whether the class's slots are read here, in its present state."""
        cdef _TaggedType* t = <_TaggedType*> <void*> self.cls
        if (
            t.tp_version_tag != 0 and (t.tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)
            and t.tp_version_tag == self.tag
        ):
            return self.direct
        cdef bint direct = (<_GetattroType*> <void*> self.cls).tp_getattro == (
            <_GetattroType*> <void*> object
        ).tp_getattro
        cdef Py_ssize_t k
        cdef PyObject* found
        for k in range(len(self.names)):
            found = _PyType_Lookup(<PyTypeObject*> self.cls, self.names[k])
            if self.offsets[k] < 0 or found is NULL or found is not <PyObject*> self.descriptors[k]:
                direct = False
        self.direct = direct
        self.tag = t.tp_version_tag  # the tag the look-ups left (0: looked at again)
        return direct

    cdef inline object get(self, object obj, Py_ssize_t k):
        """``getattr(obj, names[k])``: the slot, in C without a call where the class is in
        the state last looked at (``microgov_field``), else :meth:`_get`."""
        cdef PyObject* value = microgov_field(
            <PyObject*> obj, <PyTypeObject*> self.cls, self.tag, self.direct, self.offsets[k]
        )
        if value is not NULL:
            return <object> value
        return self._get(obj, k)

    cdef object _get(self, object obj, Py_ssize_t k):
        """``getattr(obj, names[k])``, the class looked at again where its state changed."""
        cdef PyObject* value
        if type(obj) is self.cls:
            self._direct()  # the tag and whether its slots are read, for its present state
            value = microgov_field(
                <PyObject*> obj, <PyTypeObject*> self.cls, self.tag, self.direct, self.offsets[k]
            )
            if value is not NULL:
                return <object> value
        return getattr(obj, self.names[k])

    def read(self, obj, Py_ssize_t k):
        """:meth:`get` for tests (``k`` checked: the lifecycle's are its constants)."""
        if not 0 <= k < len(self.names):
            raise IndexError(f"field {k} of {len(self.names)}")
        return self.get(obj, k)


cdef enum:  # the fields' indexes in their _Fields
    _STAGES = 0
    _HANDOFF_DELAY_HOURS = 1
    _OVERHEAD_HOURS = 2
    _PRIORITY = 3
    _FIRST_UNIT_LEADS = 4
    _VISITS = 0
    _ROLE = 1
    _CLAIMABLE = 2
    _UNIT = 0
    _WORK_HOURS = 1
    _RESPONSE_HOURS = 2
    _LEVEL = 0
    _INDEX = 1
    _PARTS = 0
    _ROUTES = 1
    _FRESH = 2

cdef tuple _ROUTE_FIELDS = (
    "stages", "handoff_delay_hours", "overhead_hours", "priority", "first_unit_leads",
)
cdef tuple _STAGE_FIELDS = ("visits", "role", "claimable")
cdef tuple _VISIT_FIELDS = ("unit", "work_hours", "response_hours")
cdef tuple _UNIT_FIELDS = ("level", "index")
cdef tuple _MEMO_FIELDS = ("parts", "routes", "fresh")  # model.route_memo.RouteMemo's, read by _route_of
