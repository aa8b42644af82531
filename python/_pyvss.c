/*
 * _pyvss.c — the C core of the pyvss Python package: CPython bindings over
 * libvss's public API (vss.h) only. The package's __init__.py adds the
 * conveniences (pyvss.open) and pyvss/pyvshadow.py the pyvshadow shim.
 *
 * Threads and the GIL (docs/python.md "Threads"):
 * - Every call into libvss that may read runs with the GIL released
 *   (Py_BEGIN_ALLOW_THREADS), so reads of several threads overlap and a
 *   source backed by a Python file object (which takes the GIL back to
 *   call read/seek) cannot deadlock.
 * - A Python-file source serialises its seek+read pairs with a mutex that
 *   is only ever waited for with the GIL released.
 * - Snapshot and File objects count the reads in flight: close() while
 *   another thread reads defers freeing the handle to the last reader.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"

PyMODINIT_FUNC PyInit__pyvss(void);

/* Methods with keywords go into PyMethodDef through a cast that -Wextra's
 * -Wcast-function-type accepts. */
#define METH_KW(f) ((PyCFunction)(void (*)(void))(f))

static PyObject *PyvssError;   /* pyvss.Error, a subclass of OSError */
static PyObject *epoch_1601;   /* datetime(1601, 1, 1, tzinfo=utc) */

/* ---- errors --------------------------------------------------------------- */

/* The exception a Python file object's read or seek raised in this
 * thread, kept by pyfile_read_at (the library can only say that the read
 * failed) until the failure reaches raise_vss, which makes it the
 * pyvss.Error's __cause__. It waits in the thread state's dict, under
 * PENDING_KEY: per thread, and dropped with the thread state when no
 * raise_vss comes (a thread of the audit's iterator, a worker of the
 * library), where a C thread-local kept it, its traceback's frames and
 * the file object, for good. Touched with the GIL held only. */
#define PENDING_KEY "pyvss.pending_io_error"

static void pending_io_error_set(PyObject *value) /* steals value */
{
    PyObject *d = PyThreadState_GetDict();
    if (!d || PyDict_SetItemString(d, PENDING_KEY, value) < 0)
        PyErr_Clear();
    Py_DECREF(value);
}

static PyObject *pending_io_error_take(void) /* new reference or NULL */
{
    PyObject *d = PyThreadState_GetDict(), *v;
    if (!d || !(v = PyDict_GetItemString(d, PENDING_KEY)))
        return NULL;
    Py_INCREF(v);
    if (PyDict_DelItemString(d, PENDING_KEY) < 0)
        PyErr_Clear();
    return v;
}

/* Raise pyvss.Error with the library's message (structure and offset) and
 * its code as attributes .code (VSS_E*) and .code_name ("corrupt", ...). */
static PyObject *raise_vss(int rc, const vss_error *e)
{
    PyObject *cause = pending_io_error_take();
    if (cause && rc != VSS_EIO)
        Py_CLEAR(cause); /* from a read the library got over */
    const char *msg = e && e->code && e->message[0] ? e->message
                                                   : vss_strerror(rc);
    PyObject *exc = PyObject_CallFunction(PyvssError, "s", msg);
    if (!exc) {
        Py_XDECREF(cause);
        return NULL;
    }
    PyObject *code = PyLong_FromLong(rc);
    PyObject *name = PyUnicode_FromString(vss_strerror(rc));
    if (code && name) {
        PyObject_SetAttrString(exc, "code", code);
        PyObject_SetAttrString(exc, "code_name", name);
    }
    Py_XDECREF(code);
    Py_XDECREF(name);
    if (cause)
        PyException_SetCause(exc, cause); /* steals cause */
    PyErr_SetObject(PyvssError, exc);
    Py_DECREF(exc);
    return NULL;
}

static PyObject *raise_msg(int rc, const char *msg)
{
    vss_error e = {.code = rc};
    snprintf(e.message, sizeof e.message, "%s", msg);
    return raise_vss(rc, &e);
}

/* ---- small converters ------------------------------------------------------ */

static PyObject *guid_str(const uint8_t guid[16])
{
    char s[37];
    vss_guid_format(guid, s);
    return PyUnicode_FromString(s); /* vss_guid_format writes lowercase */
}

/* FILETIME as an aware UTC datetime (microseconds: Python's resolution);
 * None when out of datetime's range (years past 9999). */
static PyObject *filetime_datetime(uint64_t ft)
{
    uint64_t us = ft / 10;
    PyObject *delta = PyDelta_FromDSU((int)(us / 86400000000ull),
                                      (int)(us / 1000000 % 86400),
                                      (int)(us % 1000000));
    if (!delta)
        return NULL;
    PyObject *r = PyNumber_Add(epoch_1601, delta);
    Py_DECREF(delta);
    if (!r && PyErr_ExceptionMatches(PyExc_OverflowError)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return r;
}

/* An unsigned number, or None for the library's "unknown" marker. */
static PyObject *u64_or_none(uint64_t v, uint64_t unknown)
{
    if (v == unknown)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(v);
}

/* Fill a struct sequence from a NULL-terminated array of new references
 * (any NULL: fail, releasing the rest). */
static PyObject *make_seq(PyTypeObject *type, PyObject **items, int n)
{
    PyObject *seq = NULL;
    int i, failed = 0;
    for (i = 0; i < n; i++)
        failed |= items[i] == NULL;
    if (!failed)
        seq = PyStructSequence_New(type);
    if (!seq) {
        for (i = 0; i < n; i++)
            Py_XDECREF(items[i]);
        return NULL;
    }
    for (i = 0; i < n; i++)
        PyStructSequence_SET_ITEM(seq, i, items[i]);
    return seq;
}

#define NITEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The Python object for item i of what ctx points to (a C array, a
 * result set): a new reference, or NULL with an exception set. */
typedef PyObject *(*item_at_fn)(const void *ctx, size_t i);

/* A tuple (as_list 0) or a list of item(ctx, i) for every i < n. The one
 * place that builds a sequence of results: when an item fails, everything
 * built so far is released and NULL returned. */
static PyObject *seq_of(const void *ctx, size_t n, item_at_fn item,
                        int as_list)
{
    PyObject *s = as_list ? PyList_New((Py_ssize_t)n)
                          : PyTuple_New((Py_ssize_t)n);
    for (size_t i = 0; s && i < n; i++) {
        PyObject *o = item(ctx, i);
        if (!o)
            Py_CLEAR(s);
        else if (as_list)
            PyList_SET_ITEM(s, (Py_ssize_t)i, o);
        else
            PyTuple_SET_ITEM(s, (Py_ssize_t)i, o);
    }
    return s;
}
#define TUPLE_OF(ctx, n, item) seq_of((ctx), (n), (item), 0)
#define LIST_OF(ctx, n, item) seq_of((ctx), (n), (item), 1)

/* ---- struct sequence types (named tuples) -------------------------------- */

static PyTypeObject SnapshotInfoType, RunType, PartitionType, StatType,
    EntryType, StreamType, WalkEntryType, ExtentType, LostRangeType,
    ProvenanceType, VolumeSetEntryType, AttrType;

#define F(n) {n, NULL}
static PyStructSequence_Field snapshot_info_fields[] = {
    F("index"), F("stack_position"), F("store_guid"), F("shadow_copy_id"),
    F("shadow_copy_set_id"), F("creation_time"), F("creation_filetime"),
    F("volume_size"), F("catalog_flags"), F("snapshot_context"),
    F("provider_flags"), F("attribute_flags"), F("originating_machine"),
    F("service_machine"), F("store_error"), F("store_error_message"),
    F("storage_ready"), F("store_header_offset"), F("block_list_offset"),
    F("block_range_offset"), F("bitmap_offset"), F("previous_bitmap_offset"),
    F("store_file_reference"), F("store_size"), F("changed_blocks"),
    F("not_in_use_blocks"), {NULL, NULL}};
static PyStructSequence_Field run_fields[] = {
    F("offset"), F("length"), F("cls"), F("reason"), F("store_index"),
    F("source_offset"), {NULL, NULL}};
static PyStructSequence_Field partition_fields[] = {
    F("offset"), F("size"), F("number"), F("scheme"), F("type"),
    F("is_ntfs"), {NULL, NULL}};
static PyStructSequence_Field stat_fields[] = {
    F("mft_record"), F("sequence"), F("link_count"), F("is_directory"),
    F("attributes"), F("size"), F("allocated_size"),
    F("creation_time"), F("modification_time"), F("mft_change_time"),
    F("access_time"), F("creation_filetime"), F("modification_filetime"),
    F("mft_change_filetime"), F("access_filetime"), F("stream_count"),
    F("is_stream"), F("has_data"), F("record_offset"), F("has_file_name"),
    F("fn_creation_time"), F("fn_modification_time"),
    F("fn_mft_change_time"), F("fn_access_time"), F("fn_creation_filetime"),
    F("fn_modification_filetime"), F("fn_mft_change_filetime"),
    F("fn_access_filetime"), F("owner_id"), {NULL, NULL}};
static PyStructSequence_Field entry_fields[] = {
    F("name"), F("stat"), F("error"), F("mft_record"), F("sequence"),
    {NULL, NULL}};
static PyStructSequence_Field stream_fields[] = {
    F("name"), F("size"), F("allocated_size"), F("resident"), {NULL, NULL}};
static PyStructSequence_Field walk_entry_fields[] = {
    F("event"), F("path"), F("relative"), F("name"), F("depth"), F("stat"),
    F("stream"), F("stream_size"), F("stream_resident"), F("error"),
    F("message"), {NULL, NULL}};
static PyStructSequence_Field extent_fields[] = {
    F("file_offset"), F("volume_offset"), F("length"), F("flags"),
    {NULL, NULL}};
static PyStructSequence_Field lost_range_fields[] = {
    F("offset"), F("length"), F("cls"), F("reason"), F("store_index"),
    {NULL, NULL}};
static PyStructSequence_Field provenance_fields[] = {
    F("status"), F("size"), F("compression_unit"), F("resident"),
    F("extents"), F("lost"), F("lost_zero"), F("lost_stale"), F("bytes"),
    F("record_offset"), F("record_lost"), F("record_damaged"), F("key"),
    {NULL, NULL}};
static PyStructSequence_Field volume_set_entry_fields[] = {
    F("image_index"), F("image"), F("partition"), F("volume"),
    F("error_code"), F("error"), F("storage"), {NULL, NULL}};
static PyStructSequence_Field attr_fields[] = {
    F("type"), F("id"), F("name_space"), F("resident"), F("name"), F("size"),
    F("allocated_size"), {NULL, NULL}};
#undef F

#define SEQ_DESC(var, name, fields, doc)                                       \
    static PyStructSequence_Desc var = {"pyvss." name, doc, fields,           \
                                        NITEMS(fields) - 1}
