/*
 * node_reply.c - the coordinator's outputs to the network: its messages
 * as internode frames to the member's --bind address (from SWIM's
 * metadata), its results as HTTP replies (shapes in node_kv.c).
 *
 * Replying may let a connection hand out its next pipelined request, and
 * dispatching that would feed the coordinator while its ready batch is
 * being read; so connections replied to are only marked here
 * (n->pump_list), and node__kv_pump_marked runs them after coord_advance.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/node_dt.h"
#include "node/node_int.h"

static void node__mark(node_t *n, node_hconn_t *c)
{
	if (c->pump_due)
		return;
	c->pump_due = 1;
	c->pump_next = n->pump_list;
	n->pump_list = c;
}

void node__kv_pump_marked(node_t *n)
{
	while (n->pump_list != NULL) {
		node_hconn_t *c = n->pump_list;
		n->pump_list = c->pump_next;
		c->pump_due = 0;
		if (!c->closing)
			node__http_pump(c);
	}
}

/* The context header of r, base64 in buf; NULL when there is none. */
static const char *node__ctx(const coord_result_t *r, sh_buf_t *buf,
                             size_t *len)
{
	*len = 0;
	if (r->context.len == 0 ||
	    node__b64_encode(r->context.data, r->context.len, buf) != SH_OK)
		return NULL;
	*len = buf->len;
	return (const char *)buf->data;
}

static void node__send(node_hconn_t *c, uint64_t seq, http_reply_t *rep)
{
	if (http_conn_reply(&c->hc, seq, rep) != SH_OK)
		http_conn_reply_error(&c->hc, seq, 500, "reply", NULL);
}

static void node__error_json(node_t *n, const coord_result_t *r, sh_buf_t *body)
{
	json_w_t w;
	const char *err = r->error[0] ? r->error : "error";
	if (r->status == 503 && r->needed > 0)
		err = "quorum";
	if (r->status == 404)
		err = "not found";
	http_error_begin(&w, body, err);
	if (r->status == 503 && r->needed > 0) {
		json_w_kv_u64(&w, "needed", r->needed);
		json_w_kv_u64(&w, "acknowledged", r->acknowledged);
		json_w_key(&w, "stored_on");
		json_w_arr_begin(&w);
		for (size_t i = 0; i < r->stored_on_count; i++)
			json_w_str(&w, r->stored_on[i]);
		json_w_arr_end(&w);
		if (r->error[0])
			json_w_kv_str(&w, "message", r->error);
	}
	if (r->status == 409 && r->stored_kind != COORD_KIND_NONE) {
		json_w_kv_str(&w, "stored_kind",
		              r->stored_kind == COORD_KIND_KV ? "kv" : "dt");
		if (r->stored_kind == COORD_KIND_DT)
			json_w_kv_str(&w, "stored_type",
			              node_dt_type_name(r->stored_type));
	}
	if (r->n_capped)
		json_w_kv_u64(&w, "n", r->n);
	http_error_end(&w);
	(void)n;
}

static void node__reply_plain(node_t *n, node_hconn_t *c, uint64_t seq,
                              const coord_result_t *r, sh_buf_t *ctxb,
                              uint32_t untyped_removes)
{
	http_reply_t rep;
	char hdr[64];
	http_reply_init(&rep, r->status);
	rep.context = node__ctx(r, ctxb, &rep.context_len);
	if (r->status == 204 && r->op == COORD_OP_DT_UPDATE) {
		/* A remove by name only was sent as one remove per type. */
		uint64_t extra = 3 * (uint64_t)untyped_removes;
		uint64_t np =
		    r->not_present > extra ? r->not_present - extra : 0;
		snprintf(hdr, sizeof hdr,
		         "X-Shoal-Not-Present: %" PRIu64 "\r\n", np);
		rep.headers = hdr;
	}
	if (r->status == 204) {
		node__send(c, seq, &rep);
		return;
	}
	if (r->status == 404 && !r->n_capped) {
		/* what node__error_json writes for it, without writing it */
		static const char nf[] = "{\"error\":\"not found\"}\n";
		rep.content_type = "application/json";
		rep.body = nf;
		rep.body_len = sizeof nf - 1;
		node__send(c, seq, &rep);
		return;
	}
	sh_buf_reset(&n->scratch);
	node__error_json(n, r, &n->scratch);
	sh_buf_append_u8(&n->scratch, '\n');
	rep.content_type = "application/json";
	rep.body = n->scratch.data;
	rep.body_len = n->scratch.len;
	node__send(c, seq, &rep);
}

