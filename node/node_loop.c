/*
 * node_loop.c - the node's event loop (node.h): start-up, the one timer
 * for the cores' deadlines, the end of each turn, SWIM events into the
 * coordinator's member list, and the clean stop.
 *
 * One loop turn: callbacks feed the cores (each coordinator call that
 * may write inside the store batch node__batch opens); then, in
 * uv_prepare before the loop blocks, node__flush runs the per-turn
 * drivers, commits the batch (node_commit.c: in the loop, or sealed and
 * committed on the thread pool), hands the SWIM and coordinator outputs
 * to the sockets (holding what depends on a sealed batch), and re-arms
 * the timer.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/node_int.h"

uint64_t node__now_us(void)
{
	return uv_hrtime() / 1000;
}

uint64_t node__now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* Wall-clock ms since the epoch: only for timestamps that travel. */
static uint64_t node__wall_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int node__batch(node_t *n)
{
	if (store_in_batch(&n->store))
		return SH_OK;
	if (n->committing)
		return SH_EBUSY; /* no batch until the sealed one is done */
	/* Every coordinator write runs inside a batch, one a turn: the
	 * turn's wall clock is read once, when it opens. */
	coord_set_wall_clock(&n->coord, node__wall_ms());
	int rc = store_begin(&n->store);
	if (rc != SH_OK)
		sh_log(SH_LOG_ERROR, "store_begin: %s (%s)", sh_strerror(rc),
		       store_errmsg(&n->store));
	return rc;
}

static coord_member_state_t node__member_state(swim_state_t st)
{
	switch (st) {
	case SWIM_ALIVE:
	case SWIM_SUSPECT: return COORD_UP;
	case SWIM_DEAD: return COORD_DOWN;
	default: return COORD_LEFT;
	}
}

void node__members_changed(node_t *n)
{
	size_t count = swim_member_count(&n->swim);
	coord_member_t *m = calloc(count ? count : 1, sizeof *m);
	if (m == NULL) {
		n->members_dirty = 1;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		swim_member_info_t info;
		swim_member_at(&n->swim, i, &info);
		m[i].name = info.name;
		m[i].state = node__member_state(info.state);
	}
	int rc = coord_set_members(&n->coord, m, count);
	n->members_dirty = rc != SH_OK;
	if (rc != SH_OK)
		sh_log(SH_LOG_WARN, "coord_set_members: %s", sh_strerror(rc));
	free(m);
}

/* Hand SWIM's outputs to the sockets; note membership changes. */
static uint64_t node__swim_outputs(node_t *n)
{
	swim_ready_t rd;
	swim_ready(&n->swim, &rd);
	for (size_t i = 0; i < rd.packets_len; i++)
		node__udp_send(n, rd.packets[i].to, rd.packets[i].data,
		               rd.packets[i].len);
	for (size_t i = 0; i < rd.streams_len; i++)
		node__peer_send(n, rd.streams[i].to, NODE_FRAME_STATE,
		                rd.streams[i].data, rd.streams[i].len);
	for (size_t i = 0; i < rd.events_len; i++) {
		const swim_event_t *e = &rd.events[i];
		sh_log(e->kind == SWIM_EV_UPDATED ? SH_LOG_DEBUG : SH_LOG_INFO,
		       "member %s %s (incarnation %" PRIu64 ")%s%s", e->name,
		       swim_event_kind_name(e->kind), e->incarnation,
		       e->reason ? ": " : "", e->reason ? e->reason : "");
		if (e->kind != SWIM_EV_UPDATED && e->kind != SWIM_EV_REFUSED)
			n->members_dirty = 1;
		swim_member_info_t info;
		if (e->kind == SWIM_EV_UP &&
		    swim_member_get(&n->swim, e->name, &info) == SH_OK)
			node__peer_up(n, info.meta->addr);
		node__hint_member(n, e->name, (int)e->kind);
		node__xfer_member(n, e->name, (int)e->kind);
	}
	if (rd.events_lost)
		n->members_dirty = 1;
	if (rd.left_done && n->leaving == 2)
		node__xfer_left(n, "left the cluster");
	uint64_t due = rd.next_deadline_ms;
	swim_advance(&n->swim);
	return due;
}

static void node__timer_cb(uv_timer_t *t);

static void node__arm(node_t *n, uint64_t due_ms)
{
	if (due_ms == n->timer_due_ms)
		return;
	n->timer_due_ms = due_ms;
	if (due_ms == UINT64_MAX) {
		uv_timer_stop(&n->timer);
		return;
	}
	uint64_t now = node__now_ms();
	uv_timer_start(&n->timer, node__timer_cb,
	               due_ms > now ? due_ms - now : 0, 0);
}

