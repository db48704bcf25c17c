/*
 * store_mem.c - the memory backend of store.h: for unit tests and the
 * deterministic simulator. Pure: no IO, no clock, no randomness.
 *
 * Each keyspace is an AVL tree of nodes (key inline, value owned), in the
 * byte order LMDB uses, so every operation is O(log n). A batch writes
 * straight into the trees and keeps an undo log (newest first) that abort
 * replays backwards; commit just drops the log. Undo never allocates: a
 * deleted node stays alive in its undo record until commit, a replaced
 * value likewise, so rollback cannot fail.
 *
 * Crash semantics (store_mem_crash): aborting the open batch is exactly
 * what a power loss does to an LMDB environment synced at every commit.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/store_int.h"

typedef struct mem_node {
	struct mem_node *left, *right;
	int height;   /* of the subtree rooted here; a leaf is 1 */
	uint8_t *val; /* owned; NULL when val_len == 0 */
	size_t val_len;
	size_t key_len;
	uint8_t key[];
} mem_node_t;

typedef enum undo_kind {
	UNDO_INSERTED, /* node was added: remove and free it */
	UNDO_REPLACED, /* node's value was replaced: put old_val back */
	UNDO_REMOVED,  /* node was unlinked (owned here): link it again */
} undo_kind_t;

typedef struct mem_undo {
	struct mem_undo *prev; /* the older record */
	undo_kind_t kind;
	store_space_t space;
	mem_node_t *node;
	uint8_t *old_val; /* UNDO_REPLACED: the previous value, owned */
	size_t old_len;
} mem_undo_t;

typedef struct mem_tree {
	mem_node_t *root;
	uint64_t entries;
	uint64_t bytes; /* key + value bytes */
} mem_tree_t;

typedef struct mem_store {
	mem_tree_t tree[STORE_SPACES];
	mem_undo_t *undo; /* the open batch's log, newest first */
	uint64_t bytes_total;
	uint64_t bytes_max; /* 0: no limit */
	uint64_t fault_ops; /* writes left before the fault fires */
	int fault_err;      /* 0: no fault armed */
} mem_store_t;

static const struct store_ops mem_ops;

/* ---- the AVL tree ---- */

static int key_cmp(const uint8_t *a, size_t a_len, const uint8_t *b,
                   size_t b_len)
{
	size_t n = a_len < b_len ? a_len : b_len;
	int c = n > 0 ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return (a_len > b_len) - (a_len < b_len);
}

static int height(const mem_node_t *n)
{
	return n != NULL ? n->height : 0;
}

static void fix_height(mem_node_t *n)
{
	int l = height(n->left), r = height(n->right);
	n->height = 1 + (l > r ? l : r);
}

static mem_node_t *rotate_right(mem_node_t *y)
{
	mem_node_t *x = y->left;
	y->left = x->right;
	x->right = y;
	fix_height(y);
	fix_height(x);
	return x;
}

static mem_node_t *rotate_left(mem_node_t *x)
{
	mem_node_t *y = x->right;
	x->right = y->left;
	y->left = x;
	fix_height(x);
	fix_height(y);
	return y;
}

