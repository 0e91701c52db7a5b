# The case lifecycle's hot path, compiled (included by model/_engine.pyx; issue 11, plan
# step 4). model/lifecycle.py holds the reference (MICROGOV_PURE_PYTHON=1), which this
# follows statement by statement: the same calls to the agents and policies, in the same
# order, the same draws from the same streams, the same events.

cimport cpython.array as carray
from cpython.dict cimport PyDict_Contains
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM

cdef str _HANDLE = "handle"
cdef str _RESOLVE = "resolve"
cdef str _RETURN = "return"
cdef str _MEDIATE = "mediate"
cdef str _DEPARTMENT = "department"


# names of the model's Python modules, loaded when the first Casework is made (they
# import this module, so they cannot be imported when it is)
cdef object _uniform = None  # model.scalar_draws.uniform (this module's draw or numpy's)
cdef object _Generator = None  # numpy.random.Generator
cdef bint _compiled_uniform = False  # _uniform is this module's uniform (it agrees with numpy)
cdef object _resolves = None  # model.agents.resolves
cdef object _Visit = None  # model.policies.base.Visit
cdef object _Unit = None  # model.policies.base.Unit
cdef object _CENTRE = None  # model.lifecycle.CENTRE
cdef object _CaseView = None  # model.policies.base.CaseView
cdef tuple _CASE_VIEW_SLOTS = None  # its fields' slot descriptors, in order (None: call it)
cdef object _object_new = None  # object.__new__
cdef object _CASE_TYPES = None  # model.cases.CASE_TYPES
cdef object _SOURCES = None  # model.cases.SOURCES
cdef long _INQUIRY = -1
cdef long _HOTLINE = -1
cdef long _SENSOR_SOURCE = -1
cdef long _PATROL_SOURCE = -1
cdef long _NEIGHBOUR_DISPUTE = -1
cdef long _PARTY_MEMBER = -1
cdef double _MINUTE = 1.0 / (24 * 60)  # in days, as model.lifecycle.MINUTE


cdef extern from "Python.h":
    ctypedef struct _DescrSetType "PyTypeObject":
        int (*tp_descr_set)(PyObject* descriptor, PyObject* instance, PyObject* value) except -1


# CaseView's fields in the order Lifecycle.case_view gives their values
cdef tuple _CASE_VIEW_FIELDS = (
    "case_id", "case_type", "source", "departments", "grid", "community", "street", "minor",
    "enforcement", "repeat", "severity", "time_limit_working_days", "returns", "work_hours",
)


cdef tuple _slot_setters(object cls):
    """The slot descriptors of ``cls``'s fields, in their order, where ``cls`` is a frozen
    dataclass with slots made as model/policies/base.py makes ``CaseView``, with the fields
    ``case_view`` gives (``_CASE_VIEW_FIELDS``, in that order): its slots are its fields,
    each a plain member descriptor of its own, no ``__post_init__`` or ``__new__`` of its
    own, and a plain class; else None (the class is then called)."""
    import dataclasses
    import types
    if type(cls) is not type or not dataclasses.is_dataclass(cls):
        return None
    names = tuple(f.name for f in dataclasses.fields(cls))
    own = vars(cls)
    if names != _CASE_VIEW_FIELDS or own.get("__slots__") != names:
        return None
    if hasattr(cls, "__post_init__"):
        return None
    if cls.__new__ is not object.__new__ or not cls.__dataclass_params__.frozen:
        return None
    setters = tuple(own.get(name) for name in names)
    if not all(type(d) is types.MemberDescriptorType for d in setters):
        return None
    return setters


cdef object _new_frozen(object cls, tuple setters, tuple values):
    """An instance of ``cls`` with ``values`` in the slots ``setters`` describe, as its
    ``__init__`` would leave them (each by ``object.__setattr__``, i.e. the descriptor's own
    set: here without the Python call per field)."""
    if len(setters) != len(values):
        raise ValueError(f"{len(values)} values for {len(setters)} slots")
    instance = _object_new(cls)
    cdef Py_ssize_t k
    cdef PyObject* descriptor
    for k in range(len(setters)):
        descriptor = <PyObject*> setters[k]
        (<_DescrSetType*> descriptor.ob_type).tp_descr_set(
            descriptor, <PyObject*> instance, <PyObject*> values[k]
        )
    return instance


cdef int _load_names() except -1:
    global _uniform, _compiled_uniform, _resolves, _Visit, _Unit, _CENTRE, _Generator
    global _CaseView, _CASE_VIEW_SLOTS, _object_new, _CASE_TYPES, _SOURCES
    global _FunctionType, _HandlingParameters
    global _DEPARTMENTS, _GRID_WORKERS, _OFFICES, _UNITS, _RESIDENTS, _CASEWORK, _AGENTS_GLOBALS
    global _CASEWORK_ROUTE, _MEMO_ROUTE
    global _RESIDENTS_CONTACTS, _CONTACTS_AGAIN_CODE
    global _RESIDENTS_GLOBALS, _BUILTINS, _BUILTINS_LOADED, _RESOLVES_CODE, _LEARN_CODE
    global _ndarray, _FLOAT64, _OF_ROUTE, _OF_STAGE, _OF_VISIT, _OF_UNIT, _OF_MEMO
    global _INQUIRY, _HOTLINE, _SENSOR_SOURCE, _PATROL_SOURCE, _PARTY_MEMBER, _NEIGHBOUR_DISPUTE
    if _uniform is not None:
        return 0
    from model import lifecycle
    _resolves = lifecycle.resolves
    import builtins
    import types
    from model import agents
    from model import casework as casework_module
    from model import residents as residents_module
    from model.parameters import HandlingParameters
    from model.units import Units
    _FunctionType = types.FunctionType
    from model import cases as cases_module
    from model.policies import base as policies_base
    from model import route_memo
    _CASE_TYPES = cases_module.CASE_TYPES
    _SOURCES = cases_module.SOURCES
    _CaseView = policies_base.CaseView
    _CASE_VIEW_SLOTS = _slot_setters(_CaseView)
    _OF_ROUTE = _Fields(policies_base.Route, _ROUTE_FIELDS)
    _OF_STAGE = _Fields(policies_base.Stage, _STAGE_FIELDS)
    _OF_VISIT = _Fields(policies_base.Visit, _VISIT_FIELDS)
    _OF_UNIT = _Fields(policies_base.Unit, _UNIT_FIELDS)
    _OF_MEMO = _Fields(route_memo.RouteMemo, _MEMO_FIELDS)
    _object_new = object.__new__
    _AGENTS_GLOBALS = vars(agents)
    _RESIDENTS_GLOBALS = vars(residents_module)
    _BUILTINS = vars(builtins)
    _BUILTINS_LOADED = tuple([_BUILTINS.get(name) for name in _BUILTIN_NAMES])
    _RESOLVES_CODE = _code_as_written(agents.resolves, "resolves", agents.__file__)
    _LEARN_CODE = _code_as_written(agents.learn, "learn", agents.__file__)
    _CONTACTS_AGAIN_CODE = _code_as_written(
        agents.contacts_again, "contacts_again", agents.__file__
    )
    _DEPARTMENTS = _Owned(
        agents.Department, _AT_ARRIVAL + _AT_DONE + _AT_TURN,
        ("handling", "pressure", "quality_focus", "timeliness_focus", "index", "_ratings"),
    )
    _GRID_WORKERS = _Owned(
        agents.GridWorker, _AT_CHECK, ("catch_probability", "_verification_hours")
    )
    _OFFICES = _Owned(
        agents.Office, _AT_CLASSIFY, ("accuracy", "catalogue", "catalogue_accuracy", "_wrong_for")
    )
    _UNITS = _Owned(
        Units, _STATION + _DISPATCHER, ("grid_workers", "party", "communities", "streets", "centre")
    )
    _CASEWORK = _Owned(
        casework_module.Casework, _MAYBE_CONTACT_AGAIN, ("cases", "p", "residents", "events")
    )
    _CASEWORK_ROUTE = _Owned(
        casework_module.Casework, _CASEWORK_ROUTE_NAMES,
        ("_digital_memo", "_mediation_memo", "_routing_memo", "cases", "mediation", "routing"),
    )
    _MEMO_ROUTE = _Owned(route_memo.RouteMemo, _MEMO_ROUTE_NAMES, ("key", "fresh", "routes"))
    _RESIDENTS = _Owned(
        residents_module.Residents, _LEARN_FROM, ("_members", "_size", "_population", "_learning_rate")
    )
    _RESIDENTS_CONTACTS = _Owned(
        residents_module.Residents, _CONTACTS_AGAIN, ("_members", "_size", "_row")
    )
    _ndarray = _numpy().ndarray
    _FLOAT64 = _numpy().dtype("float64")
    _check_array_fields()
    _HandlingParameters = HandlingParameters
    _Visit = lifecycle.Visit
    _Unit = lifecycle.Unit
    _CENTRE = lifecycle.CENTRE
    _INQUIRY = lifecycle.INQUIRY
    _HOTLINE = lifecycle.HOTLINE
    _SENSOR_SOURCE = lifecycle.SENSOR_SOURCE
    _PATROL_SOURCE = lifecycle.PATROL_SOURCE
    _NEIGHBOUR_DISPUTE = lifecycle.NEIGHBOUR_DISPUTE
    _PARTY_MEMBER = lifecycle.PARTY_MEMBER
    if lifecycle.MINUTE != _MINUTE:
        raise RuntimeError("model.lifecycle.MINUTE is not the compiled lifecycle's")
    _uniform = lifecycle.uniform
    _compiled_uniform = _uniform is uniform
    _Generator = _numpy().random.Generator
    return 0


@cython.boundscheck(True)
cdef object _part_value(tuple part, Py_ssize_t row):
    """One value of a case's memo key (model.route_memo.KeyPart): ``column[row]``, looked up
    in the part's second and third entries where they are not None."""
    column, through, then = part
    value = column[row]
    if through is not None:
        value = through[value]
        if then is not None:
            value = then[value]
    return value