SEQ_DESC(snapshot_info_desc, "SnapshotInfo", snapshot_info_fields,
         "A snapshot as the catalog and its store describe it.");
SEQ_DESC(run_desc, "Run", run_fields,
         "A run of the provenance map: where snapshot bytes come from.");
SEQ_DESC(partition_desc, "Partition", partition_fields,
         "A volume found in a disk image.");
SEQ_DESC(stat_desc, "Stat", stat_fields, "An NTFS file's metadata.");
SEQ_DESC(entry_desc, "Entry", entry_fields, "A directory entry.");
SEQ_DESC(stream_desc, "Stream", stream_fields, "A $DATA stream.");
SEQ_DESC(walk_entry_desc, "WalkEntry", walk_entry_fields,
         "What a walk of a file system met.");
SEQ_DESC(extent_desc, "Extent", extent_fields,
         "Where a stream's bytes are on the volume.");
SEQ_DESC(lost_range_desc, "LostRange", lost_range_fields,
         "File bytes the snapshot did not preserve.");
SEQ_DESC(provenance_desc, "Provenance", provenance_fields,
         "Where the bytes of a file in a snapshot come from.");
SEQ_DESC(volume_set_entry_desc, "VolumeSetEntry", volume_set_entry_fields,
         "One volume of a VolumeSet.");
SEQ_DESC(attr_desc, "Attr", attr_fields, "An attribute of an MFT record.");

static PyObject *bool_obj(int v) { return PyBool_FromLong(v != 0); }
static PyObject *u64(uint64_t v) { return PyLong_FromUnsignedLongLong(v); }
static PyObject *str(const char *s) { return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace"); }
static PyObject *none(void) { Py_RETURN_NONE; }

static PyObject *snapshot_info_obj(const vss_snapshot_info *si)
{
    /* The store information (ids, context, flags, machines) and the
     * store's offsets are on the storage volume: None until it is read. */
    int ready = si->storage_ready;
#define RO(x) (ready ? u64(x) : none())
    PyObject *items[] = {
        PyLong_FromLong(si->index), u64(si->stack_position),
        guid_str(si->store_guid),
        ready ? guid_str(si->shadow_copy_id) : none(),
        ready ? guid_str(si->shadow_copy_set_id) : none(),
        filetime_datetime(si->creation_time),
        u64(si->creation_time), u64(si->volume_size), u64(si->catalog_flags),
        RO(si->snapshot_context), RO(si->provider_flags),
        RO(si->attribute_flags),
        ready ? str(si->originating_machine) : none(),
        ready ? str(si->service_machine) : none(),
        PyLong_FromLong(si->store_error),
        si->store_error ? str(si->store_error_message) : none(),
        bool_obj(ready), RO(si->store_header_offset),
        RO(si->block_list_offset), RO(si->block_range_offset),
        RO(si->bitmap_offset),
        ready && si->previous_bitmap_offset ? u64(si->previous_bitmap_offset)
                                            : none(),
        RO(si->store_file_reference), RO(si->store_size),
        u64_or_none(si->changed_blocks, UINT64_MAX),
        u64_or_none(si->not_in_use_blocks, UINT64_MAX)};
#undef RO
    return make_seq(&SnapshotInfoType, items, NITEMS(items));
}

static PyObject *run_obj(const vss_run *r)
{
    PyObject *items[] = {u64(r->offset), u64(r->length),
                         PyUnicode_FromString(vss_class_name(r->cls)),
                         PyUnicode_FromString(vss_reason_name(r->reason)),
                         PyLong_FromLong(r->store_index),
                         u64(r->source_offset)};
    return make_seq(&RunType, items, NITEMS(items));
}

static PyObject *partition_obj(const vss_partition *p)
{
    PyObject *items[] = {u64(p->offset), u64(p->size),
                         PyLong_FromLong(p->number), str(p->scheme),
                         str(p->type), bool_obj(p->is_ntfs)};
    return make_seq(&PartitionType, items, NITEMS(items));
}

static PyObject *partition_at(const void *ctx, size_t i)
{
    return partition_obj((const vss_partition *)ctx + i);
}

static PyObject *stat_obj(const vss_fs_stat *st)
{
    PyObject *items[] = {
        u64(st->mft_record), PyLong_FromLong(st->sequence),
        PyLong_FromLong(st->link_count), bool_obj(st->is_directory),
        u64(st->attributes), u64(st->size), u64(st->allocated_size),
        filetime_datetime(st->creation_time),
        filetime_datetime(st->modification_time),
        filetime_datetime(st->mft_change_time),
        filetime_datetime(st->access_time), u64(st->creation_time),
        u64(st->modification_time), u64(st->mft_change_time),
        u64(st->access_time), u64(st->stream_count), bool_obj(st->is_stream),
        bool_obj(st->has_data), u64_or_none(st->record_offset, VSS_FS_NO_OFFSET),
        bool_obj(st->has_file_name),
        st->has_file_name ? filetime_datetime(st->fn_creation_time) : none(),
        st->has_file_name ? filetime_datetime(st->fn_modification_time) : none(),
        st->has_file_name ? filetime_datetime(st->fn_mft_change_time) : none(),
        st->has_file_name ? filetime_datetime(st->fn_access_time) : none(),
        st->has_file_name ? u64(st->fn_creation_time) : none(),
        st->has_file_name ? u64(st->fn_modification_time) : none(),
        st->has_file_name ? u64(st->fn_mft_change_time) : none(),
        st->has_file_name ? u64(st->fn_access_time) : none(),
        u64(st->owner_id)};
    return make_seq(&StatType, items, NITEMS(items));
}

static const char *walk_event_name(vss_walk_event ev)
{
    static const char *const names[] = {"entry", "stream", "skipped",
                                        "bad_entry", "bad_dir", "bad_streams",
                                        "loop", "too_deep"};
    return (unsigned)ev < NITEMS(names) ? names[ev] : "unknown";
}

static PyObject *lost_range_at(const void *ctx, size_t i)
{
    const vss_lost_range *l = (const vss_lost_range *)ctx + i;
    PyObject *items[] = {u64(l->offset), u64(l->length),
                         PyUnicode_FromString(vss_class_name(l->cls)),
                         PyUnicode_FromString(vss_reason_name(l->reason)),
                         PyLong_FromLong(l->store_index)};
    return make_seq(&LostRangeType, items, NITEMS(items));
}

static PyObject *lost_list(const vss_lost_range *l, size_t n)
{
    return TUPLE_OF(l, n, lost_range_at);
}

static PyObject *extent_at(const void *ctx, size_t i)
{
    const vss_fs_extent *x = (const vss_fs_extent *)ctx + i;
    PyObject *items[] = {u64(x->file_offset),
                         u64_or_none(x->volume_offset, VSS_FS_NO_OFFSET),
                         u64(x->length), PyLong_FromUnsignedLong(x->flags)};
    return make_seq(&ExtentType, items, NITEMS(items));
}

static PyObject *extent_list(const vss_fs_extent *x, size_t n)
{
    return TUPLE_OF(x, n, extent_at);
}

static PyObject *provenance_obj(const vss_provenance *p)
{
    PyObject *bytes = Py_BuildValue(
        "{sKsKsKsKsK}", vss_class_name(VSS_CLASS_STORE),
        (unsigned long long)p->bytes[VSS_CLASS_STORE],
        vss_class_name(VSS_CLASS_LIVE), (unsigned long long)p->bytes[VSS_CLASS_LIVE],
        vss_class_name(VSS_CLASS_ZERO), (unsigned long long)p->bytes[VSS_CLASS_ZERO],
        vss_class_name(VSS_CLASS_STALE), (unsigned long long)p->bytes[VSS_CLASS_STALE],
        "none", (unsigned long long)p->bytes[4]);
    PyObject *items[] = {
        PyUnicode_FromString(vss_status_name(vss_provenance_status(p))),
        u64(p->size), u64(p->compression_unit), bool_obj(p->resident),
        extent_list(p->extents, p->extent_count),
        lost_list(p->lost, p->lost_count), u64(p->lost_zero),
        u64(p->lost_stale), bytes,
        u64_or_none(p->record_offset, VSS_FS_NO_OFFSET),
        lost_list(p->record_lost, p->record_lost_count),
        bool_obj(p->record_damaged),
        p->key_valid ? PyBytes_FromStringAndSize((const char *)p->key, 32)
                     : none()};
    return make_seq(&ProvenanceType, items, NITEMS(items));
}

/* PyArg "O&" converter: a path (str, bytes, os.PathLike) or None. */
static int opt_path(PyObject *o, void *out)
{
    if (o == Py_None) {
        *(PyObject **)out = NULL;
        return 1;
    }
    return PyUnicode_FSConverter(o, out);
}

/* ===== Source: a vss_source ================================================ */

typedef struct {
    PyObject_HEAD
    vss_source *src;
} SourceObject;

static PyTypeObject SourceType;

static PyObject *source_wrap(vss_source *src) /* steals the reference */
{
    SourceObject *o = PyObject_New(SourceObject, &SourceType);
    if (!o) {
        vss_source_release(src);
        return NULL;
    }
    o->src = src;
    return (PyObject *)o;
}

/* A source whose bytes come from a Python file-like object: read(size) and
 * seek(offset, whence). Seek and read are a pair, so one mutex serialises
 * them; it is waited for with the GIL released. */
#define PYFILE_READ_CHUNK (64u << 10)

typedef struct pyfile_ctx {
    PyObject *fo;
    pthread_mutex_t lock;
} pyfile_ctx;

static int64_t pyfile_read_at(void *vctx, void *buf, size_t len,
                              uint64_t offset)
{
    pyfile_ctx *c = vctx;
    PyGILState_STATE g = PyGILState_Ensure();
    int64_t done = 0;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&c->lock);
    Py_END_ALLOW_THREADS
    PyObject *r = PyObject_CallMethod(c->fo, "seek", "Ki",
                                      (unsigned long long)offset, 0);
    if (!r) {
        done = VSS_EIO;
        goto out;
    }
    Py_DECREF(r);
    /* read() may come back short before the end (raw files, pipes):
     * read again until len bytes or an empty read. At most
     * PYFILE_READ_CHUNK a call: each read() makes a new bytes object, and
     * one of 1 MiB is a fresh mmap in malloc, page-faulted in on every
     * call (40x slower in the bench than 64 KiB pieces, which the heap
     * reuses). */
    while ((size_t)done < len) {
        Py_buffer view;
        size_t want = len - (size_t)done;
        if (want > PYFILE_READ_CHUNK)
            want = PYFILE_READ_CHUNK;
        r = PyObject_CallMethod(c->fo, "read", "n", (Py_ssize_t)want);
        if (!r || PyObject_GetBuffer(r, &view, PyBUF_SIMPLE) < 0) {
            Py_XDECREF(r);
            done = VSS_EIO;
            goto out;
        }
        size_t n = (size_t)view.len < len - done ? (size_t)view.len
                                                 : len - (size_t)done;
        memcpy((char *)buf + done, view.buf, n);
        PyBuffer_Release(&view);
        Py_DECREF(r);
        if (n == 0)
            break;
        done += (int64_t)n;
    }
out:
    /* The library reports the failed read with its own message (what was
     * read, where); the Python exception waits for raise_vss. */
    if (done < 0) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (value && tb)
            PyException_SetTraceback(value, tb);
        if (value)
            pending_io_error_set(value);
        Py_XDECREF(type);
        Py_XDECREF(tb);
    }
    pthread_mutex_unlock(&c->lock);
    PyGILState_Release(g);
    return done;
}