/* The per-turn drivers (hints, the reaper, AAE, handoff): their writes
 * join the open batch, the one about to commit. Their earliest
 * deadline is returned. */
static uint64_t node__drivers(node_t *n)
{
	node__reap_outputs(n);
	uint64_t due = node__hint_turn(n);
	uint64_t aae_due = node__aae_turn(n);
	if (aae_due < due)
		due = aae_due;
	uint64_t xfer_due = node__xfer_turn(n);
	if (xfer_due < due)
		due = xfer_due;
	return due;
}

/* One round: persist, then send; the earliest deadline is returned. */
static uint64_t node__flush_once(node_t *n)
{
	/* While a sealed batch commits, no batch opens: the drivers run
	 * again in the turn its end brings, before the next seal, so that
	 * a steady stream of writes does not starve them. */
	uint64_t due = n->committing ? UINT64_MAX : node__drivers(n);
	/* A joiner waits for a full state (the seeds' push-pull reply, or
	 * any member's) before its coordinator sees members: from the first
	 * member it hears of alone, its ring would name wrong replicas, and
	 * writes it took would land on nodes that never own them (simulator
	 * seed 1031). The join wait (node__house_cb) ends this too. */
	int partial = n->coord_open && coord_joining(&n->coord) &&
	              swim_stats(&n->swim)->states_merged == 0;
	if (n->members_dirty && n->coord_open && !partial) {
		if (node__batch(n) == SH_OK)
			node__members_changed(n);
	}
	int rc = node__commit(n);
	if (rc != NODE_COMMIT_SEALED) {
		node__hint_acks(n, rc == SH_OK);
		node__xfer_committed(n, rc == SH_OK);
	}
	uint64_t swim_due = node__swim_outputs(n);
	if (swim_due < due)
		due = swim_due;
	if (n->coord_open) {
		coord_ready_t rd;
		coord_ready(&n->coord, &rd);
		if (rd.hinted_count > 0 || rd.hinted_more)
			node__hint_stored(n, rd.hinted, rd.hinted_count,
			                  rd.hinted_more);
		n->holding = rc == NODE_COMMIT_SEALED;
		node__kv_outputs(n, &rd);
		n->holding = 0;
		/* while committing, the commit's end brings the next turn */
		if (rd.next_deadline_ms < due && !n->committing)
			due = rd.next_deadline_ms;
		coord_advance(&n->coord);
	}
	/* Replies may release pipelined requests: they start a new batch. */
	node__kv_pump_marked(n);
	return due;
}

/* The end of a loop turn, before the loop blocks. */
static void node__flush(uv_prepare_t *h)
{
	node_t *n = h->data;
	uint64_t now = node__now_ms();
	uint64_t due = node__flush_once(n);
	for (int round = 0; round < 8 && store_in_batch(&n->store); round++)
		due = node__flush_once(n);
	if (store_in_batch(&n->store))
		due = now; /* more next turn, without blocking */
	else
		node__commit_idle(n, now);
	node__peer_flush(n, now);
	node__arm(n, due);
}

static void node__timer_cb(uv_timer_t *t)
{
	node_t *n = t->data;
	uint64_t now = node__now_ms();
	n->timer_due_ms = UINT64_MAX;
	swim_tick(&n->swim, now);
	if (n->coord_open && node__batch(n) == SH_OK)
		coord_tick(&n->coord, now);
}

static void node__close_cb(uv_handle_t *h)
{
	(void)h;
}

static void node__close(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, node__close_cb);
}

/* Everything in flight is done (or the bound passed): close it all. */
static void node__finish(node_t *n)
{
	node__commit(n);
	if (n->cfg.sync == STORE_SYNC_NONE)
		store_flush(&n->store);
	node__http_close_all(n);
	node__peer_close_all(n);
	node__close((uv_handle_t *)&n->udp);
	node__close((uv_handle_t *)&n->timer);
	node__close((uv_handle_t *)&n->house);
	node__close((uv_handle_t *)&n->prepare);
	node__close((uv_handle_t *)&n->sigterm);
	node__close((uv_handle_t *)&n->sigint);
	n->stopping = 2;
}