cdef extern from "Python.h":
    int PyUnicode_CHECK_INTERNED(object op)  # nonzero: the one str of its value interned


cdef inline bint _is(object value, str name) except -1:
    """``value == name``: by identity, and two interned strings that are not the same object
    differ (a route's roles and levels are the policies' literals, interned, as Cython's
    are: no string comparison, which was ≈ 3 % of a street's event loop; issue 11,
    twenty-second round); anything else by ``==``."""
    if value is name:
        return True
    if type(value) is str and PyUnicode_CHECK_INTERNED(value) and PyUnicode_CHECK_INTERNED(name):
        return False
    return value == name


cdef object _office_at(object units, object level, object i):
    """The office of level ``level`` and index ``i`` among model.units.Units' ``units``, as
    both ``Units.dispatcher`` (the office) and ``Units.station`` (its station) look it up;
    None for a level that is no office's."""
    if _is(level, "community"):
        return units.communities[i]
    if _is(level, "street"):
        return units.streets[i]
    if _is(level, "centre"):
        return units.centre
    return None


cdef inline bint _office_level(object level) except -1:
    """``level in ("centre", "street", "community")``: an office's level."""
    return _is(level, "centre") or _is(level, "street") or _is(level, "community")


cdef inline bint _team_level(object level) except -1:
    """``level in ("grid", "party", "embedded")``: a grid's team, or staff moved down."""
    return _is(level, "grid") or _is(level, "party") or _is(level, "embedded")


cdef object _random(object generator):
    """``generator.random()``: for a numpy ``Generator`` (not a subclass, which may have a
    ``random`` of its own) drawn here as model.scalar_draws.uniform draws it, where that is
    this module's draw — numpy's float and state after (a numpy call costs ≈ 3,600
    instructions; issue 11, twenty-second round); anything else is asked."""
    if _compiled_uniform and type(generator) is _Generator:
        return _draw(generator)
    return generator.random()


cdef object _draw(object generator):
    """model.scalar_draws.uniform(generator), drawn here where it is this module's."""
    cdef bitgen_t* g
    if _compiled_uniform:
        g = _bitgen(generator)
        return g.next_double(g.state)
    return _uniform(generator)


# ------------------------------------------------------ the agents' own decisions, in C
cdef extern from "Python.h":
    PyObject* _PyType_Lookup(PyTypeObject* tp, object name)  # the MRO's own entry (borrowed)
    PyObject* PyFunction_GET_CODE(object function)  # a function's code (borrowed)
    PyObject* PyFunction_GET_GLOBALS(object function)  # its globals (borrowed)
    ctypedef struct _GetattroType "PyTypeObject":
        void* tp_getattro


cdef extern from *:
    """
    /* a dictionary's version: a number no other state of any dictionary has had, changed
       by every change to it (PEP 509; deprecated for other uses in 3.12, still kept) */
    static inline unsigned long long microgov_dict_version(PyObject *d) {
    #if defined(__GNUC__)
    #pragma GCC diagnostic push
    #pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    #endif
        return ((PyDictObject *) d)->ma_version_tag;
    #if defined(__GNUC__)
    #pragma GCC diagnostic pop
    #endif
    }
    """
    unsigned long long microgov_dict_version(PyObject* d)


cdef extern from *:
    """
    /* ``index`` as a C integer where it is an int in [0, below), else -1 */
    static inline Py_ssize_t microgov_small_index(PyObject *index, Py_ssize_t below) {
        int overflow;
        long value;
        if (!PyLong_CheckExact(index))
            return -1;
        value = PyLong_AsLongAndOverflow(index, &overflow);
        if (overflow || value < 0 || value >= below)
            return -1;
        return (Py_ssize_t) value;
    }
    """
    Py_ssize_t microgov_small_index(object index, Py_ssize_t below) noexcept

DEF _UNIT_ROWS = 65536  # units read by index below this (a district has ≈ 3,000 grids)


include "_fields.pxi"


cdef struct _Seen:
    void* agent  # an agent whose instance dictionary had none of the names ...
    void* namespace  # ... this dictionary ...
    unsigned long long version  # ... in this state


DEF _SEEN = 256  # agents remembered per class (by address; a collision looks again)
DEF _MOST = 16  # methods an _Owned watches at most


@cython.final
cdef class _Owned:
    """Whether an agent decides by the methods model/agents.py (or model/units.py) writes
    for its class: its class's own entry for each of the names, in its method resolution
    order, is a plain function whose code is that method as written (its qualified name and
    file: not a subclass's own, a wrapper, a static method, or a method given to the class
    later), the class reads attributes as ``object`` does (no ``__getattribute__`` or
    ``__getattr__`` of its own), and the agent has none of the names it is asked about as
    its own attribute. The class is looked at once per state of it (CPython's type version
    tag, as a calendar's conversions are, twenty-second round), each function's code is
    checked to be the one looked at, and an agent's own dictionary once per state of it
    (its version). Then the lifecycle makes those decisions itself, with the methods'
    operations in their order (a Python call and its attribute reads were ≈ 400-900
    instructions a decision, about ten a case; issue 11, twenty-third round); anything else
    is asked. The same check tells whether Casework._route and RouteMemo.route are as
    model/casework.py and model/route_memo.py write them, for a route memo's miss (the
    memo or the case work in the agent's place; forty-third round)."""

    cdef tuple names
    cdef tuple written  # the methods' code objects as the module wrote them (None: replaced)
    cdef dict namespace  # the module's globals, the methods' own
    cdef tuple attributes  # attributes the decisions read, and what the class written's
    cdef tuple attribute_entries  # look-up finds for each (None: an instance attribute)
    cdef dict known  # type -> (version tag when looked at, own, the functions, their codes)
    cdef object last_type  # the type last asked about, and its entry (kept: the arrays
    cdef tuple last_entry  # below borrow from it)
    cdef Py_ssize_t n
    cdef PyObject* functions[_MOST]
    cdef PyObject* codes[_MOST]
    cdef _Seen seen[_SEEN]

    def __cinit__(self, object cls, tuple names, tuple attributes=()):
        if len(names) > _MOST:
            raise ValueError(f"at most {_MOST} methods, got {len(names)}")
        module = __import__(cls.__module__, fromlist=["_"])
        self.names = names
        self.attributes = attributes
        self.namespace = vars(module)
        self.known = {}
        codes = []
        for name in names:  # the methods as the module wrote them, taken when first used
            codes.append(
                _code_as_written(vars(cls).get(name), f"{cls.__qualname__}.{name}", module.__file__)
            )
        self.written = tuple(codes)
        entries = []
        cdef PyObject* raw
        for name in attributes:  # what the class's look-up finds for each attribute read
            raw = _PyType_Lookup(<PyTypeObject*> cls, name)
            entries.append(None if raw is NULL else <object> raw)
        self.attribute_entries = tuple(entries)

    cdef tuple _look(self, object tp):
        """(version tag, whether ``tp`` has the methods as written, the functions looked at,
        their codes) of ``tp``: its own entry for each name in its method resolution order
        is a function with the code the module wrote and the module's globals, it reads
        attributes as ``object`` does, and each attribute the decisions read is looked up
        as in the class written (no property of a subclass's own)."""
        cdef bint own = (<_GetattroType*> <void*> tp).tp_getattro == (
            <_GetattroType*> <void*> object
        ).tp_getattro
        cdef list functions = []
        cdef list codes = []
        cdef PyObject* raw
        cdef Py_ssize_t k
        for k in range(len(self.names)):
            raw = _PyType_Lookup(<PyTypeObject*> tp, self.names[k])  # its own entry, unbound
            if raw is NULL or type(<object> raw) is not _FunctionType:
                own = False
                continue
            function = <object> raw
            if not _written(function, self.written[k], self.namespace):
                own = False
            functions.append(function)  # kept, written or not: their code is watched
            codes.append(<object> PyFunction_GET_CODE(function))
        for k in range(len(self.attributes)):
            raw = _PyType_Lookup(<PyTypeObject*> tp, self.attributes[k])
            if raw is not (NULL if self.attribute_entries[k] is None
                           else <PyObject*> self.attribute_entries[k]):
                own = False
        # the tag the look-ups left (0 where the type has none: looked at again next time)
        entry = ((<_TaggedType*> <void*> tp).tp_version_tag, own, tuple(functions), tuple(codes))
        self.known[tp] = entry
        return entry

    cdef int _use(self, object tp, tuple entry) except -1:
        """``tp`` and its entry as the last asked about."""
        cdef tuple functions = entry[2]
        cdef tuple codes = entry[3]
        cdef Py_ssize_t k
        self.last_type = tp
        self.last_entry = entry
        self.n = len(functions)
        for k in range(self.n):
            self.functions[k] = <PyObject*> functions[k]
            self.codes[k] = <PyObject*> codes[k]
        return 0

    cdef inline bint _current(self, tuple entry, _TaggedType* t) except -1:
        """Whether ``entry`` was looked at in its type's present state (``t``)."""
        return (
            t.tp_version_tag != 0 and (t.tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)
            and <unsigned int> entry[0] == t.tp_version_tag
        )

    cdef inline bint _recoded(self) noexcept:
        """Whether a function of the last type was given other code since it was looked at
        (which leaves its class's version tag as it was)."""
        cdef Py_ssize_t k
        for k in range(self.n):
            if PyFunction_GET_CODE(<object> self.functions[k]) is not self.codes[k]:
                return True
        return False

    cdef bint by(self, object agent, tuple asked) except -1:
        """Whether ``agent``'s class has the methods as written and ``agent`` none of the
        ``asked`` names of its own."""
        tp = type(agent)
        cdef _TaggedType* t = <_TaggedType*> <void*> tp
        if tp is not self.last_type or not self._current(self.last_entry, t):
            entry = self.known.get(tp)
            if entry is None or not self._current(<tuple> entry, t):
                entry = self._look(tp)
            self._use(tp, <tuple> entry)
        if self._recoded():
            self._use(tp, self._look(tp))
        if not self.last_entry[1] or not _sound():
            return False
        cdef PyObject** instance = _PyObject_GetDictPtr(agent)  # no attribute look-up
        if instance is NULL or instance[0] is NULL:
            return True
        cdef PyObject* namespace = instance[0]
        cdef unsigned long long version = microgov_dict_version(namespace)
        cdef _Seen* seen = &self.seen[(<size_t> <void*> agent >> 4) % _SEEN]
        if (
            seen.agent == <void*> agent and seen.namespace == <void*> namespace
            and seen.version == version
        ):
            return True  # none of the names, in this state of its dictionary
        for name in self.names:
            if PyDict_Contains(<object> namespace, name):
                break
        else:
            seen.agent, seen.namespace, seen.version = <void*> agent, <void*> namespace, version
            return True
        for name in asked:  # some name of its own: the ones asked here
            if PyDict_Contains(<object> namespace, name):
                return False
        return True