static void pyfile_close(void *vctx)
{
    pyfile_ctx *c = vctx;
    PyGILState_STATE g = PyGILState_Ensure();
    Py_DECREF(c->fo);
    PyGILState_Release(g);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static const vss_source_ops pyfile_ops = {pyfile_read_at, pyfile_close};

/* The size of a file-like object: get_size() (dfVFS), else seek to the
 * end and tell() or get_offset(). */
static int pyfile_size(PyObject *fo, uint64_t *size)
{
    PyObject *r;
    if (PyObject_HasAttrString(fo, "get_size")) {
        r = PyObject_CallMethod(fo, "get_size", NULL);
    } else {
        r = PyObject_CallMethod(fo, "seek", "ii", 0, 2);
        if (!r)
            return -1;
        Py_DECREF(r);
        r = PyObject_CallMethod(fo, PyObject_HasAttrString(fo, "tell")
                                        ? "tell" : "get_offset", NULL);
    }
    if (!r)
        return -1;
    *size = PyLong_AsUnsignedLongLong(r);
    Py_DECREF(r);
    return PyErr_Occurred() ? -1 : 0;
}

/* A new vss_source over a Python file-like object. */
static vss_source *source_from_file(PyObject *fo, PyObject *size_obj,
                                    const char *name)
{
    uint64_t size = 0;
    vss_source *src = NULL;
    vss_error e = {0};
    int rc;
    if (!PyObject_HasAttrString(fo, "read") ||
        !PyObject_HasAttrString(fo, "seek")) {
        PyErr_SetString(PyExc_TypeError,
                        "expected a path or a file-like object with read() "
                        "and seek()");
        return NULL;
    }
    if (size_obj && size_obj != Py_None) {
        size = PyLong_AsUnsignedLongLong(size_obj);
        if (PyErr_Occurred())
            return NULL;
    } else if (pyfile_size(fo, &size) < 0) {
        return NULL;
    }
    pyfile_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return (vss_source *)PyErr_NoMemory();
    Py_INCREF(fo);
    c->fo = fo;
    pthread_mutex_init(&c->lock, NULL);
    rc = vss_source_new(&pyfile_ops, c, size, name, &src, &e); /* owns c */
    if (rc) {
        raise_vss(rc, &e);
        return NULL;
    }
    return src;
}

/* A source from a Source object or a file-like object: a new reference. */
static vss_source *source_arg(PyObject *o)
{
    if (PyObject_TypeCheck(o, &SourceType)) {
        vss_source_retain(((SourceObject *)o)->src);
        return ((SourceObject *)o)->src;
    }
    return source_from_file(o, NULL, "file object");
}

static int Source_init(SourceObject *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = {"fileobj", "size", "name", NULL};
    PyObject *fo, *size = NULL;
    const char *name = "file object";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Os", kwl, &fo, &size, &name))
        return -1;
    if (self->src)
        vss_source_release(self->src);
    self->src = source_from_file(fo, size, name);
    return self->src ? 0 : -1;
}

static void Source_dealloc(SourceObject *self)
{
    if (self->src)
        vss_source_release(self->src);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int source_ok(SourceObject *self)
{
    if (!self->src) {
        PyErr_SetString(PyExc_ValueError, "uninitialised Source");
        return 0;
    }
    return 1;
}

static PyObject *Source_get_size(SourceObject *self, void *c)
{
    return source_ok(self) ? u64(vss_source_size(self->src)) : NULL;
}

static PyObject *Source_get_name(SourceObject *self, void *c)
{
    return source_ok(self) ? str(vss_source_name(self->src)) : NULL;
}

static PyObject *Source_read_at(SourceObject *self, PyObject *args)
{
    unsigned long long off;
    Py_ssize_t len;
    int64_t got;
    if (!source_ok(self) || !PyArg_ParseTuple(args, "Kn", &off, &len))
        return NULL;
    if (len < 0)
        return PyErr_Format(PyExc_ValueError, "negative size");
    PyObject *b = PyBytes_FromStringAndSize(NULL, len);
    if (!b)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    got = vss_source_read_at(self->src, PyBytes_AS_STRING(b), (size_t)len, off);
    Py_END_ALLOW_THREADS
    if (got < 0) {
        Py_DECREF(b);
        vss_error e = {0};
        if (vss_source_container_error(self->src, &e) == VSS_OK && e.code)
            return raise_vss((int)got, &e);
        return raise_msg((int)got, "read failed");
    }
    if (got < len && _PyBytes_Resize(&b, (Py_ssize_t)got) < 0)
        return NULL;
    return b;
}

static PyObject *Source_partitions(SourceObject *self, PyObject *unused)
{
    vss_partition *parts = NULL;
    size_t n = 0;
    vss_error e = {0};
    int rc;
    if (!source_ok(self))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_disk_scan(self->src, &parts, &n, &e);
    Py_END_ALLOW_THREADS
    if (rc)
        return raise_vss(rc, &e);
    PyObject *l = LIST_OF(parts, n, partition_at);
    vss_partitions_free(parts);
    return l;
}

static PyObject *Source_range(SourceObject *self, PyObject *args)
{
    unsigned long long off, size = UINT64_MAX;
    vss_source *out = NULL;
    vss_error e = {0};
    int rc;
    if (!source_ok(self) || !PyArg_ParseTuple(args, "K|K", &off, &size))
        return NULL;
    if (size == UINT64_MAX) {
        uint64_t all = vss_source_size(self->src);
        size = off < all ? all - off : 0;
    }
    rc = vss_source_open_range(self->src, off, size, &out, &e);
    return rc ? raise_vss(rc, &e) : source_wrap(out);
}

static PyObject *Source_container_info(SourceObject *self, PyObject *unused)
{
    vss_container_info ci;
    vss_error e = {0};
    int rc;
    if (!source_ok(self))
        return NULL;
    memset(&ci, 0, sizeof ci);
    rc = vss_source_container_info(self->src, &ci, &e);
    if (rc)
        return raise_vss(rc, &e);
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    const struct { const char *key; PyObject *value; } items[] = {
        {"type", PyUnicode_FromString(vss_container_type_name(ci.type))},
        {"format", str(ci.format)},
        {"segments", u64(ci.segments)},
        {"media_size", u64(ci.media_size)},
        {"stored_size", u64(ci.stored_size)},
        {"chunk_size", u64(ci.chunk_size)},
        {"sector_size", u64(ci.sector_size)},
        {"compressed", bool_obj(ci.compressed)},
        {"has_backing", bool_obj(ci.has_backing)},
        {"backing_name", str(ci.backing_name)},
        {"case_number", str(ci.case_number)},
        {"evidence_number", str(ci.evidence_number)},
        {"description", str(ci.description)},
        {"examiner", str(ci.examiner)},
        {"notes", str(ci.notes)},
        {"acquiry_date", str(ci.acquiry_date)},
        {"system_date", str(ci.system_date)},
        {"acquiry_os", str(ci.acquiry_os)},
        {"acquiry_software", str(ci.acquiry_software)},
        {"model", str(ci.model)},
        {"serial_number", str(ci.serial_number)},
        {"md5", ci.has_md5 ? PyBytes_FromStringAndSize((char *)ci.md5, 16)
                           : none()},
        {"sha1", ci.has_sha1 ? PyBytes_FromStringAndSize((char *)ci.sha1, 20)
                             : none()}};
    size_t i;
    int failed = 0;
    for (i = 0; i < sizeof items / sizeof items[0]; i++) {
        if (!items[i].value || PyDict_SetItemString(d, items[i].key,
                                                    items[i].value) < 0)
            failed = 1;
        Py_XDECREF(items[i].value);
    }
    if (failed)
        Py_CLEAR(d);
    return d;
}

/* verify(): every byte read and hashed with the GIL released. */
static PyObject *Source_verify(SourceObject *self, PyObject *unused)
{
    vss_verify_result res;
    vss_error e = {0};
    int rc;
    if (!source_ok(self))
        return NULL;
    memset(&res, 0, sizeof res);
    Py_BEGIN_ALLOW_THREADS
    rc = vss_source_verify(self->src, &res, NULL, NULL, &e);
    Py_END_ALLOW_THREADS
    if (rc)
        return raise_vss(rc, &e);
    return Py_BuildValue("{sKsy#sy#sOsOsOsO}", "bytes",
                         (unsigned long long)res.bytes, "md5", res.md5,
                         (Py_ssize_t)16, "sha1", res.sha1, (Py_ssize_t)20,
                         "md5_stored", res.md5_stored ? Py_True : Py_False,
                         "sha1_stored", res.sha1_stored ? Py_True : Py_False,
                         "md5_match", res.md5_match ? Py_True : Py_False,
                         "sha1_match", res.sha1_match ? Py_True : Py_False);
}

static PyMethodDef Source_methods[] = {
    {"read_at", (PyCFunction)Source_read_at, METH_VARARGS,
     "read_at(offset, size) -> bytes (short only at the end)"},
    {"partitions", (PyCFunction)Source_partitions, METH_NOARGS,
     "The volumes of this disk image (MBR, GPT or a bare volume)."},
    {"range", (PyCFunction)Source_range, METH_VARARGS,
     "range(offset, size=None) -> Source of bytes [offset, offset+size)"},
    {"container_info", (PyCFunction)Source_container_info, METH_NOARGS,
     "What container an image was opened from (dict)."},
    {"verify", (PyCFunction)Source_verify, METH_NOARGS,
     "Read and hash every byte; compare with the container's hashes."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Source_getset[] = {
    {"size", (getter)Source_get_size, NULL, "bytes", NULL},
    {"name", (getter)Source_get_name, NULL, "name", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject SourceType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyvss.Source",
    .tp_basicsize = sizeof(SourceObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Source(fileobj, size=None, name='file object'): bytes read "
              "through a Python file-like object (read, seek; tell, "
              "get_offset or get_size). pyvss.open_image(path) opens an "
              "image in any container.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Source_init,
    .tp_dealloc = (destructor)Source_dealloc,
    .tp_methods = Source_methods,
    .tp_getset = Source_getset,
};

static PyObject *mod_open_image(PyObject *m, PyObject *args, PyObject *kw)
{
    static char *kwl[] = {"path", "backing", NULL};
    PyObject *path = NULL, *backing = NULL;
    vss_image_options opts = {0};
    vss_source *src = NULL;
    vss_error e = {0};
    int rc;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O&", kwl,
                                     PyUnicode_FSConverter, &path,
                                     opt_path, &backing))
        return NULL;
    opts.backing_path = backing ? PyBytes_AS_STRING(backing) : NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_source_open_image(PyBytes_AS_STRING(path), &opts, &src, &e);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    Py_XDECREF(backing);
    return rc ? raise_vss(rc, &e) : source_wrap(src);
}

/* ===== Volume ============================================================== */

typedef struct {
    PyObject_HEAD
    vss_volume *v;
    vss_source *src;   /* the volume's bytes (retained) */
    PyObject *owner;   /* the VolumeSet that owns v, or NULL (v is ours) */
    PyThread_type_lock lock; /* ours, when owner is NULL (volume_lock) */
} VolumeObject;

static PyTypeObject VolumeType, SnapshotType, FSType, FileType, MapIterType;

typedef struct {
    PyObject_HEAD
    vss_volume_set *set;
    PyThread_type_lock lock; /* the metadata lock of all its volumes */
} VolumeSetObject;

static PyTypeObject VolumeSetType;

/* The library lets reads run in parallel but wants opening snapshots,
 * loading stores and attaching storage kept apart from each other and
 * from the listing (vss.h: "opening and closing must not race"): those
 * calls take the volume's metadata lock (its VolumeSet's for a volume of
 * a set, which wraps one vss_volume in as many Volume objects as asked).
 * Taken with the GIL released: a Python file-object source needs it. */
static PyThread_type_lock volume_lock(VolumeObject *self)
{
    return self->owner ? ((VolumeSetObject *)self->owner)->lock : self->lock;
}

#define WITH_VOLUME_LOCK(self, stmt)                                           \
    do {                                                                       \
        PyThread_type_lock lk_ = volume_lock(self);                            \
        Py_BEGIN_ALLOW_THREADS                                                 \
        PyThread_acquire_lock(lk_, WAIT_LOCK);                                 \
        stmt;                                                                  \
        PyThread_release_lock(lk_);                                            \
        Py_END_ALLOW_THREADS                                                   \
    } while (0)

static int Volume_init(VolumeObject *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = {"source", NULL};
    PyObject *o;
    vss_error e = {0};
    int rc;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O", kwl, &o))
        return -1;
    if (self->v || self->src) {
        PyErr_SetString(PyExc_ValueError, "Volume already initialised");
        return -1;
    }
    if (!(self->lock = PyThread_allocate_lock())) {
        PyErr_NoMemory();
        return -1;
    }
    if (!(self->src = source_arg(o)))
        return -1;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_volume_open(self->src, &self->v, &e);
    Py_END_ALLOW_THREADS
    if (rc) {
        raise_vss(rc, &e);
        return -1;
    }
    return 0;
}

static void Volume_dealloc(VolumeObject *self)
{
    if (self->v && !self->owner)
        vss_volume_close(self->v);
    if (self->lock)
        PyThread_free_lock(self->lock);
    if (self->src)
        vss_source_release(self->src);
    Py_XDECREF(self->owner);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int volume_ok(VolumeObject *self)
{
    if (!self->v) {
        PyErr_SetString(PyExc_ValueError, "uninitialised Volume");
        return 0;
    }
    return 1;
}

#define VOL_GETTER(name, expr)                                                 \
    static PyObject *Volume_get_##name(VolumeObject *self, void *c)            \
    {                                                                          \
        if (!volume_ok(self))                                                  \
            return NULL;                                                       \
        return expr;                                                           \
    }
VOL_GETTER(has_vss, bool_obj(vss_volume_has_vss(self->v)))
VOL_GETTER(is_redirected, bool_obj(vss_volume_is_redirected(self->v)))
VOL_GETTER(storage_ready, bool_obj(vss_volume_storage_ready(self->v)))
VOL_GETTER(header_version, u64(vss_volume_header_version(self->v)))
VOL_GETTER(max_diff_area, u64(vss_volume_max_diff_area(self->v)))
VOL_GETTER(snapshot_count, PyLong_FromLong(vss_volume_snapshot_count(self->v)))
VOL_GETTER(size, u64(vss_source_size(self->src)))

static PyObject *Volume_get_guid(VolumeObject *self, void *c)
{
    uint8_t g[16];
    if (!volume_ok(self))
        return NULL;
    vss_volume_guid(self->v, g);
    return guid_str(g);
}

static PyObject *Volume_get_storage_guid(VolumeObject *self, void *c)
{
    uint8_t g[16];
    if (!volume_ok(self))
        return NULL;
    vss_volume_storage_guid(self->v, g);
    return guid_str(g);
}

static PyObject *Volume_get_source(VolumeObject *self, void *c)
{
    if (!volume_ok(self))
        return NULL;
    vss_source_retain(self->src);
    return source_wrap(self->src);
}

static Py_ssize_t Volume_len(VolumeObject *self)
{
    return volume_ok(self) ? vss_volume_snapshot_count(self->v) : -1;
}

static PyObject *Volume_snapshot_info(VolumeObject *self, PyObject *args)
{
    int index, rc;
    vss_snapshot_info si;
    vss_error e = {0};
    if (!volume_ok(self) || !PyArg_ParseTuple(args, "i", &index))
        return NULL;
    WITH_VOLUME_LOCK(self, rc = vss_volume_snapshot_info(self->v, index, &si, &e));
    return rc ? raise_vss(rc, &e) : snapshot_info_obj(&si);
}

static PyObject *Volume_load_stores(VolumeObject *self, PyObject *unused)
{
    vss_error e = {0};
    int rc;
    if (!volume_ok(self))
        return NULL;
    WITH_VOLUME_LOCK(self, rc = vss_volume_load_stores(self->v, &e));
    if (rc)
        return raise_vss(rc, &e);
    Py_RETURN_NONE;
}

static PyObject *Volume_attach_storage(VolumeObject *self, PyObject *args)
{
    PyObject *o;
    vss_source *st;
    vss_error e = {0};
    int rc;
    if (!volume_ok(self) || !PyArg_ParseTuple(args, "O", &o))
        return NULL;
    if (!(st = source_arg(o)))
        return NULL;
    WITH_VOLUME_LOCK(self, rc = vss_volume_attach_storage(self->v, st, &e));
    vss_source_release(st);
    if (rc)
        return raise_vss(rc, &e);
    Py_RETURN_NONE;
}

/* ===== readers: Snapshot and File share their file-object methods ========= */

typedef struct Reader Reader;
struct Reader {
    PyObject_HEAD
    int64_t (*read_at)(Reader *r, void *buf, size_t len, uint64_t off,
                       vss_error *e);
    void (*free_handle)(Reader *r);
    uint64_t size;
    uint64_t pos;       /* the file position read()/seek()/tell() share */
    int inflight;       /* reads running with the GIL released */
    int closed;
    int freed;
};

/* Start a read: refuse a closed object, count the read (under the GIL). */
static int reader_begin(Reader *r)
{
    if (r->closed) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on closed file");
        return -1;
    }
    r->inflight++;
    return 0;
}

static void reader_free(Reader *r)
{
    if (!r->freed) {
        r->freed = 1;
        r->free_handle(r);
    }
}

static void reader_end(Reader *r)
{
    if (--r->inflight == 0 && r->closed)
        reader_free(r);
}

/* Read up to len bytes at off into buf, the GIL released; -1 with an
 * exception set on failure. */
static int64_t reader_pread(Reader *r, void *buf, size_t len, uint64_t off)
{
    vss_error e = {0};
    int64_t got = 0;
    if (reader_begin(r) < 0)
        return -1;
    if (off < r->size) {
        if (len > r->size - off)
            len = (size_t)(r->size - off);
        Py_BEGIN_ALLOW_THREADS
        got = r->read_at(r, buf, len, off, &e);
        Py_END_ALLOW_THREADS
    }
    reader_end(r);
    if (got < 0) {
        raise_vss((int)got, &e);
        return -1;
    }
    return got;
}

static PyObject *reader_read_bytes(Reader *r, uint64_t off, Py_ssize_t len,
                                   int advance)
{
    if (r->closed) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on closed file");
        return NULL;
    }
    if (len < 0)
        len = off < r->size ? (Py_ssize_t)(r->size - off) : 0;
    if (off >= r->size)
        len = 0;
    else if ((uint64_t)len > r->size - off)
        len = (Py_ssize_t)(r->size - off);
    PyObject *b = PyBytes_FromStringAndSize(NULL, len);
    if (!b)
        return NULL;
    int64_t got = len ? reader_pread(r, PyBytes_AS_STRING(b), (size_t)len, off)
                      : 0;
    if (got < 0) {
        Py_DECREF(b);
        return NULL;
    }
    if (got < len && _PyBytes_Resize(&b, (Py_ssize_t)got) < 0)
        return NULL;
    if (advance)
        r->pos = off + (uint64_t)got;
    return b;
}

/* The size argument of read(): -1 or None for everything left. */
static int size_arg(PyObject *o, Py_ssize_t *n)
{
    if (!o || o == Py_None) {
        *n = -1;
        return 0;
    }
    *n = PyNumber_AsSsize_t(o, PyExc_OverflowError);
    return *n == -1 && PyErr_Occurred() ? -1 : 0;
}

static PyObject *Reader_read(Reader *r, PyObject *args)
{
    PyObject *o = NULL;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "|O", &o) || size_arg(o, &n) < 0)
        return NULL;
    return reader_read_bytes(r, r->pos, n, 1);
}

static PyObject *Reader_readall(Reader *r, PyObject *unused)
{
    return reader_read_bytes(r, r->pos, -1, 1);
}

static PyObject *Reader_read_at(Reader *r, PyObject *args)
{
    unsigned long long off;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "Kn", &off, &n))
        return NULL;
    if (n < 0)
        return PyErr_Format(PyExc_ValueError, "negative size");
    return reader_read_bytes(r, off, n, 0);
}

