/*
 * action.c - the SOAP control dispatcher over the service tables of
 * action.h (UDA 1.1 section 3.2: action invocation, responses and
 * UPnPError faults; UDA 1.0 section 3.2.2: QueryStateVariable), and the
 * argument accessors the handlers use. The version rules follow
 * WANIPConnection:2 section 1.2 (a version-2 service answers version-1
 * requests) and the error codes UDA 1.1 section 3.2.2 and
 * WANIPConnection:2 section 2.5.23.
 */
#define _GNU_SOURCE             /* memmem */

#include "svc/action.h"

#include "engine.h"
#include "engine_tx.h"

#include "proto/soap.h"
#include "proto/xml.h"
#include "util/limits.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENVELOPE_OPEN \
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" \
	"<s:Envelope xmlns:s=\"" SOAP_ENVELOPE_NS "\" " \
	"s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
#define ENVELOPE_CLOSE "</s:Body></s:Envelope>\n"

/* errorDescription for each code we emit (UDA 1.1 3.2.2; UDA 1.0 3.2.2
 * for 404; WANIPConnection:2 Table 2-51 for 7xx). */
static const struct {
	int code;
	const char *text;
} error_texts[] = {
	{ 401, "Invalid Action" },
	{ 402, "Invalid Args" },
	{ 404, "Invalid Var" },
	{ 501, "Action Failed" },
	{ 600, "Argument Value Invalid" },
	{ 601, "Argument Value Out of Range" },
	{ 602, "Optional Action Not Implemented" },
	{ 603, "Out of Memory" },
	{ 604, "Human Intervention Required" },
	{ 605, "String Argument Too Long" },
	{ 606, "Action not authorized" },
	{ 703, "InactiveConnectionStateRequired" },
	{ 704, "ConnectionSetupFailed" },
	{ 705, "ConnectionSetupInProgress" },
	{ 706, "ConnectionNotConfigured" },
	{ 707, "DisconnectInProgress" },
	{ 708, "InvalidLayer2Address" },
	{ 709, "InternetAccessDisabled" },
	{ 710, "InvalidConnectionType" },
	{ 711, "ConnectionAlreadyTerminated" },
	{ 713, "SpecifiedArrayIndexInvalid" },
	{ 714, "NoSuchEntryInArray" },
	{ 715, "WildCardNotPermittedInSrcIP" },
	{ 716, "WildCardNotPermittedInExtPort" },
	{ 718, "ConflictInMappingEntry" },
	{ 724, "SamePortValuesRequired" },
	{ 725, "OnlyPermanentLeasesSupported" },
	{ 726, "RemoteHostOnlySupportsWildcard" },
	{ 727, "ExternalPortOnlySupportsWildcard" },
	{ 728, "NoPortMapsAvailable" },
	{ 729, "ConflictWithOtherMechanisms" },
	{ 730, "PortMappingNotFound" },
	{ 731, "ReadOnly" },
	{ 732, "WildCardNotPermittedInIntPort" },
	{ 733, "InconsistentParameters" },
};

const char *upnp_error_text(int code)
{
	size_t i;

	for (i = 0; i < sizeof(error_texts) / sizeof(error_texts[0]); i++)
		if (error_texts[i].code == code)
			return error_texts[i].text;
	return "Error";
}

const char *service_error_text(const struct service *svc, int code)
{
	unsigned i;

	for (i = 0; svc && i < svc->nerrors; i++)
		if (svc->errors[i].code == code)
			return svc->errors[i].text;
	return upnp_error_text(code);
}

/* ---- argument accessors (for handlers) ---- */