cdef object _FunctionType = None  # types.FunctionType
cdef _Fields _OF_ROUTE = None  # model.policies.base.Route's fields, read in C (_fields.pxi)
cdef _Fields _OF_STAGE = None  # Stage's
cdef _Fields _OF_VISIT = None  # Visit's
cdef _Fields _OF_UNIT = None  # Unit's
cdef _Fields _OF_MEMO = None  # model.route_memo.RouteMemo's
cdef _Owned _DEPARTMENTS = None  # model.agents.Department's decisions
cdef _Owned _GRID_WORKERS = None  # model.agents.GridWorker's
cdef _Owned _OFFICES = None  # model.agents.Office's
cdef _Owned _UNITS = None  # model.units.Units' station and dispatcher
cdef _Owned _CASEWORK = None  # model.casework.Casework's _maybe_contact_again
cdef _Owned _CASEWORK_ROUTE = None  # model.casework.Casework's _route
cdef _Owned _MEMO_ROUTE = None  # model.route_memo.RouteMemo's route
cdef tuple _CASEWORK_ROUTE_NAMES = ("_route",)
cdef tuple _MEMO_ROUTE_NAMES = ("route",)
cdef _Owned _RESIDENTS = None  # model.residents.Residents' learning
cdef _Owned _RESIDENTS_CONTACTS = None  # and its repeat contacts
cdef object _HandlingParameters = None  # model.parameters.HandlingParameters (frozen)
cdef object _ndarray = None  # numpy.ndarray
cdef dict _AGENTS_GLOBALS = None  # model.agents' module namespace
cdef tuple _AT_ARRIVAL = ("work_hours", "queue_key", "effort")
cdef tuple _AT_DONE = ("rate", "resolves")
cdef tuple _AT_TURN = ("accepts", "reclassifies")
cdef tuple _AT_CHECK = ("verification_hours", "catches")
cdef tuple _VERIFICATION_HOURS = ("verification_hours",)
cdef tuple _CATCHES = ("catches",)
cdef tuple _AT_CLASSIFY = ("classify", "accuracy_for")
cdef tuple _STATION = ("station",)
cdef tuple _DISPATCHER = ("dispatcher",)
cdef tuple _MAYBE_CONTACT_AGAIN = ("_maybe_contact_again",)
cdef tuple _LEARN_FROM = ("learn_from",)
cdef tuple _CONTACTS_AGAIN = ("contacts_again",)
cdef object _ASKED = object()  # a decision the agent is asked for


cdef dict _BUILTINS = None  # builtins' namespace
cdef dict _RESIDENTS_GLOBALS = None  # model.residents' namespace
cdef tuple _BUILTIN_NAMES = ("min", "max", "len", "tuple", "range")  # what the methods call
cdef tuple _BUILTINS_LOADED = None  # those builtins when the names were loaded
cdef object _RESOLVES_CODE = None  # model.agents.resolves' code as written (None: replaced)
cdef object _LEARN_CODE = None  # model.agents.learn's
cdef object _CONTACTS_AGAIN_CODE = None  # model.agents.contacts_again's
cdef unsigned long long _namespace_versions[3]  # the three namespaces when last looked at
cdef bint _namespaces_sound = False
cdef object _integer_below_now = None  # model.agents.integer_below, as last looked at


cdef object _code_as_written(object function, str qualname, str filename):
    """``function``'s code where it is the one ``filename`` writes as ``qualname``, else
    None (already replaced when first used: never computed here)."""
    code = getattr(function, "__code__", None) if type(function) is _FunctionType else None
    if code is None or code.co_qualname != qualname or code.co_filename != filename:
        return None
    return code


cdef bint _written(object function, object code, dict namespace):
    """Whether ``function`` is a function with ``code`` (not None, the code its module
    wrote) and that module's globals, ``namespace``."""
    return (
        code is not None and type(function) is _FunctionType
        and PyFunction_GET_CODE(function) is <PyObject*> code
        and PyFunction_GET_GLOBALS(function) is <PyObject*> namespace
    )


cdef bint _sound() except -1:
    """Whether the module globals the agents' methods call are as the compiled decisions
    assume: model.agents' ``resolves`` and ``learn`` with their code as written (model.
    residents' ``learn`` being that one), none of the builtins the methods call shadowed
    in either module, those builtins the ones loaded, and an ``integer_below`` in model.
    agents (called as read there). Looked at once per state of the three namespaces (their
    dictionaries' versions)."""
    global _namespaces_sound, _integer_below_now
    cdef unsigned long long agents = microgov_dict_version(<PyObject*> _AGENTS_GLOBALS)
    cdef unsigned long long residents = microgov_dict_version(<PyObject*> _RESIDENTS_GLOBALS)
    cdef unsigned long long builtins = microgov_dict_version(<PyObject*> _BUILTINS)
    if (
        agents == _namespace_versions[0] and residents == _namespace_versions[1]
        and builtins == _namespace_versions[2]
    ):
        return _namespaces_sound
    learn = _AGENTS_GLOBALS.get("learn")
    sound = (
        _written(_AGENTS_GLOBALS.get("resolves"), _RESOLVES_CODE, _AGENTS_GLOBALS)
        and _written(learn, _LEARN_CODE, _AGENTS_GLOBALS)
        and _RESIDENTS_GLOBALS.get("learn") is learn
    )
    for name, loaded in zip(_BUILTIN_NAMES, _BUILTINS_LOADED):
        if name in _AGENTS_GLOBALS or name in _RESIDENTS_GLOBALS or _BUILTINS.get(name) is not loaded:
            sound = False
    _integer_below_now = _AGENTS_GLOBALS.get("integer_below")
    _namespaces_sound = sound and _integer_below_now is not None
    _namespace_versions[0] = agents
    _namespace_versions[1] = residents
    _namespace_versions[2] = builtins
    return _namespaces_sound


cdef extern from *:
    """
    /* the leading fields of numpy's PyArrayObject_fields (numpy 1.x and 2.x alike) */
    typedef struct {
        PyObject_HEAD
        char *data;
        int nd;
        Py_ssize_t *dimensions;
        Py_ssize_t *strides;
        PyObject *base;
        PyObject *descr;
        int flags;
    } microgov_ndarray;
    """
    ctypedef struct microgov_ndarray:
        char* data
        int nd
        Py_ssize_t* dimensions
        Py_ssize_t* strides
        PyObject* descr
        int flags


cdef object _FLOAT64 = None  # numpy.dtype("float64"), the native one
cdef int _ALIGNED_WRITEABLE = 0x0100 | 0x0400  # NPY_ARRAY_ALIGNED | NPY_ARRAY_WRITEABLE
cdef unsigned int _WARN_ON_WRITE = 0x80000000u  # NPY_ARRAY_WARN_ON_WRITE (a broadcast view)


cdef double* _double_at(object array, object index) except? NULL:
    """The address of element ``index`` of ``array`` where it is a numpy array (not a
    subclass) of one dimension of native float64, aligned and writable now, and ``index``
    an int in range; NULL otherwise (the caller asks). Read from the array at each call, no
    view kept: an array made read-only, resized or replaced is seen as the reference sees
    it (``ndarray.item`` and item assignment)."""
    if type(array) is not _ndarray or type(index) is not int:
        return NULL
    cdef microgov_ndarray* a = <microgov_ndarray*> <PyObject*> array
    if (
        a.nd != 1 or a.descr is not <PyObject*> _FLOAT64
        or (a.flags & _ALIGNED_WRITEABLE) != _ALIGNED_WRITEABLE
        or (<unsigned int> a.flags & _WARN_ON_WRITE)
        or index < 0 or index >= a.dimensions[0]
    ):
        return NULL
    cdef Py_ssize_t i = index
    return <double*> (a.data + i * a.strides[0])


cdef int _check_array_fields() except -1:
    """Use numpy arrays' fields only where they read as ``numpy`` itself reads them."""
    global _ndarray
    numpy = _numpy()
    probe = numpy.arange(4.0)[::2]  # strided: 0.0, 2.0
    cdef double* at = _double_at(probe, 1)
    if at is NULL or at[0] != 2.0 or not (probe.flags.aligned and probe.flags.writeable):
        _ndarray = None  # every array is asked
        return 0
    probe.flags.writeable = False
    if _double_at(probe, 1) is not NULL:
        _ndarray = None
    return 0


cdef object _NO_KEY = object()  # a memo whose parts are not model.route_memo.key_parts'


cdef object _memo_key(tuple parts, Py_ssize_t row):
    """Case row ``row``'s key for a memo's ``parts``: the one value of a single part, else
    the tuple of the values (model.route_memo.key_function's key); ``_NO_KEY`` where a part
    is not a tuple of three (model.route_memo.readable_parts: the caller asks
    Casework._route), found in the one pass that reads the values."""
    cdef Py_ssize_t k, n = len(parts)
    if n == 1:
        part = parts[0]
        return _part_value(<tuple> part, row) if _readable(part) else _NO_KEY
    key = PyTuple_New(n)  # a slot left empty when a part is refused is freed as empty
    for k in range(n):
        part = parts[k]
        if not _readable(part):
            return _NO_KEY
        value = _part_value(<tuple> part, row)
        Py_INCREF(value)  # PyTuple_SET_ITEM takes the reference
        PyTuple_SET_ITEM(key, k, value)
    return key