static PyObject *Reader_readinto(Reader *r, PyObject *args)
{
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "w*", &view))
        return NULL;
    int64_t got = reader_pread(r, view.buf, (size_t)view.len, r->pos);
    PyBuffer_Release(&view);
    if (got < 0)
        return NULL;
    r->pos += (uint64_t)got;
    return PyLong_FromLongLong(got);
}

/* seek(offset, whence=0): a negative result or an unknown whence raises
 * pyvss.Error (an OSError) and leaves the position as it was; past the
 * end is allowed (reads there return b""). */
static PyObject *Reader_seek(Reader *r, PyObject *args)
{
    long long off;
    int whence = 0;
    long long base;
    if (!PyArg_ParseTuple(args, "L|i", &off, &whence))
        return NULL;
    if (r->closed) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on closed file");
        return NULL;
    }
    switch (whence) {
    case 0: base = 0; break;
    case 1: base = (long long)r->pos; break;
    case 2: base = (long long)r->size; break;
    default: {
        char m[80];
        snprintf(m, sizeof m, "seek: unknown whence %d", whence);
        return raise_msg(VSS_EINVAL, m);
    }
    }
    if ((off < 0 && base + off < 0) || (off > 0 && base > LLONG_MAX - off)) {
        char m[96];
        snprintf(m, sizeof m, "seek: offset %lld from %lld is out of range",
                 off, base);
        return raise_msg(VSS_EINVAL, m);
    }
    r->pos = (uint64_t)(base + off);
    return PyLong_FromUnsignedLongLong(r->pos);
}