static int node__kv_multipart(node_t *n, const dvv_t *obj, http_reply_t *rep,
                              char *ctype, size_t csize)
{
	size_t count;
	const dvv_sibling_t *sib = dvv_siblings(obj, &count);
	http_part_t *parts = calloc(count ? count : 1, sizeof *parts);
	char(*hdr)[48] = calloc(count ? count : 1, sizeof *hdr);
	size_t k = 0;
	int rc = SH_ENOMEM;
	if (parts != NULL && hdr != NULL) {
		for (size_t i = 0; i < count; i++) {
			if (sib[i].tombstone)
				continue;
			snprintf(hdr[k], sizeof hdr[k],
			         "X-Shoal-Timestamp: %" PRIu64 "\r\n",
			         sib[i].timestamp_ms);
			parts[k].content_type = sib[i].content_type_len
			                            ? sib[i].content_type
			                            : NULL;
			parts[k].headers = hdr[k];
			parts[k].data = sib[i].value;
			parts[k].len = sib[i].value_len;
			k++;
		}
		sh_buf_reset(&n->scratch);
		rc = http_multipart_write(&n->scratch, parts, k, ctype, csize);
	}
	free(parts);
	free(hdr);
	rep->content_type = ctype;
	rep->body = n->scratch.data;
	rep->body_len = n->scratch.len;
	return rc;
}

static void node__reply_kv_get(node_t *n, node_hconn_t *c, uint64_t seq,
                               const coord_result_t *r, sh_buf_t *ctxb)
{
	http_reply_t rep;
	char ctype[HTTP_MULTIPART_TYPE_BYTES];
	http_reply_init(&rep, r->status);
	rep.context = node__ctx(r, ctxb, &rep.context_len);
	const dvv_t *obj = &r->obj.kv;
	if (r->status == 300) {
		if (node__kv_multipart(n, obj, &rep, ctype, sizeof ctype) !=
		    SH_OK) {
			http_conn_reply_error(&c->hc, seq, 500, "multipart",
			                      NULL);
			return;
		}
		node__send(c, seq, &rep);
		return;
	}
	size_t count;
	const dvv_sibling_t *sib = dvv_siblings(obj, &count);
	for (size_t i = 0; i < count; i++) {
		if (sib[i].tombstone)
			continue;
		rep.content_type = sib[i].content_type_len
		                       ? sib[i].content_type
		                       : "application/octet-stream";
		rep.body = sib[i].value;
		rep.body_len = sib[i].value_len;
		break;
	}
	node__send(c, seq, &rep);
}

static void node__reply_dt_get(node_t *n, node_hconn_t *c, uint64_t seq,
                               const coord_result_t *r, sh_buf_t *ctxb)
{
	http_reply_t rep;
	json_w_t w;
	http_reply_init(&rep, 200);
	rep.context = node__ctx(r, ctxb, &rep.context_len);
	sh_buf_reset(&n->scratch);
	json_w_init(&w, &n->scratch);
	json_w_obj_begin(&w);
	node_dt_value_json(&w, &r->obj.dt);
	json_w_kv_str(&w, "context", rep.context ? rep.context : "");
	json_w_obj_end(&w);
	if (json_w_end(&w) != SH_OK) {
		http_conn_reply_error(&c->hc, seq, 500, "json", NULL);
		return;
	}
	sh_buf_append_u8(&n->scratch, '\n');
	rep.content_type = "application/json";
	rep.body = n->scratch.data;
	rep.body_len = n->scratch.len;
	node__send(c, seq, &rep);
}