cdef inline bint _readable(object part):
    """A part of model.route_memo.key_parts' form: a tuple of three."""
    return type(part) is tuple and len(<tuple> part) == 3


@cython.final
cdef class CaseProgress:
    """Where a case in progress is on its route (compiled; model.lifecycle.PythonProgress is
    the reference, with the same fields, defaults and constructor)."""

    cdef public object route
    cdef public long stage
    cdef public long pending
    cdef public bint classified
    cdef public object at
    cdef public bint settled_by_team
    cdef public long lead
    cdef public long first_handling
    cdef public bint failed
    cdef public long quality_draws

    def __init__(
        self, route, long stage=0, long pending=0, bint classified=False, at=None,
        bint settled_by_team=False, long lead=-1, long first_handling=-1, bint failed=False,
        long quality_draws=0,
    ):
        self.route = route
        self.stage = stage
        self.pending = pending
        self.classified = classified
        self.at = at
        self.settled_by_team = settled_by_team
        self.lead = lead
        self.first_handling = first_handling
        self.failed = failed
        self.quality_draws = quality_draws

    def _fields(self):
        return (
            self.route, self.stage, self.pending, self.classified, self.at,
            self.settled_by_team, self.lead, self.first_handling, self.failed,
            self.quality_draws,
        )

    def __eq__(self, other):
        if type(other) is not CaseProgress:
            return NotImplemented
        return self._fields() == (<CaseProgress> other)._fields()

    __hash__ = None

    def __repr__(self):
        names = (
            "route", "stage", "pending", "classified", "at", "settled_by_team", "lead",
            "first_handling", "failed", "quality_draws",
        )
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, self._fields()))
        return f"CaseProgress({shown})"

    def __reduce__(self):
        return (CaseProgress, self._fields())