static PyObject *Reader_tell(Reader *r, PyObject *unused)
{
    return PyLong_FromUnsignedLongLong(r->pos);
}

static PyObject *Reader_true(Reader *r, PyObject *unused)
{
    if (r->closed) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on closed file");
        return NULL;
    }
    Py_RETURN_TRUE;
}

static PyObject *Reader_false(Reader *r, PyObject *unused)
{
    Py_RETURN_FALSE;
}

static PyObject *Reader_close(Reader *r, PyObject *unused)
{
    if (!r->closed) {
        r->closed = 1;
        if (r->inflight == 0)
            reader_free(r);
    }
    Py_RETURN_NONE;
}

static PyObject *Reader_enter(Reader *r, PyObject *unused)
{
    if (r->closed) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on closed file");
        return NULL;
    }
    Py_INCREF(r);
    return (PyObject *)r;
}

static PyObject *Reader_exit(Reader *r, PyObject *args)
{
    return Reader_close(r, NULL);
}

static PyObject *Reader_get_size(Reader *r, void *c)
{
    return PyLong_FromUnsignedLongLong(r->size);
}

static PyObject *Reader_get_closed(Reader *r, void *c)
{
    return bool_obj(r->closed);
}

#define READER_METHODS                                                         \
    {"read", (PyCFunction)Reader_read, METH_VARARGS,                           \
     "read(size=-1) -> bytes from the position (b'' at or past the end)"},     \
    {"readall", (PyCFunction)Reader_readall, METH_NOARGS,                      \
     "Everything from the position to the end."},                             \
    {"readinto", (PyCFunction)Reader_readinto, METH_VARARGS,                   \
     "readinto(buffer) -> number of bytes read"},                              \
    {"read_at", (PyCFunction)Reader_read_at, METH_VARARGS,                     \
     "read_at(offset, size) -> bytes; leaves the position alone (safe to "     \
     "call from several threads)"},                                            \
    {"seek", (PyCFunction)Reader_seek, METH_VARARGS,                           \
     "seek(offset, whence=0) -> new position"},                                \
    {"tell", (PyCFunction)Reader_tell, METH_NOARGS, "the position"},           \
    {"readable", (PyCFunction)Reader_true, METH_NOARGS, NULL},                 \
    {"seekable", (PyCFunction)Reader_true, METH_NOARGS, NULL},                 \
    {"writable", (PyCFunction)Reader_false, METH_NOARGS, NULL},                \
    {"isatty", (PyCFunction)Reader_false, METH_NOARGS, NULL},                  \
    {"close", (PyCFunction)Reader_close, METH_NOARGS, NULL},                   \
    {"__enter__", (PyCFunction)Reader_enter, METH_NOARGS, NULL},               \
    {"__exit__", (PyCFunction)Reader_exit, METH_VARARGS, NULL}

#define READER_GETSET                                                          \
    {"size", (getter)Reader_get_size, NULL, "bytes", NULL},                    \
    {"closed", (getter)Reader_get_closed, NULL, NULL, NULL}

/* ===== Snapshot ============================================================ */

typedef struct {
    Reader r;
    vss_snapshot *s;
    int index;
    PyObject *volume;
} SnapshotObject;

static int64_t snapshot_read(Reader *r, void *buf, size_t len, uint64_t off,
                             vss_error *e)
{
    return vss_snapshot_read_at(((SnapshotObject *)r)->s, buf, len, off, e);
}

static void snapshot_free(Reader *r)
{
    SnapshotObject *so = (SnapshotObject *)r;
    vss_snapshot_close(so->s);
    so->s = NULL;
}

static const char *const fill_names[] = {"windows", "zero", "live"};

static PyObject *Volume_open_snapshot(VolumeObject *self, PyObject *args,
                                      PyObject *kw)
{
    static char *kwl[] = {"index", "fill", NULL};
    int index, rc, fill = -1, i;
    const char *fill_name = "windows";
    vss_snapshot *s = NULL;
    vss_error e = {0};
    if (!volume_ok(self) ||
        !PyArg_ParseTupleAndKeywords(args, kw, "i|s", kwl, &index, &fill_name))
        return NULL;
    for (i = 0; i < NITEMS(fill_names); i++)
        if (strcmp(fill_name, fill_names[i]) == 0)
            fill = i;
    if (fill < 0)
        return PyErr_Format(PyExc_ValueError,
                            "fill must be 'windows', 'zero' or 'live'");
    WITH_VOLUME_LOCK(self, rc = vss_snapshot_open(self->v, index,
                                                  (vss_fill)fill, &s, &e));
    if (rc)
        return raise_vss(rc, &e);
    SnapshotObject *so = PyObject_New(SnapshotObject, &SnapshotType);
    if (!so) {
        vss_snapshot_close(s);
        return NULL;
    }
    memset((char *)so + sizeof(PyObject), 0, sizeof *so - sizeof(PyObject));
    so->r.read_at = snapshot_read;
    so->r.free_handle = snapshot_free;
    so->r.size = vss_snapshot_size(s);
    so->s = s;
    so->index = index;
    Py_INCREF(self);
    so->volume = (PyObject *)self;
    return (PyObject *)so;
}

static void Snapshot_dealloc(SnapshotObject *self)
{
    reader_free(&self->r);
    Py_XDECREF(self->volume);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Snapshot_get_index(SnapshotObject *self, void *c)
{
    return PyLong_FromLong(self->index);
}

static PyObject *Snapshot_get_volume(SnapshotObject *self, void *c)
{
    Py_INCREF(self->volume);
    return self->volume;
}

static PyObject *Snapshot_get_info(SnapshotObject *self, void *c)
{
    PyObject *args = Py_BuildValue("(i)", self->index);
    if (!args)
        return NULL;
    PyObject *r = Volume_snapshot_info((VolumeObject *)self->volume, args);
    Py_DECREF(args);
    return r;
}

/* The provenance map as an iterator of Run: runs are fetched from
 * vss_snapshot_map a batch at a time (the callback stops the walk when the
 * batch is full; the next batch starts where the last run ended, and since
 * every run handed out is maximal nothing needs merging). */
#define MAP_BATCH 1024

typedef struct {
    PyObject_HEAD
    SnapshotObject *snap;
    uint64_t pos, end;
    vss_run runs[MAP_BATCH];
    size_t n, i;
} MapIterObject;

static int map_collect(const vss_run *run, void *user)
{
    MapIterObject *m = user;
    m->runs[m->n++] = *run;
    return m->n == MAP_BATCH ? 1 : 0;
}

static PyObject *Snapshot_map(SnapshotObject *self, PyObject *args,
                              PyObject *kw)
{
    static char *kwl[] = {"offset", "length", NULL};
    unsigned long long off = 0;
    PyObject *len_obj = Py_None;
    uint64_t len;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|KO", kwl, &off, &len_obj))
        return NULL;
    if (self->r.closed) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on closed file");
        return NULL;
    }
    if (len_obj == Py_None) {
        len = off < self->r.size ? self->r.size - off : 0;
    } else {
        len = PyLong_AsUnsignedLongLong(len_obj);
        if (PyErr_Occurred())
            return NULL;
    }
    MapIterObject *m = PyObject_New(MapIterObject, &MapIterType);
    if (!m)
        return NULL;
    Py_INCREF(self);
    m->snap = self;
    m->pos = off;
    m->end = off + len < off || off + len > self->r.size ? self->r.size
                                                        : off + len;
    m->n = m->i = 0;
    return (PyObject *)m;
}

static void MapIter_dealloc(MapIterObject *m)
{
    Py_XDECREF(m->snap);
    PyObject_Free(m);
}

static PyObject *MapIter_next(MapIterObject *m)
{
    if (m->i == m->n) {
        vss_error e = {0};
        int rc;
        if (m->pos >= m->end)
            return NULL;
        if (reader_begin(&m->snap->r) < 0)
            return NULL;
        m->n = m->i = 0;
        Py_BEGIN_ALLOW_THREADS
        rc = vss_snapshot_map(m->snap->s, m->pos, m->end - m->pos,
                              map_collect, m, &e);
        Py_END_ALLOW_THREADS
        reader_end(&m->snap->r);
        if (rc < 0)
            return raise_vss(rc, &e);
        if (m->n == 0) {
            m->pos = m->end;
            return NULL;
        }
        m->pos = m->runs[m->n - 1].offset + m->runs[m->n - 1].length;
    }
    return run_obj(&m->runs[m->i++]);
}

static PyTypeObject MapIterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyvss.MapIterator",
    .tp_basicsize = sizeof(MapIterObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)MapIter_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)MapIter_next,
};

/* ===== FS: the NTFS file system of a snapshot or a live volume ============ */

typedef struct {
    PyObject_HEAD
    vss_fs *fs;
    vss_snapshot *snap;   /* for provenance; kept alive by snap_src */
    vss_source *snap_src; /* the snapshot's source (NULL: a live volume) */
    PyObject *owner;      /* the Snapshot or Volume it was opened from */
    int closed;           /* close(): no new calls; the mount is released
                             when the last File opened from it is gone */
} FSObject;

static PyObject *fs_new(vss_source *src, vss_snapshot *snap, PyObject *owner)
{
    vss_fs *fs = NULL;
    vss_error e = {0};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_open(src, &fs, &e);
    Py_END_ALLOW_THREADS
    if (rc)
        return raise_vss(rc, &e);
    FSObject *o = PyObject_New(FSObject, &FSType);
    if (!o) {
        vss_fs_close(fs);
        return NULL;
    }
    o->fs = fs;
    o->closed = 0;
    o->snap = snap;
    o->snap_src = NULL;
    if (snap) {
        vss_source_retain(src);
        o->snap_src = src;
    }
    Py_INCREF(owner);
    o->owner = owner;
    return (PyObject *)o;
}