static mem_node_t *rebalance(mem_node_t *n)
{
	fix_height(n);
	int b = height(n->left) - height(n->right);
	if (b > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (b < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

/* Insert nn (its key absent from the tree); the recursion depth is the
 * tree height, under 1.45 log2(n + 2). */
static mem_node_t *avl_insert(mem_node_t *n, mem_node_t *nn)
{
	if (n == NULL) {
		nn->left = nn->right = NULL;
		nn->height = 1;
		return nn;
	}
	int c = key_cmp(nn->key, nn->key_len, n->key, n->key_len);
	sh_assert(c != 0);
	if (c < 0)
		n->left = avl_insert(n->left, nn);
	else
		n->right = avl_insert(n->right, nn);
	return rebalance(n);
}

static mem_node_t *avl_remove_min(mem_node_t *n, mem_node_t **min)
{
	if (n->left == NULL) {
		*min = n;
		return n->right;
	}
	n->left = avl_remove_min(n->left, min);
	return rebalance(n);
}

/* Unlink the node with key (if any) into *out, keeping node identities. */
static mem_node_t *avl_remove(mem_node_t *n, const uint8_t *key, size_t key_len,
                              mem_node_t **out)
{
	if (n == NULL)
		return NULL;
	int c = key_cmp(key, key_len, n->key, n->key_len);
	if (c < 0) {
		n->left = avl_remove(n->left, key, key_len, out);
	} else if (c > 0) {
		n->right = avl_remove(n->right, key, key_len, out);
	} else {
		*out = n;
		mem_node_t *l = n->left, *r = n->right;
		n->left = n->right = NULL;
		if (r == NULL)
			return l;
		mem_node_t *m = NULL;
		r = avl_remove_min(r, &m);
		m->left = l;
		m->right = r;
		return rebalance(m);
	}
	return rebalance(n);
}

static mem_node_t *avl_find(const mem_tree_t *t, const uint8_t *key,
                            size_t key_len)
{
	mem_node_t *n = t->root;
	while (n != NULL) {
		int c = key_cmp(key, key_len, n->key, n->key_len);
		if (c == 0)
			return n;
		n = c < 0 ? n->left : n->right;
	}
	return NULL;
}

/* The first node whose key is > key (>= key if inclusive), or NULL. */
static mem_node_t *avl_seek(const mem_tree_t *t, const uint8_t *key,
                            size_t key_len, int inclusive)
{
	mem_node_t *best = NULL, *n = t->root;
	while (n != NULL) {
		int c = key_cmp(n->key, n->key_len, key, key_len);
		if (c > 0 || (inclusive && c == 0)) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

static void avl_free(mem_node_t *n)
{
	if (n == NULL)
		return;
	avl_free(n->left);
	avl_free(n->right);
	free(n->val);
	free(n);
}

static void node_free(mem_node_t *n)
{
	free(n->val);
	free(n);
}

/* ---- linking with accounting ---- */

static void link_node(mem_store_t *m, store_space_t space, mem_node_t *n)
{
	mem_tree_t *t = &m->tree[space];
	t->root = avl_insert(t->root, n);
	t->entries++;
	t->bytes += n->key_len + n->val_len;
	m->bytes_total += n->key_len + n->val_len;
}

static mem_node_t *unlink_key(mem_store_t *m, store_space_t space,
                              const uint8_t *key, size_t key_len)
{
	mem_tree_t *t = &m->tree[space];
	mem_node_t *n = NULL;
	t->root = avl_remove(t->root, key, key_len, &n);
	if (n == NULL)
		return NULL;
	sh_assert(t->entries > 0 && t->bytes >= n->key_len + n->val_len);
	t->entries--;
	t->bytes -= n->key_len + n->val_len;
	m->bytes_total -= n->key_len + n->val_len;
	return n;
}

/* Give n the value (val, len) and return its old value (ownership moves). */
static uint8_t *swap_val(mem_store_t *m, store_space_t space, mem_node_t *n,
                         uint8_t *val, size_t len, size_t *old_len)
{
	mem_tree_t *t = &m->tree[space];
	uint8_t *old = n->val;
	*old_len = n->val_len;
	t->bytes = t->bytes - *old_len + len;
	m->bytes_total = m->bytes_total - *old_len + len;
	n->val = val;
	n->val_len = len;
	return old;
}

/* ---- faults and errors ---- */

static int fail(store_t *s, int rc, const char *what)
{
	store__set_errmsg(s, "memory store: %s: %s", what, sh_strerror(rc));
	return rc;
}

/* The injected fault, if this write is the one that fails; else 0. */
static int fault_check(store_t *s)
{
	mem_store_t *m = s->impl;
	if (m->fault_err == 0)
		return SH_OK;
	if (m->fault_ops > 0) {
		m->fault_ops--;
		return SH_OK;
	}
	int rc = m->fault_err;
	m->fault_err = 0;
	return fail(s, rc, "injected fault");
}

/* ---- the backend ---- */

static int mem_get(store_t *s, const store_key_t *k, const uint8_t **val,
                   size_t *val_len)
{
	static const uint8_t empty[1];
	mem_store_t *m = s->impl;
	mem_node_t *n = avl_find(&m->tree[k->space], k->bytes, k->len);
	if (n == NULL)
		return SH_ENOTFOUND;
	*val = n->val != NULL ? n->val : empty;
	*val_len = n->val_len;
	return SH_OK;
}

static int mem_begin(store_t *s)
{
	mem_store_t *m = s->impl;
	sh_assert(m->undo == NULL);
	return SH_OK;
}

static void push_undo(mem_store_t *m, mem_undo_t *u, undo_kind_t kind,
                      store_space_t space, mem_node_t *n)
{
	u->kind = kind;
	u->space = space;
	u->node = n;
	u->prev = m->undo;
	m->undo = u;
}

static int mem_put(store_t *s, const store_key_t *k, const uint8_t *val,
                   size_t val_len)
{
	mem_store_t *m = s->impl;
	int rc = fault_check(s);
	if (rc != SH_OK)
		return rc;
	mem_node_t *n = avl_find(&m->tree[k->space], k->bytes, k->len);
	uint64_t total = m->bytes_total + val_len;
	total -= n != NULL ? n->val_len : 0;
	total += n != NULL ? 0 : k->len;
	if (m->bytes_max > 0 && total > m->bytes_max)
		return fail(s, SH_EFULL, "put");

	mem_undo_t *u = calloc(1, sizeof(*u));
	uint8_t *copy = val_len > 0 ? malloc(val_len) : NULL;
	mem_node_t *nn = n == NULL ? malloc(sizeof(*nn) + k->len) : NULL;
	if (u == NULL || (val_len > 0 && copy == NULL) ||
	    (n == NULL && nn == NULL)) {
		free(u);
		free(copy);
		free(nn);
		return fail(s, SH_ENOMEM, "put");
	}
	if (val_len > 0)
		memcpy(copy, val, val_len);
	if (n != NULL) {
		u->old_val =
		    swap_val(m, k->space, n, copy, val_len, &u->old_len);
		push_undo(m, u, UNDO_REPLACED, k->space, n);
		return SH_OK;
	}
	nn->val = copy;
	nn->val_len = val_len;
	nn->key_len = k->len;
	memcpy(nn->key, k->bytes, k->len);
	link_node(m, k->space, nn);
	push_undo(m, u, UNDO_INSERTED, k->space, nn);
	return SH_OK;
}

/* Unlink key (if present) under an undo record. */
static int remove_logged(store_t *s, store_space_t space, const uint8_t *key,
                         size_t key_len)
{
	mem_store_t *m = s->impl;
	int rc = fault_check(s);
	if (rc != SH_OK)
		return rc;
	if (avl_find(&m->tree[space], key, key_len) == NULL)
		return SH_OK;
	mem_undo_t *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return fail(s, SH_ENOMEM, "del");
	mem_node_t *n = unlink_key(m, space, key, key_len);
	sh_assert(n != NULL);
	push_undo(m, u, UNDO_REMOVED, space, n);
	return SH_OK;
}

static int mem_del(store_t *s, const store_key_t *k)
{
	return remove_logged(s, k->space, k->bytes, k->len);
}

static int has_prefix(const mem_node_t *n, const uint8_t *prefix,
                      size_t prefix_len)
{
	return n->key_len >= prefix_len &&
	       (prefix_len == 0 || memcmp(n->key, prefix, prefix_len) == 0);
}

static int mem_del_prefix(store_t *s, store_space_t space,
                          const uint8_t *prefix, size_t prefix_len,
                          size_t limit, size_t *deleted)
{
	mem_store_t *m = s->impl;
	*deleted = 0;
	for (size_t i = 0; i < limit; i++) {
		mem_node_t *n =
		    avl_seek(&m->tree[space], prefix, prefix_len, 1);
		if (n == NULL || !has_prefix(n, prefix, prefix_len))
			break;
		int rc = remove_logged(s, space, n->key, n->key_len);
		if (rc != SH_OK)
			return rc;
		(*deleted)++;
	}
	return SH_OK;
}

/* Free the undo log; with rollback, undo each record first. */
static void drop_undo(mem_store_t *m, int rollback)
{
	mem_undo_t *u = m->undo;
	while (u != NULL) {
		mem_undo_t *prev = u->prev;
		mem_node_t *n = u->node;
		size_t len;
		if (u->kind == UNDO_INSERTED && rollback) {
			mem_node_t *gone =
			    unlink_key(m, u->space, n->key, n->key_len);
			sh_assert(gone == n);
			node_free(n);
		} else if (u->kind == UNDO_REPLACED && rollback) {
			free(swap_val(m, u->space, n, u->old_val, u->old_len,
			              &len));
		} else if (u->kind == UNDO_REPLACED) {
			free(u->old_val);
		} else if (u->kind == UNDO_REMOVED && rollback) {
			link_node(m, u->space, n);
		} else if (u->kind == UNDO_REMOVED) {
			node_free(n);
		}
		free(u);
		u = prev;
	}
	m->undo = NULL;
}

static int mem_commit(store_t *s)
{
	mem_store_t *m = s->impl;
	int rc = fault_check(s);
	drop_undo(m, rc != SH_OK);
	return rc;
}

static void mem_abort(store_t *s)
{
	drop_undo(s->impl, 1);
}

static int mem_scan(store_t *s, store_space_t space, const uint8_t *prefix,
                    size_t prefix_len, const uint8_t *after, size_t after_len,
                    size_t limit, store__raw_fn fn, void *arg, int *more)
{
	static const uint8_t empty[1];
	const mem_tree_t *t = &((mem_store_t *)s->impl)->tree[space];
	mem_node_t *n = after_len > 0 ? avl_seek(t, after, after_len, 0)
	                              : avl_seek(t, prefix, prefix_len, 1);
	*more = 0;
	for (size_t count = 0; n != NULL && has_prefix(n, prefix, prefix_len);
	     count++) {
		if (count == limit) {
			*more = 1;
			return SH_OK;
		}
		int rc = fn(arg, n->key, n->key_len,
		            n->val != NULL ? n->val : empty, n->val_len);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			*more = 1;
			return SH_OK;
		}
		n = avl_seek(t, n->key, n->key_len, 0);
	}
	return SH_OK;
}

static int mem_stats(store_t *s, store_space_t space, store_stats_t *out)
{
	const mem_tree_t *t = &((mem_store_t *)s->impl)->tree[space];
	out->entries = t->entries;
	out->bytes = t->bytes;
	return SH_OK;
}

static int mem_flush(store_t *s)
{
	(void)s;
	return SH_OK;
}

static void mem_close(store_t *s)
{
	mem_store_t *m = s->impl;
	sh_assert(m->undo == NULL);
	for (int i = 0; i < STORE_SPACES; i++)
		avl_free(m->tree[i].root);
	free(m);
}

static const struct store_ops mem_ops = {
    .name = "memory",
    .get = mem_get,
    .begin = mem_begin,
    .put = mem_put,
    .del = mem_del,
    .del_prefix = mem_del_prefix,
    .commit = mem_commit,
    .abort = mem_abort,
    .scan = mem_scan,
    .stats = mem_stats,
    .flush = mem_flush,
    .close = mem_close,
};

/* ---- public: open, crash, faults, check ---- */

int store_mem_open(store_t *s, const store_mem_cfg_t *cfg)
{
	mem_store_t *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return SH_ENOMEM;
	m->bytes_max = cfg != NULL ? cfg->bytes_max : 0;
	store__init(s, &mem_ops, m);
	return SH_OK;
}

void store_mem_crash(store_t *s)
{
	sh_assert(s->ops == &mem_ops);
	store_abort(s);
	mem_store_t *m = s->impl;
	m->fault_err = 0;
	m->fault_ops = 0;
}

void store_mem_fail_after(store_t *s, uint64_t ops, int err)
{
	sh_assert(s->ops == &mem_ops);
	sh_assert(err <= 0);
	mem_store_t *m = s->impl;
	m->fault_ops = ops;
	m->fault_err = err;
}

/* Height of the subtree if it is a valid AVL tree within (lo, hi), else -1;
 * counts its entries and bytes. */
static int check_tree(const mem_node_t *n, const mem_node_t *lo,
                      const mem_node_t *hi, uint64_t *entries, uint64_t *bytes)
{
	if (n == NULL)
		return 0;
	if (lo != NULL &&
	    key_cmp(lo->key, lo->key_len, n->key, n->key_len) >= 0)
		return -1;
	if (hi != NULL &&
	    key_cmp(n->key, n->key_len, hi->key, hi->key_len) >= 0)
		return -1;
	if ((n->val == NULL) != (n->val_len == 0))
		return -1;
	int l = check_tree(n->left, lo, n, entries, bytes);
	int r = check_tree(n->right, n, hi, entries, bytes);
	if (l < 0 || r < 0 || l - r > 1 || r - l > 1)
		return -1;
	int h = 1 + (l > r ? l : r);
	if (h != n->height)
		return -1;
	(*entries)++;
	*bytes += n->key_len + n->val_len;
	return h;
}

int store_mem_check(const store_t *s)
{
	sh_assert(s->ops == &mem_ops);
	const mem_store_t *m = s->impl;
	uint64_t total = 0;
	for (int i = 0; i < STORE_SPACES; i++) {
		uint64_t entries = 0, bytes = 0;
		if (check_tree(m->tree[i].root, NULL, NULL, &entries, &bytes) <
		    0)
			return SH_EMALFORMED;
		if (entries != m->tree[i].entries || bytes != m->tree[i].bytes)
			return SH_EMALFORMED;
		total += bytes;
	}
	return total == m->bytes_total ? SH_OK : SH_EMALFORMED;
}