static void node__house_cb(uv_timer_t *t)
{
	node_t *n = t->data;
	uint64_t now = node__now_ms();
	node__http_sweep(n, now);
	node__peer_sweep(n, now);
	if (n->coord_open && coord_joining(&n->coord) &&
	    now - n->stats.started_ms >= n->join_wait_ms) {
		coord_set_joining(&n->coord, 0);
		sh_log(SH_LOG_WARN,
		       "no seed answered within %" PRIu64
		       " ms: serving as a cluster of one until others join",
		       n->join_wait_ms);
	}
	node__reap_tick(n);
	node__peer_flush(n, now);
	if (n->leaving == 2 && now >= n->leave_deadline_ms)
		node__xfer_left(n, "left the cluster (timeout spreading it)");
	int busy = n->pending_len > 0 || node__http_writing(n);
	/* a commit on the thread pool is always waited for */
	if (n->stopping == 1 && !n->committing &&
	    (!busy || now >= n->stop_deadline_ms)) {
		if (n->pending_len > 0)
			sh_log(SH_LOG_WARN,
			       "stopping with %u requests unanswered",
			       n->pending_len);
		node__finish(n);
	}
}

void node__stop(node_t *n, const char *why)
{
	if (n->stopping)
		return;
	sh_log(SH_LOG_INFO, "stopping: %s", why);
	n->stopping = 1;
	n->stop_deadline_ms = node__now_ms() + n->cfg.shutdown_ms;
	node__http_stop_listening(n);
}