static PyObject *Snapshot_open_fs(SnapshotObject *self, PyObject *unused)
{
    vss_source *src = NULL;
    vss_error e = {0};
    int rc;
    if (reader_begin(&self->r) < 0)
        return NULL;
    rc = vss_snapshot_source(self->s, &src, &e);
    reader_end(&self->r);
    if (rc)
        return raise_vss(rc, &e);
    /* The source holds a reference on the snapshot: the file system and
     * its provenance stay valid after this object is closed. */
    PyObject *r = fs_new(src, self->s, (PyObject *)self);
    vss_source_release(src);
    return r;
}

static PyObject *Volume_open_fs(VolumeObject *self, PyObject *unused)
{
    if (!volume_ok(self))
        return NULL;
    return fs_new(self->src, NULL, (PyObject *)self);
}

static void FS_dealloc(FSObject *self)
{
    if (self->fs)
        vss_fs_close(self->fs);
    if (self->snap_src)
        vss_source_release(self->snap_src);
    Py_XDECREF(self->owner);
    PyObject_Free(self);
}

static int fs_ok(FSObject *self)
{
    if (self->closed) {
        PyErr_SetString(PyExc_ValueError, "file system closed");
        return 0;
    }
    return 1;
}

/* Files hold a reference on this object (they need its vss_fs for their
 * provenance), so the mount itself is released in FS_dealloc. */
static PyObject *FS_close(FSObject *self, PyObject *unused)
{
    self->closed = 1;
    Py_RETURN_NONE;
}

static PyObject *FS_stat(FSObject *self, PyObject *args)
{
    const char *path;
    vss_fs_stat st;
    vss_error e = {0};
    int rc;
    if (!fs_ok(self) || !PyArg_ParseTuple(args, "s", &path))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_stat_path(self->fs, path, &st, &e);
    Py_END_ALLOW_THREADS
    return rc ? raise_vss(rc, &e) : stat_obj(&st);
}

static PyObject *entry_at(const void *ctx, size_t i)
{
    const vss_fs_entry *en = (const vss_fs_entry *)ctx + i;
    PyObject *items[] = {str(en->name),
                         en->stat_rc ? none() : stat_obj(&en->st),
                         PyLong_FromLong(en->stat_rc), u64(en->st.mft_record),
                         PyLong_FromLong(en->st.sequence)};
    return make_seq(&EntryType, items, NITEMS(items));
}

static PyObject *stream_at(const void *ctx, size_t i)
{
    const vss_fs_stream *st = (const vss_fs_stream *)ctx + i;
    PyObject *items[] = {str(st->name), u64(st->size),
                         u64(st->allocated_size), bool_obj(st->resident)};
    return make_seq(&StreamType, items, NITEMS(items));
}

static PyObject *attr_at(const void *ctx, size_t i)
{
    const vss_fs_attr *a = (const vss_fs_attr *)ctx + i;
    PyObject *items[] = {u64(a->type), PyLong_FromLong(a->id),
                         PyLong_FromLong(a->name_space), bool_obj(a->resident),
                         str(a->name), u64(a->size), u64(a->allocated_size)};
    return make_seq(&AttrType, items, NITEMS(items));
}

static PyObject *FS_listdir(FSObject *self, PyObject *args)
{
    const char *path = "/";
    vss_fs_entry *ents = NULL;
    size_t n = 0;
    vss_error e = {0};
    int rc;
    if (!fs_ok(self) || !PyArg_ParseTuple(args, "|s", &path))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_list(self->fs, path, &ents, &n, &e);
    Py_END_ALLOW_THREADS
    if (rc)
        return raise_vss(rc, &e);
    PyObject *l = LIST_OF(ents, n, entry_at);
    vss_fs_entries_free(ents, n);
    return l;
}

static PyObject *FS_streams(FSObject *self, PyObject *args)
{
    const char *path;
    vss_fs_stream *ss = NULL;
    size_t n = 0;
    vss_error e = {0};
    int rc;
    if (!fs_ok(self) || !PyArg_ParseTuple(args, "s", &path))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_streams(self->fs, path, &ss, &n, &e);
    Py_END_ALLOW_THREADS
    if (rc)
        return raise_vss(rc, &e);
    PyObject *l = LIST_OF(ss, n, stream_at);
    vss_fs_streams_free(ss, n);
    return l;
}

static PyObject *FS_attrs(FSObject *self, PyObject *args)
{
    const char *path;
    vss_fs_attr *as = NULL;
    size_t n = 0;
    vss_error e = {0};
    int rc;
    if (!fs_ok(self) || !PyArg_ParseTuple(args, "s", &path))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_attrs(self->fs, path, &as, &n, &e);
    Py_END_ALLOW_THREADS
    if (rc)
        return raise_vss(rc, &e);
    PyObject *l = LIST_OF(as, n, attr_at);
    vss_fs_attrs_free(as, n);
    return l;
}

/* walk(): the library walks with the GIL released; each entry takes the
 * GIL back to become a WalkEntry in the result list. */
typedef struct {
    PyObject *list;
    int failed;
} walk_ctx;

static int walk_cb(const vss_walk_entry *we, void *user)
{
    walk_ctx *w = user;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *items[] = {
        PyUnicode_FromString(walk_event_name(we->event)), str(we->path),
        str(we->relative), str(we->name), PyLong_FromLong(we->depth),
        we->st && we->event != VSS_WALK_BAD_ENTRY ? stat_obj(we->st) : none(),
        we->event == VSS_WALK_STREAM ? str(we->stream) : none(),
        we->event == VSS_WALK_STREAM ? u64(we->stream_size) : none(),
        we->event == VSS_WALK_STREAM ? bool_obj(we->stream_resident) : none(),
        PyLong_FromLong(we->error),
        we->message ? str(we->message) : none()};
    PyObject *o = make_seq(&WalkEntryType, items, NITEMS(items));
    if (!o || PyList_Append(w->list, o) < 0)
        w->failed = 1;
    Py_XDECREF(o);
    PyGILState_Release(g);
    return w->failed;
}

static PyObject *FS_walk(FSObject *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = {"path", "recursive", "streams", "skip_metadata",
                          "skip_shadow_files", "max_depth", "max_entries",
                          NULL};
    const char *path = "/";
    int recursive = 1, streams = 0, skip_meta = 0, skip_shadow = 0;
    int max_depth = 0;
    unsigned long long max_entries = 0;
    vss_error e = {0};
    int rc;
    if (!fs_ok(self) ||
        !PyArg_ParseTupleAndKeywords(args, kw, "|sppppiK", kwl, &path,
                                     &recursive, &streams, &skip_meta,
                                     &skip_shadow, &max_depth, &max_entries))
        return NULL;
    vss_fs_walk_options opts = {
        .flags = (recursive ? VSS_WALK_RECURSIVE : 0) |
                 (streams ? VSS_WALK_STREAMS : 0) |
                 (skip_meta ? VSS_WALK_SKIP_METADATA : 0) |
                 (skip_shadow ? VSS_WALK_SKIP_SHADOW_FILES : 0),
        .max_depth = max_depth,
        .max_entries = max_entries};
    walk_ctx w = {PyList_New(0), 0};
    if (!w.list)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_walk(self->fs, path, &opts, walk_cb, &w, &e);
    Py_END_ALLOW_THREADS
    if (w.failed) {
        Py_DECREF(w.list);
        return NULL;
    }
    if (rc) {
        Py_DECREF(w.list);
        return raise_vss(rc, &e);
    }
    PyObject *it = PyObject_GetIter(w.list);
    Py_DECREF(w.list);
    return it;
}

/* ===== File: an open stream of a file system =============================== */

typedef struct {
    Reader r;
    vss_fs_file *f;
    FSObject *fs;
    PyObject *path;   /* as opened: "PATH" or "PATH:STREAM" */
} FileObject;

static int64_t file_read(Reader *r, void *buf, size_t len, uint64_t off,
                         vss_error *e)
{
    return vss_fs_file_read_at(((FileObject *)r)->f, buf, len, off, e);
}

static void file_free(Reader *r)
{
    FileObject *fo = (FileObject *)r;
    vss_fs_file_close(fo->f);
    fo->f = NULL;
}

static PyObject *FS_open(FSObject *self, PyObject *args)
{
    PyObject *path;
    vss_fs_file *f = NULL;
    vss_error e = {0};
    int rc;
    if (!fs_ok(self) || !PyArg_ParseTuple(args, "U", &path))
        return NULL;
    const char *p = PyUnicode_AsUTF8(path);
    if (!p)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_file_open(self->fs, p, &f, &e);
    Py_END_ALLOW_THREADS
    if (rc)
        return raise_vss(rc, &e);
    FileObject *fo = PyObject_New(FileObject, &FileType);
    if (!fo) {
        vss_fs_file_close(f);
        return NULL;
    }
    memset((char *)fo + sizeof(PyObject), 0, sizeof *fo - sizeof(PyObject));
    fo->r.read_at = file_read;
    fo->r.free_handle = file_free;
    fo->r.size = vss_fs_file_size(f);
    fo->f = f;
    Py_INCREF(self);
    fo->fs = self;
    Py_INCREF(path);
    fo->path = path;
    return (PyObject *)fo;
}

