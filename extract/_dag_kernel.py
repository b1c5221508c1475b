"""C source of the compiled greedy DAG kernel (built and loaded by :mod:`extract._native`).

Kept as a string so the kernel ships with the Python package.
"""

SOURCE = r'''/* Greedy DAG cost sets (extract.greedy.dag_choice), compiled: the same algorithm, step for step.
 *
 * A port of the Python loop in greedy.py for models whose usable costs are integers: every
 * sum then stays an exact integer (the caller checks the bound, this file aborts when a
 * tree-style sum grows past 2**52), so the order of additions cannot change a result and the
 * choices equal the Python ones node for node. The set structure is the Python one too, so
 * that the work budget runs out at the same step: a set is a shared immutable *base* (sorted
 * array plus hash table; base 0 is the empty base every leaf shares) and a small sorted
 * *extra*, identity of bases compared as the Python code compares frozensets with ``is``.
 *
 * Returns 0 (choice written), 1 (a sum left the exact range: rerun in Python), 2 (out of
 * memory).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_LIMIT 4503599627370496.0 /* 2**52 */

typedef struct {
    int64_t size;
    int64_t mask; /* hash table capacity - 1 */
    int32_t *elems; /* sorted */
    int32_t *table; /* open addressing, -1 empty */
} Base;

typedef struct {
    int64_t refs; /* < 0: static, never freed */
    int64_t size;
    int32_t data[]; /* sorted */
} Extra;

static Extra EMPTY_EXTRA = {-1, 0};

typedef struct {
    double key;
    int32_t node;
} Entry;

typedef struct {
    Base *bases;
    int64_t n_bases, cap_bases;
    Entry *heap;
    int64_t heap_len;
    int oom;
} State;

static inline int entry_less(Entry a, Entry b) {
    return a.key < b.key || (a.key == b.key && a.node < b.node);
}

static void heap_push(State *s, double key, int32_t node) {
    int64_t i = s->heap_len++;
    Entry e = {key, node};
    while (i > 0) {
        int64_t up = (i - 1) >> 1;
        if (!entry_less(e, s->heap[up])) break;
        s->heap[i] = s->heap[up];
        i = up;
    }
    s->heap[i] = e;
}

static Entry heap_pop(State *s) {
    Entry top = s->heap[0];
    Entry last = s->heap[--s->heap_len];
    int64_t n = s->heap_len, i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && entry_less(s->heap[c + 1], s->heap[c])) c++;
        if (!entry_less(s->heap[c], last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

static inline uint64_t hash32(int32_t x) { return (uint64_t)(uint32_t)x * 2654435761u; }

static inline int in_base(const Base *b, int32_t x) {
    if (!b->size) return 0;
    uint64_t i = hash32(x) & (uint64_t)b->mask;
    for (;;) {
        int32_t v = b->table[i];
        if (v == x) return 1;
        if (v < 0) return 0;
        i = (i + 1) & (uint64_t)b->mask;
    }
}

static inline int in_extra(const Extra *e, int32_t x) {
    int64_t lo = 0, hi = e->size;
    while (lo < hi) {
        int64_t mid = (lo + hi) >> 1;
        if (e->data[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo < e->size && e->data[lo] == x;
}

static Extra *extra_new(State *s, int64_t size) {
    Extra *e = (Extra *)malloc(sizeof(Extra) + (size_t)(size > 0 ? size : 1) * sizeof(int32_t));
    if (!e) { s->oom = 1; return NULL; }
    e->refs = 1;
    e->size = size;
    return e;
}

static inline void extra_release(Extra *e) {
    if (e && e->refs > 0 && --e->refs == 0) free(e);
}

/* sorted union of two disjoint sorted arrays */
static Extra *extra_merge(State *s, const int32_t *a, int64_t na, const int32_t *b, int64_t nb) {
    Extra *e = extra_new(s, na + nb);
    if (!e) return NULL;
    int64_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) e->data[k++] = a[i] < b[j] ? a[i++] : b[j++];
    while (i < na) e->data[k++] = a[i++];
    while (j < nb) e->data[k++] = b[j++];
    return e;
}

/* a new base: the union of base ``b`` and extra ``e`` (disjoint); its index, or -1 */
static int64_t base_merge(State *s, int64_t b, const Extra *e) {
    if (s->n_bases == s->cap_bases) {
        int64_t cap = s->cap_bases * 2;
        Base *grown = (Base *)realloc(s->bases, (size_t)cap * sizeof(Base));
        if (!grown) { s->oom = 1; return -1; }
        s->bases = grown;
        s->cap_bases = cap;
    }
    const Base *old = &s->bases[b];
    int64_t size = old->size + e->size, cap = 16;
    while (cap < 2 * size) cap <<= 1;
    int32_t *elems = (int32_t *)malloc((size_t)size * sizeof(int32_t));
    int32_t *table = (int32_t *)malloc((size_t)cap * sizeof(int32_t));
    if (!elems || !table) { free(elems); free(table); s->oom = 1; return -1; }
    int64_t i = 0, j = 0, k = 0;
    while (i < old->size && j < e->size)
        elems[k++] = old->elems[i] < e->data[j] ? old->elems[i++] : e->data[j++];
    while (i < old->size) elems[k++] = old->elems[i++];
    while (j < e->size) elems[k++] = e->data[j++];
    memset(table, 0xff, (size_t)cap * sizeof(int32_t));
    for (k = 0; k < size; k++) {
        uint64_t h = hash32(elems[k]) & (uint64_t)(cap - 1);
        while (table[h] >= 0) h = (h + 1) & (uint64_t)(cap - 1);
        table[h] = elems[k];
    }
    Base *nb = &s->bases[s->n_bases];
    nb->size = size;
    nb->mask = cap - 1;
    nb->elems = elems;
    nb->table = table;
    return s->n_bases++;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

#define CHECK(v) do { if (!(fabs(v) < EXACT_LIMIT)) { status = 1; goto done; } } while (0)
#define OOM_CHECK() do { if (st.oom) { status = 2; goto done; } } while (0)

int dag_choice(int64_t n, int64_t n_classes, const int64_t *uptr, const int64_t *ucls,
               const int64_t *pptr, const int64_t *pnodes, const int64_t *node_class,
               const double *costs, const uint8_t *usable, const uint8_t *is_root,
               int64_t budget, int prune_by_bound, int64_t *choice) {
    int status = 0;
    State st = {0};
    int64_t *missing = (int64_t *)malloc((size_t)(n + 1) * sizeof(int64_t));
    int64_t *cbase = (int64_t *)malloc((size_t)(n_classes + 1) * sizeof(int64_t));
    Extra **cextra = (Extra **)malloc((size_t)(n_classes + 1) * sizeof(Extra *));
    int64_t *csize = (int64_t *)calloc((size_t)(n_classes + 1), sizeof(int64_t));
    double *totals = (double *)malloc((size_t)(n_classes + 1) * sizeof(double));
    double *weight = (double *)calloc((size_t)(n_classes + 1), sizeof(double));
    double *queued = (double *)malloc((size_t)(n_classes + 1) * sizeof(double));
    int64_t *first = (int64_t *)malloc((size_t)(n_classes + 1) * sizeof(int64_t));
    int64_t *pend_base = (int64_t *)malloc((size_t)(n + 1) * sizeof(int64_t));
    Extra **pend_extra = (Extra **)calloc((size_t)(n + 1), sizeof(Extra *)); /* borrowed */
    Extra **pend_new = (Extra **)calloc((size_t)(n + 1), sizeof(Extra *)); /* owned */
    int64_t *stamp = (int64_t *)calloc((size_t)(n_classes + 1), sizeof(int64_t));
    int32_t *scratch = (int32_t *)malloc((size_t)(n_classes + 1) * sizeof(int32_t));
    int32_t *scratch2 = (int32_t *)malloc((size_t)(n_classes + 1) * sizeof(int32_t));
    st.heap = (Entry *)malloc((size_t)(2 * n + 1) * sizeof(Entry));
    st.cap_bases = 64;
    st.bases = (Base *)malloc((size_t)st.cap_bases * sizeof(Base));
    int64_t i, cur_stamp = 0, work = 0, roots_left = 0;
    int exhausted = budget < 0;
    if (!missing || !cbase || !cextra || !csize || !totals || !weight || !queued || !first
        || !pend_base || !pend_extra || !pend_new || !stamp || !scratch || !scratch2 || !st.heap || !st.bases) {
        status = 2;
        goto done;
    }
    st.bases[0].size = 0; /* the shared empty base */
    st.bases[0].mask = 0;
    st.bases[0].elems = NULL;
    st.bases[0].table = NULL;
    st.n_bases = 1;
    for (i = 0; i < n; i++) {
        missing[i] = usable[i] ? uptr[i + 1] - uptr[i] : -1;
        pend_base[i] = -1;
    }
    for (i = 0; i < n_classes; i++) {
        cbase[i] = -1;
        cextra[i] = &EMPTY_EXTRA;
        totals[i] = INFINITY;
        queued[i] = INFINITY;
        first[i] = -1;
        choice[i] = -1;
        roots_left += is_root[i] != 0;
    }
    for (i = 0; i < n; i++) {
        if (missing[i] == 0) {
            int64_t cls = node_class[i];
            if (costs[i] < queued[cls]) {
                queued[cls] = costs[i];
                first[cls] = i;
                heap_push(&st, costs[i], (int32_t)i);
            }
        }
    }
    while (st.heap_len) {
        Entry top = heap_pop(&st);
        int64_t node = top.node;
        double total = top.key;
        int64_t cls = node_class[node];
        if (choice[cls] >= 0) {
            extra_release(pend_new[node]);
            pend_new[node] = NULL;
            continue;
        }
        choice[cls] = node;
        totals[cls] = total;
        weight[cls] = costs[node];
        if (is_root[cls]) {
            if (!--roots_left) break;
        }
        int64_t nk = uptr[node + 1] - uptr[node];
        if (!nk) {
            Extra *e = extra_new(&st, 1);
            OOM_CHECK();
            e->data[0] = (int32_t)cls;
            cbase[cls] = 0;
            cextra[cls] = e;
            csize[cls] = 1;
        } else {
            int64_t base;
            const Extra *extra, *fresh_part = &EMPTY_EXTRA;
            Extra *owned = NULL;
            if (nk == 1) {
                int64_t kid = ucls[uptr[node]];
                base = cbase[kid];
                extra = cextra[kid];
            } else {
                /* the queued set: base, the extra of the child it was built on, and the
                 * classes the other children added (disjoint from both) */
                base = pend_base[node];
                extra = pend_extra[node] ? pend_extra[node] : &EMPTY_EXTRA;
                owned = pend_new[node];
                if (owned) fresh_part = owned;
                pend_base[node] = -1;
                pend_extra[node] = NULL;
                pend_new[node] = NULL;
            }
            if (base >= 0 && !exhausted) {
                /* extra | fresh | {cls}: cls is not settled, so it is in no set yet */
                Extra *grown = extra_new(&st, extra->size + fresh_part->size + 1);
                OOM_CHECK();
                {
                    const int32_t *a = extra->data, *b = fresh_part->data;
                    int64_t na = extra->size, nb = fresh_part->size, ia = 0, ib = 0, k = 0;
                    int placed = 0;
                    int32_t c = (int32_t)cls;
                    while (ia < na || ib < nb) {
                        int32_t next = (ib >= nb || (ia < na && a[ia] < b[ib])) ? a[ia++] : b[ib++];
                        if (!placed && c < next) { grown->data[k++] = c; placed = 1; }
                        grown->data[k++] = next;
                    }
                    if (!placed) grown->data[k++] = c;
                }
                int64_t bsize = st.bases[base].size;
                if (grown->size * grown->size > 2 * bsize + 1024) {
                    base = base_merge(&st, base, grown);
                    extra_release(grown);
                    OOM_CHECK();
                    grown = &EMPTY_EXTRA;
                    work += st.bases[base].size;
                } else {
                    work += grown->size;
                }
                exhausted = work > budget;
                cbase[cls] = base;
                cextra[cls] = grown;
                csize[cls] = st.bases[base].size + grown->size;
            }
            extra_release(owned);
        }
        for (int64_t q = pptr[cls]; q < pptr[cls + 1]; q++) {
            int64_t parent = pnodes[q];
            int64_t left = --missing[parent];
            if (left) continue;
            int64_t pcls = node_class[parent];
            if (choice[pcls] >= 0) continue;
            const int64_t *pk = ucls + uptr[parent];
            int64_t pn = uptr[parent + 1] - uptr[parent];
            double price = costs[parent], value;
            int64_t parts_base = -1;
            Extra *parts_extra = NULL, *parts_new = NULL;
            if (pn == 1) {
                value = price + totals[pk[0]];
                CHECK(value);
            } else if (pn == 2) {
                int64_t a = pk[0], b = pk[1];
                double total_a = totals[a], total_b = totals[b];
                if (prune_by_bound && price + (total_a > total_b ? total_a : total_b) > queued[pcls])
                    continue;
                int64_t base_a = cbase[a], base_b = cbase[b];
                if (exhausted || base_a < 0 || base_b < 0) {
                    value = price + total_a + total_b;
                    CHECK(value);
                } else {
                    if (csize[a] < csize[b]) {
                        int64_t t = a; a = b; b = t;
                        t = base_a; base_a = base_b; base_b = t;
                        total_a = total_b;
                    }
                    const Extra *ea = cextra[a], *eb = cextra[b];
                    const Base *ba = &st.bases[base_a], *bb = &st.bases[base_b];
                    int64_t nnew = 0;
                    double fresh = 0.0;
                    if (base_b == base_a) {
                        for (int64_t k = 0; k < eb->size; k++) {
                            int32_t x = eb->data[k];
                            if (!in_extra(ea, x)) { scratch[nnew++] = x; fresh += weight[x]; }
                        }
                        work += eb->size;
                    } else {
                        int64_t n1 = 0, n2 = 0;
                        for (int64_t k = 0; k < bb->size; k++) {
                            int32_t x = bb->elems[k];
                            if (!in_base(ba, x) && !in_extra(ea, x)) { scratch[n1++] = x; fresh += weight[x]; }
                        }
                        for (int64_t k = 0; k < eb->size; k++) {
                            int32_t x = eb->data[k];
                            if (!in_base(ba, x) && !in_extra(ea, x)) { scratch2[n2++] = x; fresh += weight[x]; }
                        }
                        if (n2) { /* merge the two sorted, disjoint parts into scratch */
                            int64_t ia = n1 - 1, ib = n2 - 1, k = n1 + n2 - 1;
                            while (ib >= 0)
                                scratch[k--] = (ia >= 0 && scratch[ia] > scratch2[ib]) ? scratch[ia--]
                                                                                     : scratch2[ib--];
                        }
                        nnew = n1 + n2;
                        work += csize[b];
                    }
                    value = price + total_a + fresh;
                    CHECK(value);
                    parts_base = base_a;
                    parts_extra = cextra[a];
                    if (nnew) {
                        parts_new = extra_merge(&st, scratch, nnew, NULL, 0);
                        OOM_CHECK();
                    }
                }
            } else {
                double top_total = totals[pk[0]];
                for (int64_t k = 1; k < pn; k++)
                    if (totals[pk[k]] > top_total) top_total = totals[pk[k]];
                if (prune_by_bound && price + top_total > queued[pcls]) continue;
                int has_sets = !exhausted;
                double sum = 0.0;
                for (int64_t k = 0; k < pn; k++) {
                    sum += totals[pk[k]];
                    CHECK(sum);
                    if (cbase[pk[k]] < 0) has_sets = 0;
                }
                value = price + sum;
                CHECK(value);
                if (has_sets) {
                    int64_t big = pk[0];
                    for (int64_t k = 1; k < pn; k++)
                        if (csize[pk[k]] > csize[big]) big = pk[k];
                    const Base *ba = &st.bases[cbase[big]];
                    const Extra *ea = cextra[big];
                    int64_t ng = 0;
                    double fresh = 0.0;
                    cur_stamp++;
                    for (int64_t k = 0; k < pn; k++) {
                        int64_t kid = pk[k];
                        if (kid == big) continue;
                        if (cbase[kid] != cbase[big]) {
                            const Base *bk = &st.bases[cbase[kid]];
                            for (int64_t j = 0; j < bk->size; j++) {
                                int32_t x = bk->elems[j];
                                if (stamp[x] != cur_stamp) {
                                    stamp[x] = cur_stamp;
                                    if (!in_base(ba, x) && !in_extra(ea, x)) { scratch[ng++] = x; fresh += weight[x]; }
                                }
                            }
                        }
                        const Extra *ek = cextra[kid];
                        for (int64_t j = 0; j < ek->size; j++) {
                            int32_t x = ek->data[j];
                            if (stamp[x] != cur_stamp) {
                                stamp[x] = cur_stamp;
                                if (!in_base(ba, x) && !in_extra(ea, x)) { scratch[ng++] = x; fresh += weight[x]; }
                            }
                        }
                        work += csize[kid];
                    }
                    value = price + totals[big] + fresh;
                    CHECK(value);
                    qsort(scratch, (size_t)ng, sizeof(int32_t), cmp_i32);
                    parts_base = cbase[big];
                    parts_extra = cextra[big];
                    if (ng) {
                        parts_new = extra_merge(&st, scratch, ng, NULL, 0);
                        OOM_CHECK();
                    }
                }
            }
            if (value < queued[pcls] || (value == queued[pcls] && parent < first[pcls])) {
                queued[pcls] = value;
                first[pcls] = parent;
                if (parts_base >= 0) {
                    pend_base[parent] = parts_base;
                    pend_extra[parent] = parts_extra;
                    pend_new[parent] = parts_new;
                }
                heap_push(&st, value, (int32_t)parent);
            } else {
                extra_release(parts_new);
            }
        }
    }
done:
    if (pend_new) for (i = 0; i < n; i++) extra_release(pend_new[i]);
    if (cextra) for (i = 0; i < n_classes; i++) extra_release(cextra[i]);
    if (st.bases) for (i = 1; i < st.n_bases; i++) { free(st.bases[i].elems); free(st.bases[i].table); }
    free(st.bases); free(st.heap); free(missing); free(cbase); free(cextra); free(csize);
    free(totals); free(weight); free(queued); free(first); free(pend_base); free(pend_extra); free(pend_new);
    free(stamp); free(scratch); free(scratch2);
    return status;
}

/* Frontier value iteration for tree costs (extract.greedy._tree_choice_sweeps), step for step:
 * each sweep re-minimises the listed classes from the previous sweep's node values, then
 * re-prices the parents of the classes whose cost fell (children summed in file order from
 * 0.0, as numpy.bincount does). ``costs`` already holds inf for unusable nodes; no cost is
 * negative and no class is empty (the caller checks). Returns 0 converged (in sweep
 * ``*sweeps_used``: the Python loop returns in that iteration), 1 not converged within
 * ``max_sweeps``, 2 out of memory. */
int tree_sweeps(int64_t n, int64_t n_classes, const double *costs, const int64_t *child_ptr,
                const int64_t *child_classes, const int64_t *class_ptr, const int64_t *class_nodes,
                const int64_t *node_class, const int64_t *pptr, const int64_t *pnodes,
                int64_t max_sweeps, int64_t *choice, double *best, int64_t *sweeps_used) {
    int status = 1;
    double *vals = (double *)malloc((size_t)(n + 1) * sizeof(double));
    int64_t *classes = (int64_t *)malloc((size_t)(n_classes + 1) * sizeof(int64_t));
    int64_t *fell = (int64_t *)malloc((size_t)(n_classes + 1) * sizeof(int64_t));
    int64_t *nodes = (int64_t *)malloc((size_t)(n + 1) * sizeof(int64_t));
    int64_t *node_mark = (int64_t *)calloc((size_t)(n + 1), sizeof(int64_t));
    int64_t *class_mark = (int64_t *)calloc((size_t)(n_classes + 1), sizeof(int64_t));
    int64_t i, n_list = n_classes, sweep;
    if (!vals || !classes || !fell || !nodes || !node_mark || !class_mark) { status = 2; goto out; }
    for (i = 0; i < n; i++) vals[i] = child_ptr[i + 1] > child_ptr[i] ? INFINITY : costs[i];
    for (i = 0; i < n_classes; i++) { classes[i] = i; best[i] = INFINITY; choice[i] = -1; }
    for (sweep = 1; sweep <= max_sweeps; sweep++) {
        *sweeps_used = sweep;
        if (!n_list) { status = 0; goto out; }
        int64_t n_fell = 0;
        for (int64_t q = 0; q < n_list; q++) {
            int64_t c = classes[q];
            double low = INFINITY;
            for (int64_t k = class_ptr[c]; k < class_ptr[c + 1]; k++)
                if (vals[class_nodes[k]] < low) low = vals[class_nodes[k]];
            if (low < best[c]) {
                int64_t at = n;
                for (int64_t k = class_ptr[c]; k < class_ptr[c + 1]; k++) {
                    int64_t node = class_nodes[k];
                    if (vals[node] == low && node < at) at = node;
                }
                choice[c] = at;
                best[c] = low;
                fell[n_fell++] = c;
            }
        }
        if (!n_fell) { status = 0; goto out; }
        int64_t n_nodes = 0;
        for (int64_t q = 0; q < n_fell; q++) {
            int64_t c = fell[q];
            for (int64_t k = pptr[c]; k < pptr[c + 1]; k++) {
                int64_t node = pnodes[k];
                if (node_mark[node] != sweep) { node_mark[node] = sweep; nodes[n_nodes++] = node; }
            }
        }
        n_list = 0;
        for (int64_t q = 0; q < n_nodes; q++) {
            int64_t node = nodes[q];
            double sum = 0.0;
            for (int64_t k = child_ptr[node]; k < child_ptr[node + 1]; k++) sum += best[child_classes[k]];
            vals[node] = costs[node] + sum;
            int64_t c = node_class[node];
            if (class_mark[c] != sweep) { class_mark[c] = sweep; classes[n_list++] = c; }
        }
    }
out:
    free(vals); free(classes); free(fell); free(nodes); free(node_mark); free(class_mark);
    return status;
}

/* The classes reachable from the roots through ``choice``, in reverse post-order of the same
 * depth-first search as extract.graph.chosen_order. Returns 0 (``post`` holds ``*n_post``
 * classes), 1 (a reachable class is unchosen), 2 (a cycle), 3 (a choice out of range),
 * 4 (out of memory). */
int chosen_post(int64_t n, int64_t n_classes, const int64_t *roots, int64_t n_roots,
                const int64_t *choice, const int64_t *uptr, const int64_t *ucls,
                int64_t *post, int64_t *n_post) {
    int status = 0;
    uint8_t *state = (uint8_t *)calloc((size_t)(n_classes + 1), 1);
    int64_t *stack_cls = (int64_t *)malloc((size_t)(n_classes + 1) * sizeof(int64_t));
    int64_t *stack_at = (int64_t *)malloc((size_t)(n_classes + 1) * sizeof(int64_t));
    int64_t count = 0;
    if (!state || !stack_cls || !stack_at) { status = 4; goto out; }
    for (int64_t r = 0; r < n_roots; r++) {
        int64_t root = roots[r];
        if (state[root]) continue;
        if (choice[root] < 0) { status = 1; goto out; }
        if (choice[root] >= n) { status = 3; goto out; }
        state[root] = 1;
        int64_t depth = 0;
        stack_cls[0] = root;
        stack_at[0] = uptr[choice[root]];
        while (depth >= 0) {
            int64_t cls = stack_cls[depth], node = choice[cls];
            if (stack_at[depth] < uptr[node + 1]) {
                int64_t kid = ucls[stack_at[depth]++];
                if (state[kid] == 1) { status = 2; goto out; }
                if (state[kid] == 0) {
                    if (choice[kid] < 0) { status = 1; goto out; }
                    if (choice[kid] >= n) { status = 3; goto out; }
                    state[kid] = 1;
                    depth++;
                    stack_cls[depth] = kid;
                    stack_at[depth] = uptr[choice[kid]];
                }
            } else {
                depth--;
                state[cls] = 2;
                post[count++] = cls;
            }
        }
    }
    for (int64_t a = 0, b = count - 1; a < b; a++, b--) { int64_t t = post[a]; post[a] = post[b]; post[b] = t; }
out:
    *n_post = count;
    free(state); free(stack_cls); free(stack_at);
    return status;
}
'''