static void node__replica_json(json_w_t *w, const coord_local_t *l)
{
	char hash[17];
	snprintf(hash, sizeof hash, "%016" PRIx64, l->hash);
	json_w_obj_begin(w);
	json_w_kv_str(w, "name", l->name);
	json_w_kv_bool(w, "answered", l->answered);
	json_w_kv_bool(w, "fallback", l->is_fallback);
	json_w_kv_bool(w, "present", l->present);
	if (l->present) {
		json_w_kv_str(w, "kind",
		              l->kind == COORD_KIND_KV ? "kv" : "dt");
		if (l->kind == COORD_KIND_DT)
			json_w_kv_str(w, "type", node_dt_type_name(l->dt_type));
		json_w_kv_str(w, "hash", hash);
		json_w_kv_u64(w, "siblings", l->siblings);
		json_w_kv_bool(w, "tombstone", l->tombstone);
	}
	json_w_obj_end(w);
}

static void node__reply_replicas(node_t *n, node_hconn_t *c, uint64_t seq,
                                 const coord_result_t *r)
{
	json_w_t w;
	sh_buf_reset(&n->scratch);
	json_w_init(&w, &n->scratch);
	json_w_obj_begin(&w);
	json_w_kv_u64(&w, "n", r->n);
	json_w_key(&w, "replicas");
	json_w_arr_begin(&w);
	for (size_t i = 0; i < r->replica_count; i++)
		node__replica_json(&w, &r->replicas[i]);
	json_w_arr_end(&w);
	json_w_obj_end(&w);
	if (json_w_end(&w) != SH_OK) {
		http_conn_reply_error(&c->hc, seq, 500, "json", NULL);
		return;
	}
	sh_buf_append_u8(&n->scratch, '\n');
	node__reply_json(c, seq, 200, &n->scratch);
}

static void node__result(node_t *n, const coord_result_t *r, sh_buf_t *ctxb)
{
	node_pending_t *p = node__pending_find(n, r->client_id);
	if (p == NULL)
		return;
	node_hconn_t *c = p->conn;
	uint64_t seq = p->seq;
	int ok_read = r->status == 200 || r->status == 300;
	/* while committing, a result depends on the sealed batch: reads
	 * see it with a journal (store_sealed_reads) */
	int held = (n->holding || n->committing) && r->depends;
	if (c != NULL && !c->closing) {
		if (r->op == COORD_OP_KV_GET && ok_read)
			node__reply_kv_get(n, c, seq, r, ctxb);
		else if (r->op == COORD_OP_DT_GET && r->status == 200)
			node__reply_dt_get(n, c, seq, r, ctxb);
		else if (r->op == COORD_OP_REPLICAS && r->status == 200)
			node__reply_replicas(n, c, seq, r);
		else
			node__reply_plain(n, c, seq, r, ctxb,
			                  p->untyped_removes);
		c->held |= held;
		node__mark(n, c);
	}
	node__pending_answer(n, p, r->status, held);
}

static void node__msg(node_t *n, const coord_msg_t *m)
{
	swim_member_info_t info;
	if (swim_member_get(&n->swim, m->to, &info) != SH_OK ||
	    info.meta->addr[0] == '\0') {
		n->stats.frames_dropped++;
		sh_log(SH_LOG_DEBUG, "message to unknown member %s dropped",
		       m->to);
		return;
	}
	node__peer_send(n, info.meta->addr, NODE_FRAME_COORD, m->data, m->len);
}

/*
 * The base64 contexts of a batch's replies, kept from batch to batch (one
 * loop, one thread; replies are only marked here, so no second batch runs
 * while one is read) so that a context costs no allocation.
 */
#define NODE__CTXB_KEEP (64u * 1024)
static sh_buf_t node__ctxb;

void node__kv_outputs(node_t *n, const coord_ready_t *rd)
{
	for (size_t i = 0; i < rd->msg_count; i++)
		node__msg(n, &rd->msgs[i]);
	for (size_t i = 0; i < rd->result_count; i++)
		node__result(n, &rd->results[i], &node__ctxb);
	if (node__ctxb.cap > NODE__CTXB_KEEP)
		sh_buf_free(&node__ctxb);
}