static int arg_index(const struct action *act, const char *name, bool out)
{
	unsigned i;

	for (i = 0; i < act->nargs; i++)
		if (act->args[i].out == out && strcmp(act->args[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const struct action_value *in_value(const struct action_ctx *ctx, const char *name)
{
	static const struct action_value absent = { false, { "", 0 }, 0, false };
	int i = arg_index(ctx->act, name, false);

	assert(i >= 0 && "not an IN argument of this action");
	return i >= 0 ? &ctx->in[i] : &absent;
}

struct str action_in_str(const struct action_ctx *ctx, const char *name)
{
	const struct action_value *v = in_value(ctx, name);

	return v->text.p ? v->text : STR_LIT("");
}

uint32_t action_in_u32(const struct action_ctx *ctx, const char *name)
{
	return in_value(ctx, name)->u;
}

bool action_in_bool(const struct action_ctx *ctx, const char *name)
{
	return in_value(ctx, name)->b;
}

/* The name of the OUT argument due next, or NULL when all are written. */
static const char *next_out(const struct action_ctx *ctx)
{
	unsigned i, n = 0;

	for (i = 0; i < ctx->act->nargs; i++) {
		if (!ctx->act->args[i].out)
			continue;
		if (n++ == ctx->nout)
			return ctx->act->args[i].name;
	}
	return NULL;
}

/* Is name the next OUT argument due? (Programmer error otherwise.) */
static bool out_due(struct action_ctx *ctx, const char *name)
{
	const char *due = next_out(ctx);

	if (!due || strcmp(due, name) != 0) {
		assert(!"OUT argument written out of schema order");
		ctx->out_err = -EINVAL;
		return false;
	}
	return true;
}

static void out_done(struct action_ctx *ctx, int r)
{
	if (r < 0 && ctx->out_err == 0)
		ctx->out_err = r;
	ctx->nout++;
}

void action_out_strn(struct action_ctx *ctx, const char *name, const char *value, size_t len)
{
	if (out_due(ctx, name))
		out_done(ctx, xml_element(ctx->out, name, value, len));
}

/*
 * An XML fragment as a string argument (A_ARG_TYPE_PortListing) travels
 * in a CDATA section: any XML parser reads back the same string as from
 * escaped text, and miniupnpc's small parser only understands this form
 * (it does not decode entities). A fragment containing "]]>" cannot be
 * carried that way and is escaped instead.
 */
void action_out_fragment(struct action_ctx *ctx, const char *name, const char *value, size_t len)
{
	int r;

	if (!out_due(ctx, name))
		return;
	if (memmem(value, len, "]]>", 3)) {
		out_done(ctx, xml_element(ctx->out, name, value, len));
		return;
	}
	r = buf_printf(ctx->out, "<%s><![CDATA[", name);
	if (r == 0)
		r = buf_append(ctx->out, value, len);
	if (r == 0)
		r = buf_printf(ctx->out, "]]></%s>", name);
	out_done(ctx, r);
}

void action_out_stream(struct action_ctx *ctx, const char *name, struct buf_stream *s)
{
	if (ctx->stream_name || !out_due(ctx, name)) {
		buf_stream_release(s);
		ctx->out_err = -EINVAL;
		return;
	}
	ctx->stream = *s;
	memset(s, 0, sizeof(*s));
	ctx->stream_name = name;
	out_done(ctx, buf_printf(ctx->out, "<%s><![CDATA[", name));
}

void action_out_str(struct action_ctx *ctx, const char *name, const char *value)
{
	action_out_strn(ctx, name, value, strlen(value));
}

void action_out_u32(struct action_ctx *ctx, const char *name, uint32_t value)
{
	char tmp[16];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu32, value);

	action_out_strn(ctx, name, tmp, (size_t)n);
}

void action_out_bool(struct action_ctx *ctx, const char *name, bool value)
{
	action_out_strn(ctx, name, value ? "1" : "0", 1);
}

/* ---- responses ---- */

static void log_peer(const struct ipaddr *peer, const char *fmt, ...) LOG_FMT(2, 3);

static void log_peer(const struct ipaddr *peer, const char *fmt, ...)
{
	char addr[IPADDR_STRLEN], msg[256];
	va_list ap;

	if (log_get_verbose() < 1)
		return;
	ipaddr_ntop(peer, addr, sizeof(addr));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("%s: %s", addr, msg);
}

/* UPnPError fault (UDA 1.1 3.2.2): HTTP 500, faultcode s:Client. */
static int write_fault(struct buf *out, const struct service *svc, int code)
{
	const char *text = service_error_text(svc, code);

	buf_reset(out);
	buf_puts(out, ENVELOPE_OPEN);
	buf_puts(out, "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>"
		 "<detail><UPnPError xmlns=\"" UPNP_CONTROL_NS "\">");
	buf_printf(out, "<errorCode>%d</errorCode>", code);
	xml_element(out, "errorDescription", text, strlen(text));
	buf_puts(out, "</UPnPError></detail></s:Fault>" ENVELOPE_CLOSE);
	return 500;
}

/* <u:NameResponse xmlns:u="ns">args</u:NameResponse> in an envelope;
 * with tail, what follows args goes there instead of into out. */
static int write_response(struct buf *out, struct str ns, const char *name, const struct buf *args,
			  struct buf *tail)
{
	buf_reset(out);
	buf_puts(out, ENVELOPE_OPEN);
	buf_printf(out, "<u:%sResponse xmlns:u=\"", name);
	xml_escape(out, ns.p, ns.len);
	buf_puts(out, "\">");
	buf_append(out, args->p ? args->p : "", args->len);
	buf_printf(tail ? tail : out, "</u:%sResponse>" ENVELOPE_CLOSE, name);
	if (out->toobig || (tail && tail->toobig))
		return write_fault(out, NULL, UPNP_E_ACTION_FAILED);
	return 200;
}

/* ---- an argument written in parts (action_out_stream) ---- */

#define STREAM_TAIL_MAX 256

/* The handler's stream, then the end of the argument and the envelope. */
struct out_stream {
	struct buf_stream inner;
	char tail[STREAM_TAIL_MAX];
	size_t tail_len;
	char last[2];                   /* the last bytes written: "]]>" across parts */
	size_t nlast;
};

static bool holds_cdata_end(struct out_stream *w, const char *p, size_t n)
{
	char edge[4];
	size_t k = n < 2 ? n : 2;

	memcpy(edge, w->last, w->nlast);
	memcpy(edge + w->nlast, p, k);
	if (memmem(edge, w->nlast + k, "]]>", 3) || memmem(p, n, "]]>", 3))
		return true;
	if (n >= 2) {                   /* keep the last two bytes written */
		memcpy(w->last, p + n - 2, 2);
		w->nlast = 2;
	} else if (n == 1 && w->nlast == 2) {
		w->last[0] = w->last[1];
		w->last[1] = p[0];
	} else if (n == 1) {
		w->last[w->nlast++] = p[0];
	}
	return false;
}

static int out_stream_fill(void *state, struct buf *out, size_t want)
{
	struct out_stream *w = state;
	size_t start = out->len;
	int r = w->inner.fill(w->inner.state, out, want);

	if (r < 0)
		return r;
	if (holds_cdata_end(w, out->p + start, out->len - start))
		return -EINVAL;         /* the handler broke its contract: cut the answer */
	if (r == 0 && buf_append(out, w->tail, w->tail_len) < 0)
		return -E2BIG;
	return r;
}

static void out_stream_release(void *state)
{
	struct out_stream *w = state;

	buf_stream_release(&w->inner);
	free(w);
}

/* The wrapper around ctx->stream, with tail after it; 0 or -ENOMEM. */
static int out_stream_wrap(struct action_ctx *ctx, const struct buf *tail,
			   struct buf_stream *ret)
{
	struct out_stream *w = calloc(1, sizeof(*w));
	int n;

	if (!w)
		return -ENOMEM;
	n = snprintf(w->tail, sizeof(w->tail), "]]></%s>%s", ctx->stream_name,
		     tail->p ? tail->p : "");
	if (n < 0 || (size_t)n >= sizeof(w->tail)) {
		free(w);
		return -E2BIG;
	}
	w->tail_len = (size_t)n;
	w->inner = ctx->stream;
	memset(&ctx->stream, 0, sizeof(ctx->stream));
	ret->fill = out_stream_fill;
	ret->release = out_stream_release;
	ret->state = w;
	return 0;
}

/* ---- request checks ---- */

/*
 * "urn:schemas-upnp-org:service:WANIPConnection:2" -> base and version.
 * The version is one or more digits after the last ':'.
 */
static int split_version(struct str urn, struct str *ret_base, unsigned *ret_version)
{
	uint64_t v;
	size_t i;

	for (i = urn.len; i > 0 && urn.p[i - 1] != ':'; i--)
		;
	if (i <= 1 || i == urn.len || urn.p[i] == '+')
		return -EINVAL;
	if (str_to_u64(str_from(urn.p + i, urn.len - i), 999, &v) < 0 || v == 0)
		return -EINVAL;
	*ret_base = str_from(urn.p, i - 1);
	*ret_version = (unsigned)v;
	return 0;
}

static const struct action *find_action(const struct service *svc, struct str name)
{
	unsigned i;

	for (i = 0; i < svc->nactions; i++)
		if (str_eq_cstr(name, svc->actions[i].name))
			return &svc->actions[i];
	return NULL;
}

static const struct statevar *find_var(const struct service *svc, struct str name)
{
	unsigned i;

	for (i = 0; i < svc->nvars; i++)
		if (str_eq_cstr(name, svc->vars[i].name))
			return &svc->vars[i];
	return NULL;
}

/* Parse text as the variable's type into v (402 when it is not one). */
static int check_type(const struct statevar *var, struct action_value *v)
{
	uint64_t n;
	struct str t = v->text;

	switch (var->type) {
	case SVAR_STRING:
		return 0;
	case SVAR_UI2:
	case SVAR_UI4:
		if (str_to_u64(t, var->type == SVAR_UI2 ? UINT16_MAX : UINT32_MAX, &n) < 0)
			return UPNP_E_INVALID_ARGS;
		v->u = (uint32_t)n;
		return 0;
	case SVAR_I4:
		if (t.len && t.p[0] == '-') {
			if (t.len < 2 || t.p[1] == '+' ||
			    str_to_u64(str_from(t.p + 1, t.len - 1), (uint64_t)INT32_MAX + 1, &n) < 0)
				return UPNP_E_INVALID_ARGS;
			v->u = (uint32_t)(-(int64_t)n);
		} else {
			if (str_to_u64(t, INT32_MAX, &n) < 0)
				return UPNP_E_INVALID_ARGS;
			v->u = (uint32_t)n;
		}
		return 0;
	case SVAR_BOOLEAN:
		if (str_to_bool(t, &v->b) < 0)
			return UPNP_E_INVALID_ARGS;
		v->u = v->b;
		return 0;
	}
	return UPNP_E_INVALID_ARGS;
}

/* allowedValueList (case-insensitive; canonical spelling kept) and
 * allowedValueRange: 601 when outside. */
static int check_allowed(const struct statevar *var, struct action_value *v)
{
	unsigned i;

	if (var->allowed) {
		for (i = 0; var->allowed[i]; i++) {
			if (str_caseeq_cstr(v->text, var->allowed[i])) {
				v->text = str_cstr(var->allowed[i]);
				break;
			}
		}
		if (!var->allowed[i])
			return UPNP_E_ARG_VALUE_OUT_OF_RANGE;
	}
	if (var->ranged) {
		bool in = var->type == SVAR_I4
			? (int32_t)v->u >= (int32_t)var->min && (int32_t)v->u <= (int32_t)var->max
			: v->u >= var->min && v->u <= var->max;
		if (!in)
			return var->range_error ? var->range_error : UPNP_E_ARG_VALUE_OUT_OF_RANGE;
	}
	return 0;
}

/*
 * Match the request's arguments to the schema (any order; each IN
 * argument exactly once; nothing else): 402. Then types: 402. Then
 * allowed values and ranges: 601 (the most specific error last).
 */
static int check_args(struct action_ctx *ctx, const struct soap_request *req)
{
	const struct action *act = ctx->act;
	const struct statevar *var;
	unsigned i, j;
	int r;

	for (i = 0; i < req->nargs; i++) {
		for (j = 0; j < act->nargs; j++)
			if (!act->args[j].out && str_eq_cstr(req->args[i].name, act->args[j].name))
				break;
		if (j == act->nargs || ctx->in[j].present)
			return UPNP_E_INVALID_ARGS;     /* unknown or repeated */
		ctx->in[j].present = true;
		ctx->in[j].text = req->args[i].value;
	}
	for (j = 0; j < act->nargs; j++) {
		if (act->args[j].out)
			continue;
		if (!ctx->in[j].present)
			return UPNP_E_INVALID_ARGS;
		var = find_var(ctx->svc, str_cstr(act->args[j].var));
		assert(var && "relatedStateVariable missing from the table");
		if (!var)
			return UPNP_E_INVALID_ARGS;
		if (ctx->in[j].text.len == 0 && act->args[j].empty != ARG_EMPTY_CHECKED)
			continue;       /* ARG_EMPTY_ZERO: u = 0 already */
		if (check_type(var, &ctx->in[j]) != 0)
			return UPNP_E_INVALID_ARGS;
	}
	for (j = 0; j < act->nargs; j++) {
		if (act->args[j].out)
			continue;
		if (ctx->in[j].text.len == 0 && act->args[j].empty == ARG_EMPTY_HANDLER)
			continue;
		var = find_var(ctx->svc, str_cstr(act->args[j].var));
		if ((r = check_allowed(var, &ctx->in[j])) != 0)
			return r;
	}
	return 0;
}

static unsigned count_out(const struct action *act)
{
	unsigned i, n = 0;

	for (i = 0; i < act->nargs; i++)
		n += act->args[i].out;
	return n;
}

/* The handler's code (0 with the OUT arguments in args, or an error) as
 * the response (and, for an argument written in parts, the stream of
 * the rest into *ret_stream). Frees args. */
static int answer(struct action_ctx *ctx, const struct soap_request *req, int code,
		  struct buf *args, struct buf *out, struct buf_stream *ret_stream)
{
	struct buf tail;
	int status;

	if (code != 0 && (code < 400 || code > 899)) {
		log_warnx("%s: handler returned %d, not a UPnP error code", ctx->act->name, code);
		code = UPNP_E_ACTION_FAILED;
	}
	if (code == 0 && (ctx->out_err || ctx->nout != count_out(ctx->act))) {
		log_warnx("%s: handler wrote %u of %u OUT arguments (%d)", ctx->act->name,
			  ctx->nout, count_out(ctx->act), ctx->out_err);
		code = UPNP_E_ACTION_FAILED;
	}
	buf_init(&tail, STREAM_TAIL_MAX);
	if (code) {
		log_peer(&ctx->peer, "%s: %d %s", ctx->act->name, code,
			 service_error_text(ctx->svc, code));
		status = write_fault(out, ctx->svc, code);
	} else if (!ctx->stream_name) {
		status = write_response(out, req->ns, ctx->act->name, args, NULL);
	} else {
		status = write_response(out, req->ns, ctx->act->name, args, &tail);
		if (status == 200 && out_stream_wrap(ctx, &tail, ret_stream) < 0)
			status = write_fault(out, ctx->svc, UPNP_E_ACTION_FAILED);
	}
	buf_stream_release(&ctx->stream);       /* not handed on: an error came first */
	ctx->out = NULL;        /* args dies here */
	buf_free(args);
	buf_free(&tail);
	return status;
}

/* Validate, call the handler, write the response: answer(), or
 * ACTION_WAIT when the handler's answer comes later (ctx->later). */
static int run_action(struct action_ctx *ctx, const struct soap_request *req, struct buf *out,
		      struct buf_stream *ret_stream, struct buf *args)
{
	int code;

	code = check_args(ctx, req);
	if (code) {
		log_peer(&ctx->peer, "%s: %d %s (arguments)", ctx->act->name, code,
			 service_error_text(ctx->svc, code));
		return write_fault(out, ctx->svc, code);
	}
	buf_init(args, out->max);
	ctx->out = args;
	/* What the action changes is on disk before anyone hears of it: the
	 * engine's transaction commits it, or undoes it and the action
	 * answers 501 (engine_tx.h). */
	code = ctx->act->fn(ctx);
	if (code == ACTION_PENDING && ctx->later)
		return ACTION_WAIT;
	return answer(ctx, req, code, args, out, ret_stream);
}

/* ------------------------------------------------ answers that come later */

struct action_later {
	struct soap_request req;        /* its text: what ctx's views point into */
	struct action_ctx ctx;
	struct buf args;                /* the OUT arguments */
	size_t out_max;
	struct engine_waiter w;         /* waiting for its turn */
	struct engine_tx tx;            /* the change under way */
	action_finish_fn finish;
	action_up_fn up_finish;         /* action_up_wait()'s */
	action_later_fn fn;             /* the transport's, once bound */
	void *arg;
	bool dropped;                   /* its client left */
};

static void count_request(struct engine *e, const char *name, int status, const struct buf *out);

static void later_free(struct action_later *l)
{
	buf_stream_release(&l->ctx.stream);
	buf_free(&l->args);
	soap_request_free(&l->req);
	free(l);
}

/* The handler's final code: the response to the transport, and l ends. */
static void later_complete(struct action_later *l, int code)
{
	struct buf_stream rest = { NULL, NULL, NULL };
	struct buf out;
	int status;

	buf_init(&out, l->out_max);
	status = answer(&l->ctx, &l->req, code, &l->args, &out, &rest);
	count_request(l->ctx.e, l->ctx.act->name, status, &out);
	if (!l->dropped && l->fn)
		l->fn(l->arg, status, &out, &rest);
	buf_stream_release(&rest);
	buf_free(&out);
	later_free(l);
}

static void later_run(struct action_later *l, int code)
{
	if (code != ACTION_PENDING)
		later_complete(l, code);
}

/* Its turn came: the handler runs again, whole. */
static void later_resume(struct engine_waiter *w, int status)
{
	struct action_later *l = w->arg;

	if (status < 0) {
		later_complete(l, UPNP_E_ACTION_FAILED);
		return;
	}
	buf_reset(&l->args);
	l->ctx.nout = 0;
	l->ctx.out_err = 0;
	later_run(l, l->ctx.act->fn(&l->ctx));
}

static void later_tx_done(struct engine_tx *tx, void *arg)
{
	struct action_later *l = arg;

	later_run(l, l->finish(&l->ctx, tx));
}

int action_turn(struct action_ctx *ctx)
{
	struct action_later *l = ctx->later;

	if (!l || !engine_tx_busy(ctx->e))
		return 0;
	l->w.resume = later_resume;
	l->w.arg = l;
	if (engine_tx_wait(ctx->e, &l->w, &ctx->peer) < 0) {
		log_peer(&ctx->peer, "%s: too many changes waiting", ctx->act->name);
		return UPNP_E_ACTION_FAILED;
	}
	return ACTION_PENDING;
}

struct engine_tx *action_tx(struct action_ctx *ctx, struct engine_tx *local, unsigned flags)
{
	struct engine_tx *tx = ctx->later ? &ctx->later->tx : local;

	engine_tx_init(tx, flags);
	if (ctx->later) {
		tx->done = later_tx_done;
		tx->done_arg = ctx->later;
	}
	return tx;
}

static void later_up_done(void *arg, const struct engine_up_outcome *o)
{
	struct action_later *l = arg;

	later_run(l, l->up_finish(&l->ctx, o));
}

int action_up_wait(struct action_ctx *ctx, uint8_t proto, uint16_t ext_port, action_up_fn finish)
{
	struct engine_up_outcome now;
	uint32_t id = 0;

	if (!ctx->later)
		return finish(ctx, NULL);
	if (engine_up_wait(ctx->e, proto, ext_port, IGDD_UPSTREAM_REPLY_WAIT_MS, later_up_done,
			   ctx->later, &now, &id) == ENGINE_UP_NOW)
		return finish(ctx, &now);
	ctx->later->up_finish = finish;
	return ACTION_PENDING;
}

int action_pending(struct action_ctx *ctx, action_finish_fn finish)
{
	ctx->later->finish = finish;
	return ACTION_PENDING;
}

void *action_state(struct action_ctx *ctx, size_t size)
{
	assert(size <= sizeof(ctx->state));
	return ctx->state;
}

void action_later_bind(struct action_later *l, action_later_fn fn, void *arg)
{
	l->fn = fn;
	l->arg = arg;
}

void action_later_drop(struct action_later *l)
{
	if (l->w.queued) {              /* nothing changed yet */
		engine_tx_unwait(l->ctx.e, &l->w);
		later_free(l);
		return;
	}
	l->dropped = true;              /* its change completes; nobody hears of it */
}

/* QueryStateVariable: one argument varName; the service's hook answers. */
static int run_query(struct engine *e, const struct service *svc, const struct soap_request *req,
		     struct buf *out)
{
	const struct statevar *var;
	struct buf val, ret;
	int code, status;

	if (!svc->query)
		return write_fault(out, svc, UPNP_E_INVALID_ACTION);
	if (req->nargs != 1 || !str_eq_cstr(req->args[0].name, "varName"))
		return write_fault(out, svc, UPNP_E_INVALID_ARGS);
	var = find_var(svc, req->args[0].value);
	if (!var)
		return write_fault(out, svc, UPNP_E_INVALID_VAR);
	buf_init(&val, IGDD_SOAP_MAX_ARG_LEN);
	buf_init(&ret, out->max);
	code = svc->query(e, var, &val);
	if (code == 0 && val.toobig)
		code = UPNP_E_ACTION_FAILED;
	if (code) {
		status = write_fault(out, svc, code);
	} else {
		xml_element(&ret, "return", val.p ? val.p : "", val.len);
		status = write_response(out, STR_LIT(UPNP_CONTROL_NS), "QueryStateVariable", &ret,
					NULL);
	}
	buf_free(&val);
	buf_free(&ret);
	return status;
}

/* Map a SOAP parse failure: 400 for what is no SOAP at all, else a fault. */
static int parse_failure(enum soap_status st, const struct ipaddr *peer, struct buf *out)
{
	const struct service *svc = NULL;       /* the generic texts (4xx, 6xx) */

	log_peer(peer, "SOAP request refused: %s", soap_status_text(st));
	switch (st) {
	case SOAP_E_NOT_SOAP:
		return write_fault(out, svc, UPNP_E_INVALID_ACTION);
	case SOAP_E_TOO_MANY_ARGS:
	case SOAP_E_ARG_NESTED:
		return write_fault(out, svc, UPNP_E_INVALID_ARGS);
	case SOAP_E_ARG_TOO_LONG:
		return write_fault(out, svc, UPNP_E_STRING_TOO_LONG);
	case SOAP_E_NOMEM:
		return write_fault(out, svc, UPNP_E_OUT_OF_MEMORY);
	default:
		buf_reset(out);
		return 400;
	}
}

/*
 * The SOAPACTION header names the same service type and action as the
 * body; that type's base is the service's and its version is one we
 * implement; the action exists in the service (see the tolerance below). Otherwise 401.
 */
static int resolve(struct action_ctx *ctx, const char *soapaction, const struct soap_request *req)
{
	struct str htype, haction, base;
	unsigned version;

	if (!soapaction ||
	    soap_parse_action_header(str_cstr(soapaction), &htype, &haction) < 0 ||
	    !str_eq(htype, req->ns) || !str_eq(haction, req->action))
		return UPNP_E_INVALID_ACTION;
	if (split_version(req->ns, &base, &version) < 0 || !str_eq_cstr(base, ctx->svc->type) ||
	    version > ctx->svc->version)
		return UPNP_E_INVALID_ACTION;
	/*
	 * Deliberate tolerance: an action new in version 2 is accepted when
	 * the request names version 1. miniupnpc (upnpc, python3-miniupnpc)
	 * always discovers through an IGD:1 search, so it finds the IGD:1
	 * view and then calls AddAnyPortMapping, GetListOfPortMappings and
	 * DeletePortMappingRange with the WANIPConnection:1 type it saw. The
	 * version-1 SCPD still lists only version-1 actions.
	 */
	ctx->act = find_action(ctx->svc, req->action);
	if (!ctx->act)
		return UPNP_E_INVALID_ACTION;
	assert(ctx->act->nargs <= IGDD_SOAP_MAX_ARGS);
	ctx->version = version;
	return 0;
}

/*
 * One request into the counters (core/stats.h): the action's name (a
 * static string of the tables, never the peer's), and 0 for success, the
 * UPnP error code of a fault (written by write_fault() just before, so
 * read back from it), or the HTTP status of anything else.
 */
static void count_request(struct engine *e, const char *name, int status, const struct buf *out)
{
	static const char tag[] = "<errorCode>";
	const char *p = NULL;
	unsigned code = status == 200 ? 0 : (unsigned)status;

	if (!e)
		return;
	if (status == 500 && out->p)
		p = memmem(out->p, out->len, tag, sizeof(tag) - 1);
	if (p) {
		p += sizeof(tag) - 1;
		for (code = 0; p < out->p + out->len && *p >= '0' && *p <= '9' && code < 1000; p++)
			code = code * 10 + (unsigned)(*p - '0');
	}
	stats_request(&e->stats, STATS_UPNP, name, code);
}

int action_dispatch(struct engine *e, const struct service *svc, const char *soapaction,
		    struct str body, const struct ipaddr *peer, unsigned lan, struct buf *out)
{
	struct buf_stream rest = { NULL, NULL, NULL };
	int status = action_dispatch_stream(e, svc, soapaction, body, peer, lan, out, &rest);

	if (rest.fill && buf_stream_fill(&rest, out, SIZE_MAX) < 0)
		status = write_fault(out, svc, UPNP_E_ACTION_FAILED);
	return status;
}

int action_dispatch_stream(struct engine *e, const struct service *svc, const char *soapaction,
			   struct str body, const struct ipaddr *peer, unsigned lan,
			   struct buf *out, struct buf_stream *ret_stream)
{
	return action_dispatch_wait(e, svc, soapaction, body, peer, lan, out, ret_stream, NULL);
}

int action_dispatch_wait(struct engine *e, const struct service *svc, const char *soapaction,
			 struct str body, const struct ipaddr *peer, unsigned lan,
			 struct buf *out, struct buf_stream *ret_stream,
			 struct action_later **ret_later)
{
	struct action_later here, *l = &here;  /* on the heap when the answer may wait */
	struct soap_request *req;
	struct action_ctx *ctx;
	enum soap_status st;
	const char *name = "(invalid)";
	char act_esc[64];
	int code, status;

	if (ret_later && e) {
		*ret_later = NULL;
		l = calloc(1, sizeof(*l));
		if (!l)
			l = &here;              /* no memory: answered at once */
	}
	if (l == &here)
		memset(l, 0, sizeof(*l));
	req = &l->req;
	ctx = &l->ctx;
	l->out_max = out->max;
	ctx->later = l == &here ? NULL : l;
	st = soap_parse(body.p ? body.p : "", body.len, req);
	if (st != SOAP_OK) {
		if (l != &here)
			free(l);
		status = parse_failure(st, peer, out);
		count_request(e, "(malformed)", status, out);
		return status;
	}

	if (str_eq_cstr(req->ns, UPNP_CONTROL_NS) && str_eq_cstr(req->action, "QueryStateVariable")) {
		struct str ht, ha;

		name = "QueryStateVariable";
		if (!soapaction || soap_parse_action_header(str_cstr(soapaction), &ht, &ha) < 0 ||
		    !str_eq(ht, req->ns) || !str_eq(ha, req->action))
			status = write_fault(out, svc, UPNP_E_INVALID_ACTION);
		else
			status = run_query(e, svc, req, out);
		goto out;
	}

	ctx->e = e;
	ctx->svc = svc;
	ctx->peer = *peer;
	ctx->lan = lan;
	code = resolve(ctx, soapaction, req);
	if (code) {
		log_peer(peer, "'%s': %d %s",
			 log_escape(act_esc, sizeof(act_esc), req->action.p, req->action.len),
			 code, service_error_text(svc, code));
		status = write_fault(out, svc, code);
		goto out;
	}
	name = ctx->act->name;
	status = run_action(ctx, req, out, ret_stream, &l->args);
	if (ret_later && ctx->later && status == ACTION_WAIT) {
		*ret_later = l;
		return status;
	}
out:
	count_request(e, name, status, out);
	soap_request_free(req);
	if (l != &here)
		free(l);
	return status;
}