static void node__signal_cb(uv_signal_t *s, int signum)
{
	node__stop(s->data, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static uint64_t node__seed(void)
{
	uint64_t seed = 0;
	int fd = open("/dev/urandom", O_RDONLY);
	if (fd >= 0) {
		if (read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed)
			seed = 0;
		close(fd);
	}
	return seed ^ uv_hrtime() ^ ((uint64_t)getpid() << 32);
}

/* Close the tap, then the LMDB store under it. */
static void node__store_close(node_t *n)
{
	store_close(&n->store);
	store_close(&n->store_disk);
}

static int node__open_store(node_t *n)
{
	store_lmdb_cfg_t sc = {0};
	sc.dir = n->cfg.data_dir;
	sc.sync = n->cfg.sync;
	sc.checkpoint_mutations = n->cfg.checkpoint_mutations;
	int rc = store_lmdb_open(&n->store_disk, &sc);
	if (rc != SH_OK) {
		sh_log(SH_LOG_ERROR, "--data %s: %s (%s)", n->cfg.data_dir,
		       sh_strerror(rc), store_errmsg(&n->store_disk));
		return rc;
	}
	/* Every writer uses the tap, so anti-entropy sees every write. */
	rc = store_tap_open(&n->store, &n->store_disk);
	if (rc != SH_OK) {
		store_close(&n->store_disk);
		return rc;
	}
	rc = store_epoch(&n->store, &n->rand, &n->epoch);
	if (rc != SH_OK) {
		sh_log(SH_LOG_ERROR, "epoch: %s (%s)", sh_strerror(rc),
		       store_errmsg(&n->store));
		node__store_close(n);
	}
	return rc;
}

static int node__open_cores(node_t *n)
{
	swim_config_t sc;
	swim_config_default(&sc);
	sc.name = n->cfg.name;
	sc.addr = n->cfg.bind;
	sc.http_addr = n->cfg.http;
	sc.partitions = n->cfg.partitions;
	sc.seed = sh_rand_u64(&n->rand);
	sc.time_scale = n->cfg.swim_time_scale;
	int rc = swim_init(&n->swim, &sc);
	if (rc != SH_OK) {
		sh_log(SH_LOG_ERROR, "swim_init: %s", sh_strerror(rc));
		return rc;
	}
	coord_config_t cc;
	coord_config_default(&cc);
	cc.name = n->cfg.name;
	cc.epoch = n->epoch;
	cc.partitions = n->cfg.partitions;
	cc.n = n->cfg.n;
	cc.r = n->cfg.r;
	cc.w = n->cfg.w;
	cc.value_bytes_max = n->cfg.value_bytes_max;
	cc.inflight_max = n->cfg.inflight_max;
	/* with seeds, refuse requests until the members are known (coord.h,
	 * joining); if no seed answers in time, serve as a cluster of one */
	cc.joining = n->cfg.seeds_len > 0;
	n->join_wait_ms = NODE_JOIN_WAIT_MS * n->cfg.swim_time_scale;
	if (n->join_wait_ms < NODE_HOUSE_MS)
		n->join_wait_ms = NODE_HOUSE_MS;
	rc = coord_init(&n->coord, &cc, &n->store);
	if (rc != SH_OK) {
		sh_log(SH_LOG_ERROR, "coord_init: %s", sh_strerror(rc));
		swim_free(&n->swim);
		return rc;
	}
	n->coord_open = 1;
	rc = node__hint_open(n);
	if (rc != SH_OK)
		goto fail_coord;
	node__hint_count(n, NULL); /* hints kept from before a restart */
	rc = node__aae_open(n);
	if (rc != SH_OK)
		goto fail_hint;
	rc = node__xfer_open(n);
	if (rc != SH_OK)
		goto fail_aae;
	rc = node__reap_open(n);
	if (rc != SH_OK)
		goto fail_xfer;
	return SH_OK;

	/* undo in reverse order what was opened */
fail_xfer:
	node__xfer_close(n);
fail_aae:
	node__aae_close(n);
fail_hint:
	node__hint_close(n);
fail_coord:
	coord_free(&n->coord);
	n->coord_open = 0;
	swim_free(&n->swim);
	return rc;
}

static int node__open_loop(node_t *n)
{
	uv_loop_init(&n->loop);
	uv_timer_init(&n->loop, &n->timer);
	uv_timer_init(&n->loop, &n->house);
	uv_prepare_init(&n->loop, &n->prepare);
	uv_signal_init(&n->loop, &n->sigterm);
	uv_signal_init(&n->loop, &n->sigint);
	n->timer.data = n->house.data = n->prepare.data = n;
	n->sigterm.data = n->sigint.data = n;
	n->timer_due_ms = UINT64_MAX;
	int rc = node__udp_start(n);
	if (rc == SH_OK)
		rc = node__peer_start(n);
	if (rc == SH_OK)
		rc = node__http_start(n);
	if (rc != SH_OK)
		return rc;
	uv_timer_start(&n->timer, node__timer_cb, 0, 0);
	uv_timer_start(&n->house, node__house_cb, NODE_HOUSE_MS, NODE_HOUSE_MS);
	uv_prepare_start(&n->prepare, node__flush);
	uv_signal_start(&n->sigterm, node__signal_cb, SIGTERM);
	uv_signal_start(&n->sigint, node__signal_cb, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	return SH_OK;
}

static void node__announce(node_t *n)
{
	printf("shoal %s: internode %s (tcp+udp), http %s, data %s, "
	       "epoch %016" PRIx64 ", partitions %u, n=%u r=%u w=%u, "
	       "sync %s\n",
	       n->cfg.name, n->cfg.bind, n->cfg.http, n->cfg.data_dir, n->epoch,
	       n->cfg.partitions, n->cfg.n, n->cfg.r, n->cfg.w,
	       n->cfg.sync == STORE_SYNC_BATCH ? "batch" : "none");
	if (n->cfg.seeds_len == 0) {
		printf("shoal %s: no seeds: a cluster of one until others "
		       "join it\n",
		       n->cfg.name);
	} else {
		printf("shoal %s: joining through", n->cfg.name);
		for (size_t i = 0; i < n->cfg.seeds_len; i++)
			printf(" %s", n->cfg.seeds[i]);
		printf("\n");
	}
	fflush(stdout);
}

static void node__walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	node__close(h);
}

/* After a failed start or the end: close whatever is still open. */
static void node__drain(node_t *n)
{
	uv_walk(&n->loop, node__walk_close, NULL);
	uv_run(&n->loop, UV_RUN_DEFAULT);
	uv_loop_close(&n->loop);
}

int node_run(const node_config_t *cfg)
{
	node_t *n = calloc(1, sizeof *n);
	if (n == NULL)
		return SH_ENOMEM;
	n->cfg = *cfg;
	sh_log_set_level(cfg->log_level);
	sh_rand_seed(&n->rand, node__seed());
	n->stats.started_ms = node__now_ms();
	int rc = node__open_store(n);
	if (rc == SH_OK) {
		rc = node__open_cores(n);
		if (rc != SH_OK)
			node__store_close(n);
	}
	if (rc != SH_OK) {
		free(n);
		return rc;
	}
	rc = node__open_loop(n);
	if (rc == SH_OK) {
		const char *seeds[SWIM_SEEDS_MAX];
		for (size_t i = 0; i < cfg->seeds_len; i++)
			seeds[i] = cfg->seeds[i];
		swim_join(&n->swim, node__now_ms(), seeds, cfg->seeds_len);
		node__announce(n);
		uv_run(&n->loop, UV_RUN_DEFAULT);
		rc = n->exit_code;
	}
	node__drain(n);
	node__peer_free_all(n);
	store_abort(&n->store);
	node__xfer_close(n);
	node__hint_close(n);
	node__reap_close(n);
	node__aae_close(n);
	coord_free(&n->coord);
	swim_free(&n->swim);
	node__store_close(n);
	free(n->pending);
	sh_buf_free(&n->scratch);
	sh_buf_free(&n->held_times);
	sh_log(SH_LOG_INFO, "stopped");
	free(n);
	return rc;
}