@cython.boundscheck(True)  # list look-ups by a column's value checked, as in Python
cdef class Lifecycle:
    """The compiled base of model.casework.Casework: every method of
    model.lifecycle.PythonLifecycle (registration to closure) over typed case state. Casework sets the attributes below in its ``__init__`` and keeps every
    other attribute and method in Python."""

    cdef public dict progress
    cdef public object calendar
    cdef object _p
    # the parameters the steps read, read once when ``p`` is set (the sections are frozen:
    # pydantic's attribute look-up costs ≈ 350 instructions a read; twenty-second round)
    cdef object _handling
    cdef object _handoff_delay_hours
    cdef object _registration_minutes
    cdef object _desk_share
    cdef object _desk_minutes
    cdef object _claim_logging_hours
    cdef object _on_the_spot_hours
    cdef object _returns_before_parking
    cdef object _reopen_limit
    cdef object _callback_share
    cdef object _logit_base
    cdef object _logit_resolved
    cdef object _logit_per_limit_late
    cdef object _logit_per_reopening
    cdef object _logit_repeat
    cdef object _repeat_probability, _contacts_limit, _repeat_delay_days  # ReportingParameters'
    cdef public object gaming_rng
    cdef public object handling_rng
    cdef public bint travels
    cdef public object _arrive_callback
    cdef public object _done_callback
    cdef public object _returned_callback
    cdef public long long closed_total
    cdef public object _verify_callback
    cdef public object _verified_callback
    cdef public object _dispatch_callback
    cdef public object _answer_callback
    cdef public long long pending_found
    cdef public object _routing_memo
    cdef public object _mediation_memo
    cdef public object _digital_memo
    cdef public dict returned_by
    cdef public dict dispute_rngs
    cdef public long long disputes
    cdef public object geography
    cdef object _residents
    cdef object _dept_handling  # the departments' HandlingParameters the _h_ numbers are of
    cdef object _h_gaming, _h_premature, _h_care, _h_miss, _h_dispute  # floats
    cdef double _h_memory
    cdef public object mediators
    cdef public object organisation
    cdef public object classification_rng
    cdef public object claims_rng
    cdef public object contacts_rng
    cdef public dict _units_made
    cdef dict _unit_rows  # level → the units of _units_made by index (``_unit_of``'s cache)
    cdef unsigned long long _unit_rows_version  # read from the dictionary in this state
    cdef public dict _return_visits
    cdef public list limits
    cdef public object deadlines  # a model.deadline_days.DeadlineDays
    cdef list _league_received
    cdef list _league_accepted
    cdef list _grid_workers
    cdef object _league
    cdef list _league_handled
    cdef list _league_resolved
    cdef list _league_on_time
    cdef list _league_rated
    cdef list _league_satisfied
    cdef object _units
    cdef list _departments
    cdef object _events
    cdef EventCalendar _compiled_events  # _events when it is this module's calendar
    cdef object _cases
    cdef carray.array _deadline
    cdef carray.array _handoffs
    cdef carray.array _premature
    cdef carray.array _on_the_spot
    cdef carray.array _reopened
    cdef carray.array _u_quality
    cdef carray.array _handled_at
    cdef carray.array _resolved
    cdef carray.array _grid
    cdef carray.array _number
    cdef carray.array _minor
    cdef carray.array _severity
    cdef carray.array _u_verify
    cdef carray.array _resident
    cdef carray.array _u_callback
    cdef carray.array _verified_at
    cdef carray.array _closed
    cdef carray.array _case_type
    cdef carray.array _u_satisfy
    cdef carray.array _satisfied
    cdef carray.array _owner
    cdef carray.array _relapsed
    cdef carray.array _followups
    cdef carray.array _contact
    cdef carray.array _u_repeat
    cdef carray.array _registered
    cdef carray.array _promised
    cdef carray.array _repeat
    cdef carray.array _dispatched
    cdef carray.array _source
    cdef carray.array _u_classify
    cdef carray.array _disputed
    cdef carray.array _u_dispute
    cdef carray.array _returns
    cdef carray.array _bundle
    cdef list _case_departments
    cdef list _case_work

    @property
    def p(self):
        return self._p

    @p.setter
    def p(self, value):
        intake, feedback, handling = value.intake, value.feedback, value.handling
        reporting = value.reporting
        read = (  # all read before any is kept: a section missing changes nothing
            handling,
            value.coordination.handoff_delay_hours,
            intake.registration_minutes,
            intake.front_desk_inquiry_resolution_share,
            intake.front_desk_minutes,
            value.party.claim_logging_hours,
            value.offices.on_the_spot_hours,
            handling.returns_before_parking,
            feedback.reopen_limit,
            feedback.callback_share,
            feedback.satisfaction_logit_base,
            feedback.satisfaction_logit_resolved,
            feedback.satisfaction_logit_per_limit_late,
            feedback.satisfaction_logit_per_reopening,
            feedback.satisfaction_logit_repeat,
            reporting.repeat_contact_probability,
            reporting.contacts_per_need_max,
            reporting.repeat_contact_delay_days,
        )
        (
            self._handling,
            self._handoff_delay_hours,
            self._registration_minutes,
            self._desk_share,
            self._desk_minutes,
            self._claim_logging_hours,
            self._on_the_spot_hours,
            self._returns_before_parking,
            self._reopen_limit,
            self._callback_share,
            self._logit_base,
            self._logit_resolved,
            self._logit_per_limit_late,
            self._logit_per_reopening,
            self._logit_repeat,
            self._repeat_probability,
            self._contacts_limit,
            self._repeat_delay_days,
        ) = read
        self._p = value

    @property
    def residents(self):
        return self._residents

    @residents.setter
    def residents(self, value):
        _load_names()
        self._residents = value

    cdef int _learn(self, long long row, bint satisfied) except -1:
        """``self.residents.learn_from(row, satisfied)``; for model.residents.Residents' own
        (as written, as model.agents.learn is) and a resident without an agent, learn's
        operations in its order, here: its arrays read where it reads them and written
        through their fields where they are float64 arrays (its three Python calls and four
        numpy element accesses were ≈ 3,000 instructions a case; issue 11, twenty-second
        round)."""
        residents = self._residents
        if not _RESIDENTS.by(residents, _LEARN_FROM):
            residents.learn_from(row, satisfied)
            return 0
        if row < 0 or row >= residents._size or residents._members.get(row) is not None:
            residents.learn_from(row, satisfied)  # its error, or the party member's agent
            return 0
        population = residents._population
        rate = residents._learning_rate
        if type(rate) is not float:
            residents.learn_from(row, satisfied)
            return 0
        outcome = 1.0 if satisfied else 0.0
        cdef double r = rate, o = outcome, value
        t = population.trust  # held until written
        cdef double* at = _double_at(t, row)
        if at is NULL:
            trust = t.item(row)
            t[row] = min(1.0, max(0.0, trust + rate * (outcome - trust)))
        else:
            value = at[0]
            value = value + r * (o - value)
            value = value if value > 0.0 else 0.0  # Python's max(0.0, value), then min(1.0, …)
            at[0] = value if value < 1.0 else 1.0
        d = population.disposition
        at = _double_at(d, row)
        if at is NULL:
            settled = d.item(row)
            d[row] = settled + rate * (outcome - settled)
        else:
            value = at[0]
            at[0] = value + r * (o - value)
        return 0

    # ------------------------------------------------ the agents' decisions, in C
    cdef bint _handling_of(self, object department) except -1:
        """Reads ``department.handling`` (where the method reads it): whether it is model.
        parameters.HandlingParameters with float numbers, which are then the _h_ fields
        (frozen: read once per parameters object; one changed through ``object.__setattr__``
        is outside its contract and not seen)."""
        h = department.handling
        if h is self._dept_handling:
            return True
        if type(h) is not _HandlingParameters:
            return False
        read = (
            h.gaming_propensity, h.premature_effort_share, h.care_gain,
            h.resolution_probability_full_effort, h.rating_memory, h.dispute_probability,
        )
        for value in read:
            if type(value) is not float:  # made without validation (model_construct)
                return False
        self._h_gaming, self._h_premature, self._h_care, full, memory, self._h_dispute = read
        self._h_miss = 1.0 - full
        self._h_memory = memory
        self._dept_handling = h
        return True

    cdef tuple _effort(self, object department, object u):
        """``department.effort(u)``: Department.effort's operations, on the objects as they
        are (Python's arithmetic, whatever their kind)."""
        pressure = department.pressure
        if u < self._h_gaming * pressure:
            return (self._h_premature, True)
        return (1.0 + self._h_care * pressure * department.quality_focus, False)

    cdef bint _rate(self, object department, bint on_time) except -1:
        """``department.rate(on_time)`` (Department.rate's operations, after its handling
        was read) on a float64 array of ratings and an index in it; False: it is asked."""
        ratings = department._ratings  # held until written
        cdef double* at = _double_at(ratings, department.index)
        if at is NULL:
            return False
        cdef double rating = at[0]
        at[0] = rating + self._h_memory * ((1.0 if on_time else 0.0) - rating)
        return True

    cdef int _accepts(
        self, object department, object needed, bint disputed, object must_lead, object u
    ) except -1:
        """``department.accepts(needed, disputed, must_lead, u)``: Department.accepts'
        operations, on the objects as they are, as 1 or 0; 2: it is asked (its handling
        is not the frozen parameters)."""
        if department.index not in needed:
            return 0
        if not disputed or must_lead:
            return 1
        if not self._handling_of(department):
            return 2
        dispute = min(1.0, self._h_dispute * (1.0 + self._h_gaming * department.pressure))
        return u >= dispute

    cdef bint _reclassifies(self, object department, object u) except -1:
        """``department.reclassifies(u)``: Department.reclassifies' operations."""
        return u < self._h_gaming * department.pressure * department.timeliness_focus

    cdef object _classified(self, object office, object needed, object returned, object u):
        """``office.classify(needed, returned, u, self.classification_rng)`` with Office.
        classify's operations for a case no one has returned whose departments are a
        tuple: the lead, or a department from the office's kept list of wrong ones;
        ``_ASKED``: it is asked (a returned case before anything is read, a list not made
        yet)."""
        if len(returned) != 0 or type(needed) is not tuple:
            return _ASKED
        lead = needed[0]
        if u < (office.catalogue_accuracy if lead in office.catalogue else office.accuracy):
            return lead
        wrong = office._wrong_for.get(needed)  # the key is tuple(needed): needed itself
        if type(wrong) is not list:
            return _ASKED  # (classify reads the accuracy again: a plain attribute's read)
        if not wrong:
            return lead
        draw = _integer_below_now  # model.agents' integer_below, as read there
        return (<list> wrong)[draw(self.classification_rng, len(<list> wrong))]

    cdef object _station_of(self, object unit):
        """``self._units.station(unit)`` for a unit that is not a department: model.units.
        Units.station's look-ups, here, for a grid's team, its party volunteers or an
        office, where the units' class has that method; anything else is asked."""
        units = self._units
        if not _UNITS.by(units, _STATION):
            return units.station(unit)
        level = _OF_UNIT.get(unit, _LEVEL)
        if _is(level, "grid"):
            return units.grid_workers[_OF_UNIT.get(unit, _INDEX)].station
        if _is(level, "party"):
            return units.party[_OF_UNIT.get(unit, _INDEX)]
        office = _office_at(units, level, _OF_UNIT.get(unit, _INDEX))
        if office is not None:
            return office.station
        return units.station(unit)

    cdef object _office_of(self, object unit):
        """``self._units.dispatcher(unit)``: model.units.Units.dispatcher's look-ups, here,
        for an office's level, where the units' class has that method as written (a Python
        call a case, ≈ 1,500 a district day; issue 11, twenty-seventh round); anything else,
        and its error, is asked."""
        units = self._units
        if not _UNITS.by(units, _DISPATCHER):
            return units.dispatcher(unit)
        office = _office_at(units, _OF_UNIT.get(unit, _LEVEL), _OF_UNIT.get(unit, _INDEX))
        return units.dispatcher(unit) if office is None else office

    cdef object _add_working(self, object t, object hours):
        """``self.calendar.add_working_hours(t, hours)``, without a Python call where it is
        the compiled one; a class or instance with its own, at the time of the call, is
        asked with the arguments as they are, as the reference asks it."""
        calendar = self.calendar
        if _plain_calendar(calendar):
            return _add_hours(<CalendarState> calendar, t, hours, None)
        return calendar.add_working_hours(t, hours)

    @property
    def units(self):
        return self._units

    @units.setter
    def units(self, value):
        self._units = value
        self._departments = value.departments
        self._grid_workers = value.grid_workers

    @property
    def league(self):
        return self._league

    @league.setter
    def league(self, value):
        self._league = value
        self._league_received = value["received"]
        self._league_accepted = value["accepted"]
        self._league_handled = value["handled"]
        self._league_resolved = value["resolved"]
        self._league_on_time = value["on_time"]
        self._league_rated = value["rated"]
        self._league_satisfied = value["satisfied"]

    @property
    def events(self):
        return self._events

    @events.setter
    def events(self, value):
        self._events = value
        self._compiled_events = value if type(value) is EventCalendar else None

    @property
    def cases(self):
        return self._cases

    @cases.setter
    def cases(self, value):
        _load_names()
        self._cases = value
        self._dispatched = value.dispatched
        self._source = value.source
        self._u_classify = value.u_classify
        self._disputed = value.disputed
        self._u_dispute = value.u_dispute
        self._returns = value.returns
        self._bundle = value.bundle
        self._deadline = value.deadline
        self._handoffs = value.handoffs
        self._premature = value.premature
        self._on_the_spot = value.on_the_spot
        self._reopened = value.reopened
        self._u_quality = value.u_quality
        self._handled_at = value.handled
        self._resolved = value.resolved
        self._grid = value.grid
        self._number = value.number
        self._minor = value.minor
        self._severity = value.severity
        self._u_verify = value.u_verify
        self._resident = value.resident
        self._u_callback = value.u_callback
        self._verified_at = value.verified
        self._closed = value.closed
        self._case_type = value.case_type
        self._u_satisfy = value.u_satisfy
        self._satisfied = value.satisfied
        self._owner = value.owner
        self._relapsed = value.relapsed
        self._followups = value.followups
        self._contact = value.contact
        self._u_repeat = value.u_repeat
        self._registered = value.registered
        self._promised = value.promised
        self._repeat = value.repeat
        self._case_departments = value.departments
        self._case_work = value.work

    cdef inline Py_ssize_t _row(self, object cid) except -1:
        """Case ``cid``'s row, checked once: the steps then read the typed columns unchecked
        (the reference's array look-ups raise or wrap instead of reading past the table)."""
        cdef Py_ssize_t row = cid
        if row < 0 or row >= len(self._case_departments):
            raise IndexError(
                f"case {cid} is not a row of the case table ({len(self._case_departments)} rows)"
            )
        return row

    cdef inline double _now(self):
        if self._compiled_events is not None:
            return self._compiled_events.now
        return self._events.now

    cdef int _later(self, double at, object callback, object argument) except -1:
        if self._compiled_events is not None:
            return self._compiled_events._schedule(at, CALLBACK, callback, argument, None)
        self._events.schedule(at, callback, argument)
        return 0

    # --------------------------------------------------------------- routing
    def _route_case(self, cid, intake):
        """Case ``cid``'s route: a memo hit looked up in C, a miss made in C where
        Casework._route and RouteMemo.route are as written, else Casework._route's
        (model.lifecycle's reference)."""
        return self._route_of(cid, intake)

    @cython.boundscheck(True)
    @cython.wraparound(True)
    def case_view(self, cid):
        """What a routing policy may know about case ``cid``: model.lifecycle's reference,
        its columns read here and the frozen view's slots filled in C (where CaseView is
        the frozen dataclass written: ``_slot_setters``), not by its ``__init__``, which
        sets each of 14 fields by ``object.__setattr__`` (≈ 2 µs of the ≈ 4 µs a view cost;
        a view is made per memo miss, and per case for a policy that does not declare its
        fields; issue 11, twenty-seventh round). ``_needs_enforcement`` is asked, as there.
        A case outside the table's rows in use (a negative one too) is refused, as by every
        compiled step (``_row``)."""
        cdef Py_ssize_t row = self._row(cid)
        depts = self._case_departments[row]
        grid = self._grid.data.as_longs[row]
        case_type = self._case_type.data.as_schars[row]
        geography = self.geography
        community = geography.grid_community[grid]
        values = (
            self._number.data.as_longlongs[row],
            _CASE_TYPES[case_type],
            _SOURCES[self._source.data.as_schars[row]],
            depts,
            grid,
            community,
            geography.community_street[community],
            self._minor.data.as_schars[row] != 0,
            self._needs_enforcement(depts),
            self._repeat.data.as_schars[row] != 0,
            self._severity.data.as_doubles[row],
            self.limits[case_type],
            self._returns.data.as_longs[row],
            self._case_work[row],
        )
        if _CASE_VIEW_SLOTS is None:  # by name, as the reference: whatever the fields' order
            return _CaseView(**dict(zip(_CASE_VIEW_FIELDS, values)))
        return _new_frozen(_CaseView, _CASE_VIEW_SLOTS, values)

    cdef object _route_of(self, object cid, object intake):
        cdef Py_ssize_t row = self._row(cid)
        if self._digital_memo is not None and self._source.data.as_schars[row] == _PATROL_SOURCE:
            memo = self._digital_memo
        elif self._bundle.data.as_schars[row]:
            memo = None  # handled in one pass: Casework._route
        elif self._case_type.data.as_schars[row] == _NEIGHBOUR_DISPUTE:
            memo = self._mediation_memo
        else:
            memo = self._routing_memo
        if memo is not None:
            parts = _OF_MEMO.get(memo, _PARTS)
            if type(parts) is tuple:  # made by model.route_memo.key_parts
                key = _memo_key(parts, row)
                if key is not _NO_KEY:
                    routes = _OF_MEMO.get(memo, _ROUTES)
                    if type(routes) is not dict:
                        # the mapping's own get (a dict subclass's too, as the reference
                        # asks it: not refused as a typed dict refused it)
                        route = routes.get(key)
                        if route is not None:
                            return route
                    else:
                        route = (<dict> routes).get(key)
                        if route is not None:
                            return route
                        if (
                            _MEMO_ROUTE.by(memo, _MEMO_ROUTE_NAMES)
                            and _CASEWORK_ROUTE.by(self, _CASEWORK_ROUTE_NAMES)
                        ):
                            # a miss, where Casework._route and RouteMemo.route are as
                            # written: what they make of it (``self.routes[key] =
                            # self.fresh(cid)``, the routes read after the call), without
                            # remaking the key in Python and looking it up again (≈ 134
                            # misses a district day; issue 11, forty-third round)
                            route = _OF_MEMO.get(memo, _FRESH)(cid)
                            _OF_MEMO.get(memo, _ROUTES)[key] = route
                            return route
        return self._route(cid, intake)

    # --------------------------------------------------------------- registration
    def _register_new(self, cids, items, registered, deadlines):
        """A day's new cases registered in the order of creation (model.lifecycle's
        reference), one C call each."""
        cdef Py_ssize_t k = 0
        for item in items:
            now, batch, i, source, need, part = item
            cid = cids[k]
            if source == _PATROL_SOURCE:
                self.pending_found -= 1
            if part is not None:
                self._mark_linked(cid, batch, need, part)
            self._register_case(cid, source, now, batch.u_desk[i], registered[k], deadlines[k])
            k += 1

    def _register(self, cid, source, now, u_desk, registered=None, deadline=None):
        """Registration (F3.4), the time limit (F4.1), an answer at the front desk for an
        inquiry, or the dispatch event (model.lifecycle's reference)."""
        self._register_case(cid, source, now, u_desk, registered, deadline)

    cdef int _register_case(
        self, object cid, object source, object now, object u_desk, object registered,
        object deadline,
    ) except -1:
        cdef Py_ssize_t row = self._row(cid)
        cdef long case_type = self._case_type.data.as_schars[row]
        if registered is None or deadline is None:
            if source == _HOTLINE:
                registered = now + self._registration_minutes * _MINUTE
            else:
                # taken in person: registered when the grid worker is next at work (F4.6)
                registered = (
                    self._add_working(now, 0.0)
                    + self._registration_minutes * _MINUTE
                )
            deadline = self.calendar.add_working_days(registered, self.limits[case_type])
        self._registered.data.as_doubles[row] = registered
        self._deadline.data.as_doubles[row] = deadline
        self._promised.data.as_doubles[row] = deadline
        if case_type == _INQUIRY and u_desk < self._desk_share:
            # answered at the first contact, in person when the grid worker is at work
            answered = (now if source == _HOTLINE else registered) + (
                self._desk_minutes * _MINUTE
            )
            if answered < floor(now) + 1.0:  # today: closed with today's cases
                return self._answer_at(cid, answered)
            # asked out of hours: open until the answer, the next working morning
            return self._later(answered, self._answer_callback, cid)
        if self._resident.data.as_longlongs[row] >= 0:
            self._note_deadline(deadline, cid)
        return self._later(registered, self._dispatch_callback, cid)

    cdef int _note_deadline(self, object deadline, object cid) except -1:
        """DeadlineDays.add's rule: a finite deadline is appended to its day's list."""
        cdef double limit = deadline
        if not isfinite(limit):
            return 0
        cdef dict days = self.deadlines.days
        # (math.floor's int where a C integer would not hold the day: the same key)
        day = <long long> floor(limit) if -9e18 < limit < 9e18 else _floor(limit)
        entries = days.get(day)
        if entries is None:
            days[day] = [(deadline, cid)]
        else:
            (<list?> entries).append((deadline, cid))
        return 0

    def _answer(self, cid):
        self._answer_at(cid, self._now())

    def _answer_at_once(self, cid, double answered):
        self._answer_at(cid, answered)

    cdef int _answer_at(self, object cid, double answered) except -1:
        """An inquiry answered at the first contact, at ``answered`` (F3.1–F3.4)."""
        cdef Py_ssize_t row = self._row(cid)
        self._on_the_spot.data.as_schars[row] = True
        self._handled_at.data.as_doubles[row] = answered
        self._resolved.data.as_schars[row] = True
        return self._end(cid, answered)

    # --------------------------------------------------------------- dispatch
    def _dispatch(self, cid):
        self._dispatch_case(cid)

    cdef int _dispatch_case(self, object cid) except -1:
        cdef Py_ssize_t row = self._row(cid)
        self._dispatched.data.as_doubles[row] = self._now()
        cdef long source = self._source.data.as_schars[row]
        if source == _HOTLINE or source == _SENSOR_SOURCE:
            intake = _CENTRE
        else:
            intake = self._unit_of("grid", self._grid.data.as_longs[row])
        route = self._route_of(cid, intake)
        cdef CaseProgress prog = CaseProgress.__new__(CaseProgress)
        prog.route = route
        prog.stage = 0
        prog.pending = 0
        prog.classified = False
        prog.at = intake
        prog.settled_by_team = False
        prog.lead = -1
        prog.first_handling = -1
        prog.failed = False
        prog.quality_draws = 0
        self.progress[cid] = prog
        return self._enter(cid)

    def _unit(self, level, index):
        """The unit ``(level, index)``, made once (model.lifecycle's reference)."""
        return self._unit_of(level, index)

    cdef object _unit_of(self, object level, object index):
        """The unit ``(level, index)``, made once (model.lifecycle's ``_unit``): ``_units_made``'s
        entry, made where there is none. Read from a list by level, by index, where the
        unit was read from ``_units_made`` before and the dictionary has not changed since
        (its version; any change empties the lists): a tuple key's hash and comparison were
        ≈ 380 instructions a call, ≈ 1.5 % of a district day (issue 11, twenty-ninth
        round)."""
        cdef dict made = self._units_made
        cdef list row = None
        cdef Py_ssize_t i = microgov_small_index(index, _UNIT_ROWS)
        cdef bint by_row = i >= 0 and type(level) is str
        if by_row:
            # (a version no other state of any dictionary has had: another dictionary put
            # in place of the units made has another)
            if self._unit_rows is None or (
                microgov_dict_version(<PyObject*> made) != self._unit_rows_version
            ):
                self._unit_rows = {}
            row = self._unit_rows.get(level)
            if row is not None and i < len(row):
                unit = row[i]
                if unit is not None:
                    return unit
        key = (level, index)
        unit = made.get(key)
        if unit is None:
            unit = made[key] = _Unit(level, index)
        if by_row:
            if row is None:
                row = self._unit_rows[level] = []
            if i >= len(row):
                row.extend([None] * (i + 1 - len(row)))
            row[i] = unit
            self._unit_rows_version = microgov_dict_version(<PyObject*> made)
        return unit

    def dispatcher(self, cid, holder):
        """The office that classifies case ``cid`` held by ``holder`` (model.lifecycle's
        reference)."""
        return self._dispatcher_of(cid, holder)

    cdef object _dispatcher_of(self, object cid, object holder):
        if holder is not None and _office_level(_OF_UNIT.get(holder, _LEVEL)):
            return self._office_of(holder)
        geography = self.geography
        community = geography.grid_community[self._grid.data.as_longs[self._row(cid)]]
        if holder is not None and _team_level(_OF_UNIT.get(holder, _LEVEL)):
            return self._units.communities[community]
        return self._units.streets[geography.community_street[community]]

    def _turned_away(self, cid, CaseProgress prog):
        return self._turned(cid, prog)

    cdef bint _turned(self, object cid, CaseProgress prog) except -1:
        """The office holding the case names its lead department, which takes it on or
        returns it (model.lifecycle's reference)."""
        cdef Py_ssize_t row = self._row(cid)
        needed = self._case_departments[row]
        returned = self.returned_by.get(cid, ())
        if not returned:
            u = self._u_classify.data.as_doubles[row]
        else:
            u = _random(self.classification_rng)
        office = self._dispatcher_of(cid, prog.at)
        chosen = _ASKED
        if _OFFICES.by(office, _AT_CLASSIFY):
            chosen = self._classified(office, needed, returned, u)
        if chosen is _ASKED:
            chosen = office.classify(needed, returned, u, self.classification_rng)
        department = self._departments[chosen]
        self._league_received[chosen] += 1
        disputed = self._disputed.data.as_schars[row] != 0
        if not returned:
            u_dispute = self._u_dispute.data.as_doubles[row]
        else:
            u_dispute = _random(self.handling_rng)
        must_lead = _OF_ROUTE.get(prog.route, _FIRST_UNIT_LEADS)
        cdef bint plain = _DEPARTMENTS.by(department, _AT_TURN)
        cdef int answer = 2
        if plain:
            answer = self._accepts(department, needed, disputed, must_lead, u_dispute)
        if answer == 1 or (
            answer == 2 and department.accepts(needed, disputed, must_lead, u_dispute)
        ):
            self._league_accepted[chosen] += 1
            prog.lead = chosen
            self._owner.data.as_longs[row] = chosen
            if department.pressure > 0:
                u_gaming = _random(self.gaming_rng)
                if (
                    self._reclassifies(department, u_gaming)
                    if plain and self._handling_of(department)
                    else department.reclassifies(u_gaming)
                ):
                    self._reclassify(cid)
            return False
        if chosen in needed:
            self.disputes += 1
        self._handoffs.data.as_longs[row] += 1
        prog.pending = 1
        prog.at = self._unit_of(office.level, office.index)
        hours = department.return_check_hours
        key = (chosen, hours)
        visit = self._return_visits.get(key)
        if visit is None:
            visit = _Visit(self._unit_of("department", chosen), work_hours=hours)
            self._return_visits[key] = visit
        at = self._add_working(self._now(), self._delay_of(prog.route))
        self._later(at, self._arrive_callback, (cid, visit, "return"))
        return True

    def _offer_to_party(self, cid, visits):
        return self._offer(cid, visits)

    cdef object _offer(self, object cid, object visits):
        """A small task offered to the grid's volunteers (model.lifecycle's reference)."""
        cdef Py_ssize_t row = self._row(cid)
        if self.organisation is not None:
            taken = self.organisation.offer(
                self._grid.data.as_longs[row],
                self._source.data.as_schars[row] == _PARTY_MEMBER,
                _OF_VISIT.get(visits[0], _WORK_HOURS),
                self._claim_logging_hours,
                self.claims_rng,
            )
            if taken is not None:
                return taken
        (<CaseProgress> self.progress[cid]).settled_by_team = True
        return visits

    def _default_work(self, cid, unit):
        return self._default(self._row(cid), unit)

    cdef object _default(self, Py_ssize_t row, object unit):
        level = _OF_UNIT.get(unit, _LEVEL)
        if _is(level, "embedded"):
            return self._case_work[row][0]  # the moved staff do the department's own work
        if _is(level, "grid") or _is(level, "party"):
            return self._on_the_spot_hours
        return self._office_of(unit).review_hours

    def _travel_hours(self, cid, unit, role, settled_by_team):
        return self._travel(self._row(cid), unit, role, settled_by_team)

    cdef object _travel(self, Py_ssize_t row, object unit, object role, bint settled_by_team):
        level = _OF_UNIT.get(unit, _LEVEL)
        grid = self._grid.data.as_longs[row]
        if _is(level, _DEPARTMENT) and _is(role, _HANDLE):
            return self.geography.department_travel_hours[grid]
        if _is(role, _RESOLVE) and (
            _is(level, "embedded") or (_is(level, "grid") and settled_by_team)
        ):
            return self.geography.grid_travel_hours[grid]
        return 0.0

    # --------------------------------------------------------------- a return
    def _returned(self, tuple item):
        """Back from a department that would not take it: parked after
        ``handling.returns_before_parking`` returns, else routed again (model.lifecycle's
        reference)."""
        cid, department = item
        cdef Py_ssize_t row = self._row(cid)
        self._returns.data.as_longs[row] += 1
        if self._returns.data.as_longs[row] >= self._returns_before_parking:
            self._park(cid)
            return
        self.returned_by.setdefault(cid, set()).add(department)
        self.progress[cid] = self._restart_of(cid, department)
        self._enter(cid)

    def _restart(self, cid, department):
        return self._restart_of(cid, department)

    cdef CaseProgress _restart_of(self, object cid, object department):
        held = self._unit_of("department", department)
        route = self._route_of(cid, held)
        stages = _OF_ROUTE.get(route, _STAGES)
        cdef Py_ssize_t stage = len(stages)
        cdef Py_ssize_t review = -1
        cdef Py_ssize_t k = 0
        for s in stages:
            role = _OF_STAGE.get(s, _ROLE)
            if _is(role, _HANDLE):
                stage = k
                break
            if _is(role, "review"):
                review = k
            k += 1
        if review >= 0:
            stage = review
        cdef CaseProgress prog = CaseProgress.__new__(CaseProgress)
        prog.route = route
        prog.stage = stage
        prog.pending = 0
        prog.classified = False
        prog.at = held
        prog.settled_by_team = False
        prog.lead = -1
        prog.first_handling = -1
        prog.failed = False
        prog.quality_draws = 0
        return prog

    # --------------------------------------------------------------- a stage begins
    def _enter_stage(self, cid):
        self._enter(cid)

    cdef int _enter(self, object cid) except -1:
        cdef CaseProgress prog = self.progress[cid]
        route = prog.route
        # a tuple from the shipped policies; any sequence will do
        stages = _OF_ROUTE.get(route, _STAGES)
        cdef long index = prog.stage
        if index >= len(stages):
            self._handle_end(cid)
            return 0
        stage = stages[index]
        role = _OF_STAGE.get(stage, _ROLE)
        if prog.first_handling < 0 and (_is(role, _HANDLE) or _is(role, _RESOLVE)):
            prog.first_handling = index
        if _is(role, _HANDLE) and not prog.classified:
            prog.classified = True
            if self._turned(cid, prog):
                return 0
        visits = _OF_STAGE.get(stage, _VISITS)
        cdef bint resolve = _is(role, _RESOLVE)
        if resolve and _OF_STAGE.get(stage, _CLAIMABLE):
            visits = self._offer(cid, visits)
        elif resolve and visits and _is(
            _OF_UNIT.get(_OF_VISIT.get(visits[0], _UNIT), _LEVEL), "grid"
        ):
            prog.settled_by_team = True
        prog.pending = len(visits)
        cdef double now = self._now()
        cdef double delay
        at_unit = prog.at
        for v in visits:
            unit = _OF_VISIT.get(v, _UNIT)
            if resolve or (
                at_unit is not None
                and _OF_UNIT.get(unit, _INDEX) == _OF_UNIT.get(at_unit, _INDEX)
                and _OF_UNIT.get(unit, _LEVEL) == _OF_UNIT.get(at_unit, _LEVEL)
            ):
                delay = 0.0  # settled where the case already is
            else:
                given = _OF_VISIT.get(v, _RESPONSE_HOURS)
                if given is None:
                    given = _OF_ROUTE.get(route, _HANDOFF_DELAY_HOURS)
                delay = self._handoff_delay_hours if given is None else given
                self._handoffs.data.as_longs[self._row(cid)] += 1
            if delay > 0:
                self._later(
                    self._add_working(now, delay), self._arrive_callback,
                    (cid, v, role),
                )
            else:
                self._arrive(cid, v, role)
        return 0

    # --------------------------------------------------------------- a visit arrives
    def _visit_arrive(self, tuple item):
        cid, visit, role = item
        self._arrive(cid, visit, role)

    cdef int _arrive(self, object cid, object visit, object role) except -1:
        cdef Py_ssize_t row_number = self._row(cid)
        unit = _OF_VISIT.get(visit, _UNIT)
        cdef CaseProgress prog = self.progress[cid]
        route = prog.route
        given = _OF_VISIT.get(visit, _WORK_HOURS)
        department = None
        cdef double work
        cdef Py_ssize_t slot
        cdef bint plain = False
        if _is(_OF_UNIT.get(unit, _LEVEL), _DEPARTMENT):
            index = _OF_UNIT.get(unit, _INDEX)
            department = self._departments[index]
            plain = _DEPARTMENTS.by(department, _AT_ARRIVAL)
            station = department.station
            if given is None:  # its part of the case's work, and the route's overhead if it leads
                row = self._case_departments[row_number]
                slot = row.index(index) if index in row else 0
                content = self._case_work[row_number][slot]
                overhead = _OF_ROUTE.get(route, _OVERHEAD_HOURS)
                if plain:  # Department.work_hours' operations
                    work = content + (overhead if slot == 0 else 0.0)
                else:
                    work = department.work_hours(content, slot == 0, overhead)
            else:
                work = given
        else:
            station = self._station_of(unit)
            work = self._default(row_number, unit) if given is None else given
        if self.travels and (_is(role, _HANDLE) or _is(role, _RESOLVE)):
            work += self._travel(row_number, unit, role, prog.settled_by_team)
        cdef double deadline = self._deadline.data.as_doubles[row_number]
        cdef double key
        effort, premature = 1.0, False
        if department is None:
            key = deadline + _OF_ROUTE.get(route, _PRIORITY)
        else:
            priority = _OF_ROUTE.get(route, _PRIORITY)
            if plain:  # Department.queue_key's
                key = deadline + priority
            else:
                key = department.queue_key(deadline, priority)
            if _is(role, _HANDLE) and given is None:
                u = _random(self.gaming_rng) if department.pressure > 0 else 1.0
                effort, premature = (
                    self._effort(department, u) if plain and self._handling_of(department)
                    else department.effort(u)
                )
                work *= effort
        if _is(role, _RETURN):
            done, token = self._returned_callback, (cid, _OF_UNIT.get(unit, _INDEX))
        else:
            done, token = self._done_callback, (cid, unit, role, effort, premature)
        if type(station) is Station:
            (<Station> station)._arrive(work, done, token, key)
        else:
            station.arrive(work, done, token, key)
        return 0

    # --------------------------------------------------------------- a visit ends
    cdef double _quality(self, Py_ssize_t cid, CaseProgress prog, bint primary) except? -1.0:
        if primary and prog.quality_draws == 0 and self._reopened.data.as_longs[cid] == 0:
            prog.quality_draws = 1
            return self._u_quality.data.as_doubles[cid]
        return _draw(self.handling_rng)

    def _quality_draw(self, cid, CaseProgress prog, primary):
        return self._quality(self._row(cid), prog, primary)

    def _visit_done(self, tuple item):
        cid, unit, role, effort, premature = item
        self._done(cid, unit, role, effort, premature)

    cdef int _done(
        self, object cid, object unit, object role, object effort, object premature
    ) except -1:
        cdef Py_ssize_t row_number = self._row(cid)
        cdef CaseProgress prog = self.progress[cid]
        cdef bint lead
        cdef bint plain
        if _is(role, _HANDLE) and _is(_OF_UNIT.get(unit, _LEVEL), _DEPARTMENT):
            index = _OF_UNIT.get(unit, _INDEX)
            department = self._departments[index]
            plain = _DEPARTMENTS.by(department, _AT_DONE)
            on_time = self._now() <= self._deadline.data.as_doubles[row_number]
            if not (plain and self._handling_of(department) and self._rate(department, on_time)):
                department.rate(on_time)
            lead = index == prog.lead
            u = self._quality(row_number, prog, lead)
            if plain and self._handling_of(department):  # model.agents.resolves' operations
                ok = u < 1.0 - self._h_miss ** effort
            else:
                ok = department.resolves(effort, u)
            if lead or not _OF_ROUTE.get(prog.route, _FIRST_UNIT_LEADS):
                prog.failed |= not ok
            if premature:
                self._premature.data.as_longs[row_number] += 1
        prog.pending -= 1
        if prog.pending > 0:
            return 0
        if _is(role, _RESOLVE):
            ok = _resolves(self._handling, 1.0, self._quality(row_number, prog, True))
            prog.failed |= not ok
            self._on_the_spot.data.as_schars[row_number] = True
            self._handle_end(cid)
            return 0
        if _is(role, _MEDIATE) and self._mediated(cid, unit, prog):
            return 0
        stage = _OF_ROUTE.get(prog.route, _STAGES)[prog.stage]
        prog.at = _OF_VISIT.get(_OF_STAGE.get(stage, _VISITS)[0], _UNIT)
        prog.stage += 1
        return self._enter(cid)

    # ------------------------------------------- verification, call-back, closure
    def _delay(self, route):
        return self._delay_of(route)

    cdef object _delay_of(self, object route):
        d = _OF_ROUTE.get(route, _HANDOFF_DELAY_HOURS)
        return self._handoff_delay_hours if d is None else d

    def _handled(self, cid):
        self._handle_end(cid)

    cdef int _handle_end(self, object cid) except -1:
        cdef Py_ssize_t row = self._row(cid)
        cdef double now = self._now()
        self._handled_at.data.as_doubles[row] = now
        cdef CaseProgress prog = self.progress[cid]
        self._resolved.data.as_schars[row] = not prog.failed
        cdef long grid = self._grid.data.as_longs[row]
        worker = self._grid_workers[grid]
        if _GRID_WORKERS.by(worker, _VERIFICATION_HOURS):  # GridWorker.verification_hours
            hours = 0.0 if prog.settled_by_team else worker._verification_hours
        else:
            hours = worker.verification_hours(prog.settled_by_team)
        if hours > 0 and self.travels:  # the check is on site (community types)
            hours += self.geography.grid_travel_hours[grid]
        delay = 0.0 if self._on_the_spot.data.as_schars[row] else self._delay_of(prog.route)
        at = self._add_working(now, delay) if delay > 0 else now
        return self._later(at, self._verify_callback, (cid, hours))

    def _verify(self, tuple item):
        cid, hours = item
        if hours <= 0:
            self._check(cid)
            return
        cdef Py_ssize_t row = self._row(cid)
        team = self._grid_workers[self._grid.data.as_longs[row]].station
        cdef double deadline = self._deadline.data.as_doubles[row]
        if type(team) is Station:
            (<Station> team)._arrive(hours, self._verified_callback, cid, deadline)
        else:
            team.arrive(hours, self._verified_callback, cid, deadline)

    def _verified(self, cid):
        self._check(cid)

    cdef int _check(self, object cid) except -1:
        """The grid worker's on-site check (F9.5), then the call-back (回访, F9.3)."""
        cdef Py_ssize_t row = self._row(cid)
        cdef CaseProgress prog = self.progress[cid]
        worker = self._grid_workers[self._grid.data.as_longs[row]]
        cdef bint resolved = self._resolved.data.as_schars[row] != 0
        cdef long reopened = self._reopened.data.as_longs[row]
        cdef bint can_reopen = reopened < self._reopen_limit
        if reopened == 0:
            u_verify = self._u_verify.data.as_doubles[row]
        else:
            u_verify = _draw(self._stream(cid, self.handling_rng))
        if can_reopen:
            if _GRID_WORKERS.by(worker, _CATCHES):  # GridWorker.catches' operations
                caught = (
                    not resolved and not prog.settled_by_team
                    and u_verify < worker.catch_probability
                )
            else:
                caught = worker.catches(resolved, prog.settled_by_team, u_verify)
            if caught:
                return self._again(cid)
        if self._resident.data.as_longlongs[row] >= 0:
            if reopened == 0:
                u = self._u_callback.data.as_doubles[row]
            else:
                u = _random(self._contacts(cid))
            if u < self._callback_share and not resolved and can_reopen:
                return self._again(cid)
        return self._end(cid, self._now())

    def _reopen(self, cid):
        self._again(cid)

    cdef int _again(self, object cid) except -1:
        """Handled again by the same units from the first handling stage (重新办理, F9.3)."""
        cdef Py_ssize_t row = self._row(cid)
        self._reopened.data.as_longs[row] += 1
        cdef CaseProgress prog = self.progress[cid]
        prog.stage = max(prog.first_handling, 0)
        prog.failed = False
        prog.settled_by_team = False  # whoever settles it this time decides the check
        prog.classified = True  # its owner keeps it
        prog.at = self._unit_of("grid", self._grid.data.as_longs[row])
        return self._enter(cid)

    def _close(self, cid, double now):
        self._end(cid, now)

    cdef int _end(self, object cid, double now) except -1:
        """Closed; the resident rates the experience and learns from it, and contacts the
        system again if the problem was not resolved."""
        cdef Py_ssize_t row = self._row(cid)
        if not self._on_the_spot.data.as_schars[row] or self._case_type.data.as_schars[row] != _INQUIRY:
            self._verified_at.data.as_doubles[row] = now
        self._closed.data.as_doubles[row] = now
        self.progress.pop(cid, None)
        self.returned_by.pop(cid, None)
        cdef bint resolved = self._resolved.data.as_schars[row] != 0
        cdef bint on_time = now <= self._deadline.data.as_doubles[row]
        cdef long long resident = self._resident.data.as_longlongs[row]
        cdef bint satisfied = False
        if resident >= 0:
            satisfied = self._u_satisfy.data.as_doubles[row] < self._satisfaction(row, now)
            self._satisfied.data.as_schars[row] = satisfied
            self._learn(resident, satisfied)
        cdef long owner = self._owner.data.as_longs[row]
        if owner >= 0:
            self._league_handled[owner] += 1
            self._league_resolved[owner] += resolved
            self._league_on_time[owner] += on_time
            if resident >= 0:
                self._league_rated[owner] += 1
                self._league_satisfied[owner] += satisfied
        self.closed_total += 1
        if not resolved:
            # Casework._maybe_contact_again as written returns at once for a case nobody
            # reported (found by a patrol or a sensor: three in four unresolved closures of
            # a district day: issue 11, 27th round) and is made here for the others
            if not _CASEWORK.by(self, _MAYBE_CONTACT_AGAIN):
                self._maybe_contact_again(cid)
            elif resident >= 0:
                self._contact_again_if(cid, row, resident)
        elif self._relapsed.data.as_schars[row] and resident >= 0:
            # a settlement that does not hold: the dispute comes back (a repeat dispute)
            delay = self.mediators.relapse_delay_days(self._stream(cid, self.contacts_rng))
            if self._followups.data.as_schars[row] == 127:  # as the reference's array('b')
                raise OverflowError("signed char is greater than maximum")
            self._followups.data.as_schars[row] += 1
            self._later(now + delay, self._contact_again, cid)
        self.dispute_rngs.pop(cid, None)
        return 0

    cdef int _contact_again_if(self, object cid, Py_ssize_t row, long long resident) except -1:
        """Casework._maybe_contact_again as written, for an unresolved case a resident
        reported: where model.residents.Residents.contacts_again is as written (with
        model.agents.contacts_again in its module) and the resident has no agent of their
        own, that function's comparisons made here, as Python makes them, then the delay
        drawn from the case's contacts stream and the contact scheduled as the method does
        (its three Python calls were ≈ 3 µs of a decision that is two comparisons, ≈ 200 a
        district day: issue 11, thirty-fourth round); anything else asks the method."""
        residents = self._residents
        if (
            not _RESIDENTS_CONTACTS.by(residents, _CONTACTS_AGAIN)
            or not _written(
                _RESIDENTS_GLOBALS.get("contacts_again"), _CONTACTS_AGAIN_CODE, _AGENTS_GLOBALS
            )
            or resident >= residents._size
            or residents._members.get(resident) is not None
        ):
            self._maybe_contact_again(cid)  # its error, or the party member's agent decides
            return 0
        contacts_so_far = self._contact.data.as_schars[row]
        u = self._u_repeat.data.as_doubles[row]
        if not (contacts_so_far < self._contacts_limit and u < self._repeat_probability):
            return 0
        cdef double delay = float(self._contacts(cid).exponential(self._repeat_delay_days))
        if self._followups.data.as_schars[row] == 127:  # as the reference's array('b')
            raise OverflowError("signed char is greater than maximum")
        self._followups.data.as_schars[row] += 1
        return self._later(self._now() + delay, self._contact_again, cid)

    def satisfaction_probability(self, cid, double now):
        """Chance of a "satisfied" rating from the experience of case ``cid`` closed at ``now``
        (model.lifecycle.PythonLifecycle.satisfaction_probability, bit for bit)."""
        return self._satisfaction(self._row(cid), now)

    cdef double _satisfaction(self, Py_ssize_t row, double now) except? -1.0:
        cdef double registered = self._registered.data.as_doubles[row]
        cdef double deadline = self._promised.data.as_doubles[row]
        cdef double past = now - deadline
        cdef double span = deadline - registered
        # Python's max(0.0, past) and max(span, MINUTE): the first of the largest
        cdef double late = (past if past > 0.0 else 0.0) / (_MINUTE if _MINUTE > span else span)
        cdef double logit = self._logit_base
        logit = logit + (self._logit_resolved if self._resolved.data.as_schars[row] else 0.0)
        logit = logit + <double> self._logit_per_limit_late * late
        logit = logit + <double> self._logit_per_reopening * <double> self._reopened.data.as_longs[row]
        logit = logit + (self._logit_repeat if self._repeat.data.as_schars[row] else 0.0)
        return 1.0 / (1.0 + exp(-logit))