static void File_dealloc(FileObject *self)
{
    reader_free(&self->r);
    Py_XDECREF(self->fs);
    Py_XDECREF(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *File_stat(FileObject *self, PyObject *unused)
{
    vss_fs_stat st;
    vss_error e = {0};
    int rc;
    if (reader_begin(&self->r) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_file_stat(self->f, &st, &e);
    Py_END_ALLOW_THREADS
    reader_end(&self->r);
    return rc ? raise_vss(rc, &e) : stat_obj(&st);
}

static PyObject *File_extents(FileObject *self, PyObject *unused)
{
    vss_fs_extent *x = NULL;
    size_t n = 0;
    vss_error e = {0};
    int rc;
    if (reader_begin(&self->r) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_file_extents(self->f, &x, &n, &e);
    Py_END_ALLOW_THREADS
    reader_end(&self->r);
    if (rc)
        return raise_vss(rc, &e);
    PyObject *t = extent_list(x, n);
    vss_fs_extents_free(x);
    return t;
}

/* The stream name inside "PATH:STREAM" (NULL for the unnamed $DATA), as
 * vss_fs_file_provenance wants it: the part after the first ':' up to an
 * optional ":$DATA". */
static char *stream_of(const char *path)
{
    const char *c = strchr(path, ':');
    if (!c)
        return NULL;
    char *s = strdup(c + 1);
    if (!s)
        return NULL;
    char *d = strchr(s, ':');
    if (d)
        *d = '\0';
    return s;
}

static PyObject *File_provenance(FileObject *self, PyObject *unused)
{
    vss_provenance p;
    vss_error e = {0};
    int rc;
    const char *path = PyUnicode_AsUTF8(self->path);
    if (!path)
        return NULL;
    char *stream = stream_of(path);
    if (reader_begin(&self->r) < 0) {
        free(stream);
        return NULL;
    }
    memset(&p, 0, sizeof p);
    Py_BEGIN_ALLOW_THREADS
    rc = vss_fs_file_provenance(self->fs->snap, self->fs->fs,
                                self->f, stream, &p, &e);
    Py_END_ALLOW_THREADS
    reader_end(&self->r);
    free(stream);
    if (rc)
        return raise_vss(rc, &e);
    PyObject *r = provenance_obj(&p);
    vss_provenance_free(&p);
    return r;
}

static PyObject *File_get_path(FileObject *self, void *c)
{
    Py_INCREF(self->path);
    return self->path;
}

static PyObject *File_get_compression_unit(FileObject *self, void *c)
{
    if (self->r.closed) {
        PyErr_SetString(PyExc_ValueError, "I/O operation on closed file");
        return NULL;
    }
    return u64(vss_fs_file_compression_unit(self->f));
}

static int add_seq(PyObject *m, PyTypeObject *t, PyStructSequence_Desc *d);
static int add_type(PyObject *m, PyTypeObject *t);

/* The audit and the diff, when the library has them. */
#include "audit.inc"
/* Every version of a file across the snapshots. */
#include "history.inc"

/* ===== type tables ========================================================= */

static PyMethodDef Volume_methods[] = {
    {"snapshot_info", (PyCFunction)Volume_snapshot_info, METH_VARARGS,
     "snapshot_info(index) -> SnapshotInfo (index 1 = oldest)"},
    {"open_snapshot", METH_KW(Volume_open_snapshot), METH_VARARGS | METH_KEYWORDS,
     "open_snapshot(index, fill='windows') -> Snapshot"},
    {"load_stores", (PyCFunction)Volume_load_stores, METH_NOARGS,
     "Read every store's block list and bitmaps now (changed_blocks)."},
    {"attach_storage", (PyCFunction)Volume_attach_storage, METH_VARARGS,
     "attach_storage(source): the volume holding redirected storage."},
    {"open_fs", (PyCFunction)Volume_open_fs, METH_NOARGS,
     "The live volume's NTFS file system (FS)."},
    AUDIT_VOLUME_METHODS
    HISTORY_VOLUME_METHODS
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Volume_getset[] = {
    {"has_vss", (getter)Volume_get_has_vss, NULL, NULL, NULL},
    {"is_redirected", (getter)Volume_get_is_redirected, NULL, NULL, NULL},
    {"storage_ready", (getter)Volume_get_storage_ready, NULL, NULL, NULL},
    {"header_version", (getter)Volume_get_header_version, NULL, NULL, NULL},
    {"max_diff_area", (getter)Volume_get_max_diff_area, NULL, NULL, NULL},
    {"snapshot_count", (getter)Volume_get_snapshot_count, NULL, NULL, NULL},
    {"size", (getter)Volume_get_size, NULL, NULL, NULL},
    {"guid", (getter)Volume_get_guid, NULL, NULL, NULL},
    {"storage_guid", (getter)Volume_get_storage_guid, NULL, NULL, NULL},
    {"source", (getter)Volume_get_source, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods Volume_seq = {.sq_length = (lenfunc)Volume_len};

static PyTypeObject VolumeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyvss.Volume",
    .tp_basicsize = sizeof(VolumeObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Volume(source): the VSS metadata of one NTFS volume; source "
              "is a Source or a file-like object holding the volume's bytes.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Volume_init,
    .tp_dealloc = (destructor)Volume_dealloc,
    .tp_methods = Volume_methods,
    .tp_getset = Volume_getset,
    .tp_as_sequence = &Volume_seq,
};

static PyMethodDef Snapshot_methods[] = {
    READER_METHODS,
    {"map", METH_KW(Snapshot_map), METH_VARARGS | METH_KEYWORDS,
     "map(offset=0, length=None) -> iterator of Run"},
    {"open_fs", (PyCFunction)Snapshot_open_fs, METH_NOARGS,
     "The snapshot's NTFS file system (FS)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Snapshot_getset[] = {
    READER_GETSET,
    {"index", (getter)Snapshot_get_index, NULL, NULL, NULL},
    {"volume", (getter)Snapshot_get_volume, NULL, NULL, NULL},
    {"info", (getter)Snapshot_get_info, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject SnapshotType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyvss.Snapshot",
    .tp_basicsize = sizeof(SnapshotObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A snapshot as Windows shows it, as a binary file object "
              "(Volume.open_snapshot).",
    .tp_dealloc = (destructor)Snapshot_dealloc,
    .tp_methods = Snapshot_methods,
    .tp_getset = Snapshot_getset,
    .tp_iter = NULL,
};

static PyObject *FS_get_cluster_size(FSObject *self, void *c)
{
    return fs_ok(self) ? u64(vss_fs_cluster_size(self->fs)) : NULL;
}

static PyObject *FS_get_record_size(FSObject *self, void *c)
{
    return fs_ok(self) ? u64(vss_fs_record_size(self->fs)) : NULL;
}

static PyObject *FS_enter(FSObject *self, PyObject *unused)
{
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *FS_exit(FSObject *self, PyObject *args)
{
    return FS_close(self, NULL);
}


static PyMethodDef FS_methods[] = {
    {"stat", (PyCFunction)FS_stat, METH_VARARGS, "stat(path) -> Stat"},
    {"listdir", (PyCFunction)FS_listdir, METH_VARARGS,
     "listdir(path='/') -> [Entry] in NTFS collation order"},
    {"streams", (PyCFunction)FS_streams, METH_VARARGS,
     "streams(path) -> [Stream]"},
    {"attrs", (PyCFunction)FS_attrs, METH_VARARGS, "attrs(path) -> [Attr]"},
    {"walk", METH_KW(FS_walk), METH_VARARGS | METH_KEYWORDS,
     "walk(path='/', recursive=True, streams=False, skip_metadata=False, "
     "skip_shadow_files=False, max_depth=0, max_entries=0) -> iterator of "
     "WalkEntry"},
    {"open", (PyCFunction)FS_open, METH_VARARGS,
     "open(path) -> File; 'PATH:STREAM' opens a named stream"},
    {"close", (PyCFunction)FS_close, METH_NOARGS, NULL},
    {"__enter__", (PyCFunction)FS_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)FS_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef FS_getset[] = {
    {"cluster_size", (getter)FS_get_cluster_size, NULL, NULL, NULL},
    {"record_size", (getter)FS_get_record_size, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject FSType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyvss.FS",
    .tp_basicsize = sizeof(FSObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The NTFS file system of a snapshot (Snapshot.open_fs) or of "
              "the live volume (Volume.open_fs).",
    .tp_dealloc = (destructor)FS_dealloc,
    .tp_methods = FS_methods,
    .tp_getset = FS_getset,
};

static PyMethodDef File_methods[] = {
    READER_METHODS,
    {"stat", (PyCFunction)File_stat, METH_NOARGS, "stat() -> Stat"},
    {"extents", (PyCFunction)File_extents, METH_NOARGS,
     "extents() -> (Extent, ...) covering the stream"},
    {"provenance", (PyCFunction)File_provenance, METH_NOARGS,
     "provenance() -> Provenance (status, lost ranges, key)"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef File_getset[] = {
    READER_GETSET,
    {"path", (getter)File_get_path, NULL, NULL, NULL},
    {"compression_unit", (getter)File_get_compression_unit, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject FileType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyvss.File",
    .tp_basicsize = sizeof(FileObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An open stream of a file, as a binary file object (FS.open).",
    .tp_dealloc = (destructor)File_dealloc,
    .tp_methods = File_methods,
    .tp_getset = File_getset,
};

/* ===== VolumeSet =========================================================== */


static int VolumeSet_init(VolumeSetObject *self, PyObject *args, PyObject *kw)
{
    static char *kwl[] = {"images", "backing", "offset", NULL};
    PyObject *images, *backing = NULL, *seq;
    long long offset = -1;
    PyObject *offset_obj = Py_None;
    vss_error e = {0};
    Py_ssize_t n, i;
    int rc = -1;
    if (self->set) {
        PyErr_SetString(PyExc_ValueError, "VolumeSet already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O&O", kwl, &images,
                                     opt_path, &backing,
                                     &offset_obj))
        return -1;
    if (offset_obj != Py_None) {
        offset = PyLong_AsLongLong(offset_obj);
        if (offset == -1 && PyErr_Occurred())
            goto out_backing;
    }
    if (!(seq = PySequence_Fast(images, "images must be a list of paths")))
        goto out_backing;
    n = PySequence_Fast_GET_SIZE(seq);
    PyObject **enc = calloc((size_t)n + 1, sizeof *enc);
    const char **paths = calloc((size_t)n + 1, sizeof *paths);
    if (!enc || !paths) {
        PyErr_NoMemory();
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(seq, i), &enc[i]))
            goto out;
        paths[i] = PyBytes_AS_STRING(enc[i]);
    }
    vss_volume_set_options opts = {
        .backing_path = backing ? PyBytes_AS_STRING(backing) : NULL,
        .offset = offset};
    if (!(self->lock = PyThread_allocate_lock())) {
        PyErr_NoMemory();
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = vss_volume_set_open(paths, (size_t)n, &opts, &self->set, &e);
    Py_END_ALLOW_THREADS
    if (rc) {
        raise_vss(rc, &e);
        rc = -1;
    }
out:
    if (enc)
        for (i = 0; i < n; i++)
            Py_XDECREF(enc[i]);
    free(enc);
    free(paths);
    Py_DECREF(seq);
out_backing:
    Py_XDECREF(backing);
    return rc ? -1 : 0;
}

static void VolumeSet_dealloc(VolumeSetObject *self)
{
    if (self->set)
        vss_volume_set_close(self->set);
    if (self->lock)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int set_ok(VolumeSetObject *self)
{
    if (!self->set) {
        PyErr_SetString(PyExc_ValueError, "uninitialised VolumeSet");
        return 0;
    }
    return 1;
}

static Py_ssize_t VolumeSet_len(VolumeSetObject *self)
{
    return set_ok(self) ? (Py_ssize_t)vss_volume_set_count(self->set) : -1;
}

static PyObject *VolumeSet_item(VolumeSetObject *self, Py_ssize_t i)
{
    const vss_volume_set_entry *en;
    if (!set_ok(self))
        return NULL;
    if (i < 0 || !(en = vss_volume_set_get(self->set, (size_t)i))) {
        PyErr_SetString(PyExc_IndexError, "no such volume");
        return NULL;
    }
    PyObject *vol;
    if (en->volume) {
        VolumeObject *vo = PyObject_New(VolumeObject, &VolumeType);
        if (!vo)
            return NULL;
        vo->v = en->volume;
        vo->lock = NULL;
        vo->src = en->source;
        vss_source_retain(en->source);
        Py_INCREF(self);
        vo->owner = (PyObject *)self;
        vol = (PyObject *)vo;
    } else {
        vol = none();
    }
    PyObject *items[] = {
        u64(en->image_index), str(en->image), partition_obj(&en->part), vol,
        PyLong_FromLong(en->error.code),
        en->error.code ? str(en->error.message) : none(),
        en->storage >= 0 ? PyLong_FromLong(en->storage) : none()};
    return make_seq(&VolumeSetEntryType, items, NITEMS(items));
}

static PyObject *VolumeSet_pick(VolumeSetObject *self, PyObject *args,
                                PyObject *kw)
{
    static char *kwl[] = {"offset", "sector_size", NULL};
    PyObject *offset_obj = Py_None;
    unsigned sector = 512;
    long long offset = -1;
    size_t index = 0;
    vss_error e = {0};
    int rc;
    if (!set_ok(self) ||
        !PyArg_ParseTupleAndKeywords(args, kw, "|OI", kwl, &offset_obj, &sector))
        return NULL;
    if (offset_obj != Py_None) {
        offset = PyLong_AsLongLong(offset_obj);
        if (offset == -1 && PyErr_Occurred())
            return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = vss_volume_set_pick(self->set, offset, sector, &index, &e);
    Py_END_ALLOW_THREADS
    return rc ? raise_vss(rc, &e) : PyLong_FromSize_t(index);
}

static PyObject *VolumeSet_describe(VolumeSetObject *self, PyObject *args)
{
    Py_ssize_t image = 0;
    unsigned sector = 512;
    char buf[4096];
    if (!set_ok(self) || !PyArg_ParseTuple(args, "|nI", &image, &sector))
        return NULL;
    vss_volume_set_describe(self->set, (size_t)image, sector, buf, sizeof buf);
    return str(buf);
}

static PyObject *VolumeSet_image(VolumeSetObject *self, PyObject *args)
{
    Py_ssize_t i;
    vss_source *src;
    if (!set_ok(self) || !PyArg_ParseTuple(args, "n", &i))
        return NULL;
    if (i < 0 || !(src = vss_volume_set_image(self->set, (size_t)i))) {
        PyErr_SetString(PyExc_IndexError, "no such image");
        return NULL;
    }
    vss_source_retain(src);
    return source_wrap(src);
}

static PyObject *VolumeSet_get_image_count(VolumeSetObject *self, void *c)
{
    return set_ok(self) ? PyLong_FromSize_t(vss_volume_set_image_count(self->set))
                        : NULL;
}

static PyObject *VolumeSet_get_any_snapshots(VolumeSetObject *self, void *c)
{
    return set_ok(self) ? bool_obj(vss_volume_set_any_snapshots(self->set)) : NULL;
}

static PyMethodDef VolumeSet_methods[] = {
    {"pick", METH_KW(VolumeSet_pick), METH_VARARGS | METH_KEYWORDS,
     "pick(offset=None, sector_size=512) -> index of the volume to act on"},
    {"describe", (PyCFunction)VolumeSet_describe, METH_VARARGS,
     "describe(image_index=0, sector_size=512) -> where the volumes are"},
    {"image", (PyCFunction)VolumeSet_image, METH_VARARGS,
     "image(i) -> Source of the i-th image as opened"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef VolumeSet_getset[] = {
    {"image_count", (getter)VolumeSet_get_image_count, NULL, NULL, NULL},
    {"any_snapshots", (getter)VolumeSet_get_any_snapshots, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods VolumeSet_seq = {
    .sq_length = (lenfunc)VolumeSet_len,
    .sq_item = (ssizeargfunc)VolumeSet_item};

static PyTypeObject VolumeSetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyvss.VolumeSet",
    .tp_basicsize = sizeof(VolumeSetObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "VolumeSet(images, backing=None, offset=None): every volume "
              "of the images (any container), redirected storage paired by "
              "GUID. A sequence of VolumeSetEntry.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)VolumeSet_init,
    .tp_dealloc = (destructor)VolumeSet_dealloc,
    .tp_methods = VolumeSet_methods,
    .tp_getset = VolumeSet_getset,
    .tp_as_sequence = &VolumeSet_seq,
};

/* ===== module ============================================================== */

static PyObject *mod_filetime_to_datetime(PyObject *m, PyObject *arg)
{
    unsigned long long ft = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred())
        return NULL;
    return filetime_datetime(ft);
}

static PyObject *mod_filetime_format(PyObject *m, PyObject *arg)
{
    char s[32];
    unsigned long long ft = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred())
        return NULL;
    vss_filetime_format(ft, s);
    return str(s);
}

static PyObject *mod_parse_offset(PyObject *m, PyObject *args)
{
    const char *s;
    unsigned sector = 512;
    uint64_t out;
    if (!PyArg_ParseTuple(args, "s|I", &s, &sector))
        return NULL;
    int rc = vss_parse_offset(s, sector, &out);
    if (rc) {
        char msg[300];
        snprintf(msg, sizeof msg, "bad volume offset '%.200s'", s);
        return raise_msg(rc, msg);
    }
    return u64(out);
}

static PyMethodDef module_methods[] = {
    {"open_image", METH_KW(mod_open_image), METH_VARARGS | METH_KEYWORDS,
     "open_image(path, backing=None) -> Source of the media bytes (raw, "
     "split, E01, qcow2, VHD, VHDX; detected by content)"},
    {"filetime_to_datetime", (PyCFunction)mod_filetime_to_datetime, METH_O,
     "FILETIME -> aware UTC datetime (None past year 9999)"},
    {"filetime_format", (PyCFunction)mod_filetime_format, METH_O,
     "FILETIME -> '2019-06-04T23:43:01.4843750Z'"},
    {"parse_offset", (PyCFunction)mod_parse_offset, METH_VARARGS,
     "parse_offset('63s', sector_size=512) -> bytes"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_pyvss",
    "C core of pyvss: libvss (Windows Volume Shadow Copies) for Python.", -1,
    module_methods, NULL, NULL, NULL, NULL};

static int add_seq(PyObject *m, PyTypeObject *t, PyStructSequence_Desc *d)
{
    if (PyStructSequence_InitType2(t, d) < 0)
        return -1;
    Py_INCREF(t);
    return PyModule_AddObject(m, strrchr(d->name, '.') + 1, (PyObject *)t);
}

static int add_type(PyObject *m, PyTypeObject *t)
{
    if (PyType_Ready(t) < 0)
        return -1;
    Py_INCREF(t);
    return PyModule_AddObject(m, strrchr(t->tp_name, '.') + 1, (PyObject *)t);
}

PyMODINIT_FUNC PyInit__pyvss(void)
{
    PyObject *m, *utc;
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI)
        return NULL;
    if (!(m = PyModule_Create(&module_def)))
        return NULL;
    utc = PyDateTime_TimeZone_UTC;
    epoch_1601 = PyDateTimeAPI->DateTime_FromDateAndTime(
        1601, 1, 1, 0, 0, 0, 0, utc, PyDateTimeAPI->DateTimeType);
    PyvssError = PyErr_NewExceptionWithDoc(
        "pyvss.Error",
        "A libvss error: the message names the structure and the byte "
        "offset; .code is the VSS_E* code, .code_name its name.",
        PyExc_OSError, NULL);
    if (!epoch_1601 || !PyvssError)
        goto fail;
    Py_INCREF(PyvssError);
    if (PyModule_AddObject(m, "Error", PyvssError) < 0 ||
        add_seq(m, &SnapshotInfoType, &snapshot_info_desc) < 0 ||
        add_seq(m, &RunType, &run_desc) < 0 ||
        add_seq(m, &PartitionType, &partition_desc) < 0 ||
        add_seq(m, &StatType, &stat_desc) < 0 ||
        add_seq(m, &EntryType, &entry_desc) < 0 ||
        add_seq(m, &StreamType, &stream_desc) < 0 ||
        add_seq(m, &WalkEntryType, &walk_entry_desc) < 0 ||
        add_seq(m, &ExtentType, &extent_desc) < 0 ||
        add_seq(m, &LostRangeType, &lost_range_desc) < 0 ||
        add_seq(m, &ProvenanceType, &provenance_desc) < 0 ||
        add_seq(m, &VolumeSetEntryType, &volume_set_entry_desc) < 0 ||
        add_seq(m, &AttrType, &attr_desc) < 0 ||
        add_type(m, &SourceType) < 0 || add_type(m, &VolumeType) < 0 ||
        add_type(m, &SnapshotType) < 0 || add_type(m, &FSType) < 0 ||
        add_type(m, &FileType) < 0 || add_type(m, &VolumeSetType) < 0 ||
        add_type(m, &MapIterType) < 0 || audit_module_init(m) < 0 ||
        history_module_init(m) < 0)
        goto fail;
    PyModule_AddStringConstant(m, "LIBVSS_VERSION", VSS_VERSION_STRING);
    PyModule_AddIntConstant(m, "BLOCK_SIZE", VSS_BLOCK_SIZE);
    PyModule_AddIntConstant(m, "CATALOG_FLAG_OFFLINE", VSS_CATALOG_FLAG_OFFLINE);
    PyModule_AddIntConstant(m, "CATALOG_FLAG_UNUSED_ZERO",
                            VSS_CATALOG_FLAG_UNUSED_ZERO);
    PyModule_AddIntConstant(m, "EXTENT_SPARSE", VSS_EXTENT_SPARSE);
    PyModule_AddIntConstant(m, "EXTENT_RESIDENT", VSS_EXTENT_RESIDENT);
    PyModule_AddIntConstant(m, "EXTENT_UNINIT", VSS_EXTENT_UNINIT);
    PyModule_AddIntConstant(m, "EXTENT_COMPRESSED", VSS_EXTENT_COMPRESSED);
    PyModule_AddIntConstant(m, "EINVAL", VSS_EINVAL);
    PyModule_AddIntConstant(m, "EIO", VSS_EIO);
    PyModule_AddIntConstant(m, "ECORRUPT", VSS_ECORRUPT);
    PyModule_AddIntConstant(m, "ENOMEM", VSS_ENOMEM);
    PyModule_AddIntConstant(m, "ENOTFOUND", VSS_ENOTFOUND);
    PyModule_AddIntConstant(m, "EUNSUPPORTED", VSS_EUNSUPPORTED);
    PyModule_AddIntConstant(m, "ENOSTORAGE", VSS_ENOSTORAGE);
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
