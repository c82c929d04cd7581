/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control API's endpoints: routing, request bodies and JSON replies.
 * No HTTP here (control.c), so unit tests drive it directly.
 */
#include "control.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_spawn.h"
#include "metrics.h"
#include "net_ctl_msg.h"
#include "vcpu.h"
#include "vhost_user_dev.h"
#include "vm.h"

#define JSON_CONTENT_TYPE	"application/json"
/* Request bodies are flat objects; deeper nesting is refused early. */
#define CONTROL_JSON_DEPTH	4

#define GET	CONTROL_METHOD_GET
#define ACTION	(CONTROL_METHOD_PUT | CONTROL_METHOD_POST)

static const struct control_route_entry {
	const char *path;
	unsigned methods;
	enum control_endpoint ep;
} control_routes[] = {
	{ "/api/v1/vmm.ping", GET, CONTROL_EP_PING },
	{ "/api/v1/vm.info", GET, CONTROL_EP_INFO },
	{ "/api/v1/vm.pause", ACTION, CONTROL_EP_PAUSE },
	{ "/api/v1/vm.resume", ACTION, CONTROL_EP_RESUME },
	{ "/api/v1/vm.shutdown", ACTION, CONTROL_EP_SHUTDOWN },
	{ "/api/v1/vm.devices", GET, CONTROL_EP_DEVICES },
	{ "/api/v1/vm.counters", GET, CONTROL_EP_COUNTERS },
	{ "/api/v1/vm.device-restart", ACTION, CONTROL_EP_DEVICE_RESTART },
	{ "/api/v1/vm.metrics", GET, CONTROL_EP_METRICS },
	{ "/metrics", GET, CONTROL_EP_METRICS },
};

static unsigned control_method_bit(const char *method)
{
	if (!strcmp(method, "GET"))
		return CONTROL_METHOD_GET;
	if (!strcmp(method, "PUT"))
		return CONTROL_METHOD_PUT;
	if (!strcmp(method, "POST"))
		return CONTROL_METHOD_POST;
	return 0;
}

int control_route(const char *method, const char *url,
		  enum control_endpoint *ep, const char **allow)
{
	*allow = NULL;
	if (!method || !url)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(control_routes) / sizeof(control_routes[0]); i++) {
		const struct control_route_entry *r = &control_routes[i];

		if (strcmp(url, r->path))
			continue;
		if (!(control_method_bit(method) & r->methods)) {
			*allow = r->methods == GET ? "GET" : "PUT, POST";
			return -EINVAL;
		}
		*ep = r->ep;
		return 0;
	}
	return -ENOENT;
}

/* Serialise obj into the reply and drop it. */
static int control_reply_json(unsigned status, struct json_object *obj,
			      struct control_reply *reply)
{
	const char *text;
	size_t len;

	if (!obj)
		return -ENOMEM;
	text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE,
						 &len);
	reply->body = text ? malloc(len + 2) : NULL;
	if (!reply->body) {
		json_object_put(obj);
		return -ENOMEM;
	}
	memcpy(reply->body, text, len);
	reply->body[len] = '\n';
	reply->body[len + 1] = '\0';
	reply->len = len + 1;
	reply->status = status;
	reply->content_type = JSON_CONTENT_TYPE;
	json_object_put(obj);
	return 0;
}

int control_error(unsigned status, const char *message,
		  struct control_reply *reply)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *err = json_object_new_object();

	if (!obj || !err) {
		json_object_put(obj);
		json_object_put(err);
		return -ENOMEM;
	}
	json_object_object_add(err, "code", json_object_new_int((int)status));
	json_object_object_add(err, "message", json_object_new_string(message));
	json_object_object_add(obj, "error", err);
	return control_reply_json(status, obj, reply);
}

static struct json_object *control_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_object_new_string(buf);
}

/* An error reply made: 1, or -ENOMEM. */
static int control_reject(unsigned status, const char *message,
			  struct control_reply *reply)
{
	int ret = control_error(status, message, reply);

	return ret ? ret : 1;
}

/*
 * An empty body, or a JSON object whose members are all in keys[]:
 * 0 and *out (NULL for an empty body), or 1 with an error reply made.
 */
static int control_parse_body(const char *body, size_t len,
			      const char *const *keys, struct json_object **out,
			      struct control_reply *reply)
{
	struct json_tokener *tok;
	struct json_object *obj;
	char *text;
	size_t end;
	int ret;

	*out = NULL;
	while (len && (body[len - 1] == ' ' || body[len - 1] == '\n' ||
		       body[len - 1] == '\r' || body[len - 1] == '\t'))
		len--;
	if (!len)
		return 0;
	if (len > CONTROL_MAX_BODY)
		return control_reject(413, "request body too large", reply);
	/*
	 * With its NUL the text has an end: a bare number is complete, and
	 * an embedded NUL stops the parse short of len (trailing data).
	 */
	text = malloc(len + 1);
	tok = json_tokener_new_ex(CONTROL_JSON_DEPTH);
	if (!text || !tok) {
		free(text);
		if (tok)
			json_tokener_free(tok);
		return -ENOMEM;
	}
	memcpy(text, body, len);
	text[len] = '\0';
	obj = json_tokener_parse_ex(tok, text, (int)len + 1);
	end = json_tokener_get_parse_end(tok);
	ret = json_tokener_get_error(tok);
	json_tokener_free(tok);
	free(text);
	if (!obj || ret != json_tokener_success || end < len) {
		char msg[160];

		json_object_put(obj);
		snprintf(msg, sizeof(msg), "malformed JSON body: %s",
			 ret == json_tokener_continue ? "incomplete" :
			 ret != json_tokener_success ?
				 json_tokener_error_desc(ret) :
				 "trailing data after the value");
		return control_reject(400, msg, reply);
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return control_reject(400, "the body must be a JSON object",
				     reply);
	}
	/* The C-style iteration: foreach is a GNU statement expression. */
	struct json_object_iter it;

	json_object_object_foreachC(obj, it) {
		const char *key = it.key;
		bool known = false;

		for (unsigned i = 0; keys && keys[i]; i++)
			known |= !strcmp(key, keys[i]);
		if (!known) {
			char msg[160];

			snprintf(msg, sizeof(msg), "unknown member \"%.64s\"",
				 key);
			json_object_put(obj);
			return control_reject(400, msg, reply);
		}
	}
	*out = obj;
	return 0;
}

static int control_ping(struct control_reply *reply)
{
	struct json_object *obj = json_object_new_object();

	if (obj)
		json_object_object_add(obj, "version",
				       json_object_new_string(SPLITVM_VERSION));
	return control_reply_json(200, obj, reply);
}

static int control_info(struct vm *vm, struct control_reply *reply)
{
	struct json_object *obj = json_object_new_object();
	struct vm_info vi;

	if (!obj)
		return -ENOMEM;
	vm_get_info(vm, &vi);
	json_object_object_add(obj, "version",
			       json_object_new_string(SPLITVM_VERSION));
	json_object_object_add(obj, "state",
			       json_object_new_string(vm_state_name(vi.state)));
	json_object_object_add(obj, "vcpus", json_object_new_int((int)vi.ncpus));
	json_object_object_add(obj, "memory_bytes",
			       json_object_new_int64((int64_t)vi.mem_size));
	{
		char up[32];

		/* Milliseconds are plenty; no 17-digit binary noise. */
		snprintf(up, sizeof(up), "%.3f", vi.uptime_s);
		json_object_object_add(obj, "uptime_s",
				       json_object_new_double_s(vi.uptime_s, up));
	}
	json_object_object_add(obj, "kernel",
			       json_object_new_string(vi.kernel_path));
	json_object_object_add(obj, "initrd", vi.initrd_path ?
			       json_object_new_string(vi.initrd_path) : NULL);
	json_object_object_add(obj, "cmdline",
			       json_object_new_string(vi.cmdline));
	json_object_object_add(obj, "devices",
			       json_object_new_int((int)vi.nr_devices));
	if (vi.ended) {
		struct json_object *ex = json_object_new_object();

		if (ex) {
			json_object_object_add(ex, "reason", json_object_new_string(
				vm_exit_reason_name(vi.exit.reason)));
			json_object_object_add(ex, "status",
					       json_object_new_int(vi.exit.status));
		}
		json_object_object_add(obj, "exit", ex);
	} else {
		json_object_object_add(obj, "exit", NULL);
	}
	return control_reply_json(200, obj, reply);
}

static int control_state_reply(struct vm *vm, struct control_reply *reply)
{
	struct json_object *obj = json_object_new_object();
	struct vm_info vi;

	vm_get_info(vm, &vi);
	if (obj)
		json_object_object_add(obj, "state", json_object_new_string(
			vm_state_name(vi.state)));
	return control_reply_json(200, obj, reply);
}

static int control_pause_resume(struct vm *vm, bool pause,
				struct control_reply *reply)
{
	int ret = pause ? vm_pause(vm, CONTROL_PAUSE_TIMEOUT_MS) : vm_resume(vm);

	switch (ret) {
	case 0:
		return control_state_reply(vm, reply);
	case -EALREADY:
		return control_error(409, pause ? "the VM is paused already" :
					   "the VM is not paused", reply);
	case -ESHUTDOWN:
		return control_error(409, "the VM is stopping", reply);
	case -ETIMEDOUT:
		return control_error(503, "a vCPU did not leave its exit in "
				     "time; it parks when the exit completes",
				     reply);
	default:
		return control_error(500, strerror(-ret), reply);
	}
}

/*
 * A spawned back-end: its program, pid, state and restarts, a switch's
 * name and its port's VLANs ("access vlan 10", "trunk 10:20 native 5",
 * null when VLAN-unaware); else null.
 */
static struct json_object *control_backend_json(const struct backend_status *b)
{
	struct json_object *o;
	char vlan[NET_CTL_MAX_LINE];

	if (!b->spawned || !(o = json_object_new_object()))
		return NULL;
	json_object_object_add(o, "program", json_object_new_string(b->program));
	json_object_object_add(o, "pid", json_object_new_int(b->pid));
	json_object_object_add(o, "state", json_object_new_string(b->state));
	json_object_object_add(o, "restarts",
			       json_object_new_int((int)b->restarts));
	json_object_object_add(o, "switch", b->switch_name ?
			       json_object_new_string(b->switch_name) : NULL);
	json_object_object_add(o, "vlan", b->vlan &&
			       !net_vlan_describe(b->vlan, vlan, sizeof(vlan)) &&
			       vlan[0] ? json_object_new_string(vlan) : NULL);
	return o;
}

static struct json_object *control_device_json(const struct vhost_user_dev_info *d,
					       const struct backend_status *b)
{
	struct json_object *o = json_object_new_object();
	struct json_object *feat = json_object_new_object();
	char pci[8];

	if (!o || !feat) {
		json_object_put(o);
		json_object_put(feat);
		return NULL;
	}
	metrics_pci_address(d->devfn, pci);
	json_object_object_add(o, "id", json_object_new_string(d->name));
	json_object_object_add(o, "type", json_object_new_string(d->type));
	json_object_object_add(o, "pci", json_object_new_string(pci));
	json_object_object_add(o, "socket",
			       json_object_new_string(d->socket_path));
	json_object_object_add(o, "backend_state", json_object_new_string(
		d->state_name ? d->state_name : "?"));
	json_object_object_add(o, "queues", json_object_new_int((int)d->queues));
	json_object_object_add(feat, "backend", control_hex(d->backend_features));
	json_object_object_add(feat, "offered", control_hex(d->offered_features));
	json_object_object_add(feat, "driver", control_hex(d->driver_features));
	json_object_object_add(o, "features", feat);
	/* Reconnects; a spawned process's restarts are in "backend". */
	json_object_object_add(o, "restarts",
			       json_object_new_int((int)d->restarts));
	json_object_object_add(o, "backend", control_backend_json(b));
	return o;
}

static int control_devices(struct vm *vm, struct control_reply *reply)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct vhost_user_dev *dev;

	if (!obj || !arr) {
		json_object_put(obj);
		json_object_put(arr);
		return -ENOMEM;
	}
	for (unsigned i = 0; (dev = vm_device(vm, i)); i++) {
		struct vhost_user_dev_info d;
		struct backend_status b;

		vhost_user_dev_get_info(dev, &d);
		backend_spawn_get(vm_backends(vm), i, &b);
		json_object_array_add(arr, control_device_json(&d, &b));
	}
	json_object_object_add(obj, "devices", arr);
	return control_reply_json(200, obj, reply);
}

static struct json_object *control_exits_json(const uint64_t *exits)
{
	struct json_object *o = json_object_new_object();

	for (unsigned r = 0; o && r < VCPU_EXIT_NR; r++)
		json_object_object_add(o, vcpu_exit_stat_name(r),
				       json_object_new_int64((int64_t)exits[r]));
	return o;
}

static int control_counters(struct vm *vm, struct control_reply *reply)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *vcpus = json_object_new_array();
	struct json_object *devs = json_object_new_array();
	uint64_t sum[VCPU_EXIT_NR] = { 0 };
	struct vhost_user_dev *dev;
	struct vm_info vi;

	if (!obj || !vcpus || !devs) {
		json_object_put(obj);
		json_object_put(vcpus);
		json_object_put(devs);
		return -ENOMEM;
	}
	vm_get_info(vm, &vi);
	for (unsigned i = 0; i < vi.ncpus; i++) {
		struct json_object *v = json_object_new_object();
		struct vcpu_stats st;
		uint64_t total = 0;

		vm_get_vcpu_stats(vm, i, &st);
		for (unsigned r = 0; r < VCPU_EXIT_NR; r++) {
			sum[r] += st.exits[r];
			total += st.exits[r];
		}
		if (v) {
			json_object_object_add(v, "id", json_object_new_int((int)i));
			json_object_object_add(v, "parked",
					       json_object_new_boolean(st.parked));
			json_object_object_add(v, "exits_total",
					       json_object_new_int64((int64_t)total));
			json_object_object_add(v, "exits",
					       control_exits_json(st.exits));
		}
		json_object_array_add(vcpus, v);
	}
	for (unsigned i = 0; (dev = vm_device(vm, i)); i++) {
		struct json_object *d = json_object_new_object();
		struct json_object *core = json_object_new_object();
		struct vhost_user_dev_info di;

		vhost_user_dev_get_info(dev, &di);
		if (core) {
			json_object_object_add(core, "driver_ok",
				json_object_new_int64((int64_t)di.driver_ok_count));
			json_object_object_add(core, "resets",
				json_object_new_int64((int64_t)di.reset_count));
			json_object_object_add(core, "restarts",
				json_object_new_int((int)di.restarts));
		}
		if (d) {
			json_object_object_add(d, "id", json_object_new_string(di.name));
			json_object_object_add(d, "core", core);
			/* vhost-user has no statistics message (docs). */
			json_object_object_add(d, "backend", NULL);
		} else {
			json_object_put(core);
		}
		json_object_array_add(devs, d);
	}
	json_object_object_add(obj, "vcpus", vcpus);
	json_object_object_add(obj, "exits", control_exits_json(sum));
	json_object_object_add(obj, "pio_exits",
			       json_object_new_int64((int64_t)sum[VCPU_EXIT_IO]));
	json_object_object_add(obj, "mmio_exits",
			       json_object_new_int64((int64_t)sum[VCPU_EXIT_MMIO]));
	json_object_object_add(obj, "irq_line_changes",
			       json_object_new_int64((int64_t)vi.irq_line_changes));
	json_object_object_add(obj, "devices", devs);
	return control_reply_json(200, obj, reply);
}

static int control_device_restart(struct vm *vm, struct json_object *body,
				  struct control_reply *reply)
{
	struct json_object *id = NULL;
	struct vhost_user_dev *dev;
	const char *name;
	char msg[160];

	if (!body || !json_object_object_get_ex(body, "id", &id) ||
	    !json_object_is_type(id, json_type_string))
		return control_error(400, "expected {\"id\": \"<device>\"}",
				     reply);
	name = json_object_get_string(id);
	for (unsigned i = 0; (dev = vm_device(vm, i)); i++) {
		struct vhost_user_dev_info di;

		vhost_user_dev_get_info(dev, &di);
		if (strcmp(di.name, name))
			continue;
		switch (backend_spawn_restart(vm_backends(vm), i)) {
		case 0:
			return control_reply_json(202, json_tokener_parse(
				"{\"restarting\":true}"), reply);
		case -ENODEV:
			snprintf(msg, sizeof(msg), "%s: its back-end was not "
				 "started by splitvm (socket=)", di.name);
			return control_error(409, msg, reply);
		case -EBUSY:
			snprintf(msg, sizeof(msg), "%s: its switch serves other "
				 "VMs too and is not restarted for one", di.name);
			return control_error(409, msg, reply);
		default:
			snprintf(msg, sizeof(msg), "%s: the back-end supervisor "
				 "is gone", di.name);
			return control_error(503, msg, reply);
		}
	}
	snprintf(msg, sizeof(msg), "no device \"%.32s\"", name);
	return control_error(404, msg, reply);
}

static int control_metrics(struct vm *vm, struct control_reply *reply)
{
	struct vhost_user_dev_info devs[VM_MAX_VHOST_USER_DEVS];
	struct metrics_snapshot snap = { .version = SPLITVM_VERSION };
	struct vcpu_stats *vcpus;
	struct vhost_user_dev *dev;
	struct vm_info vi;
	int ret;

	vm_get_info(vm, &vi);
	vcpus = calloc(vi.ncpus, sizeof(*vcpus));
	if (!vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < vi.ncpus; i++)
		vm_get_vcpu_stats(vm, i, &vcpus[i]);
	for (unsigned i = 0; i < VM_MAX_VHOST_USER_DEVS && (dev = vm_device(vm, i)); i++) {
		vhost_user_dev_get_info(dev, &devs[i]);
		snap.nr_devices = i + 1;
	}
	snap.info = &vi;
	snap.vcpus = vcpus;
	snap.devices = devs;
	ret = metrics_format(&snap, &reply->body, &reply->len);
	free(vcpus);
	if (ret)
		return ret;
	reply->status = 200;
	reply->content_type = METRICS_CONTENT_TYPE;
	return 0;
}

int control_handle(struct vm *vm, enum control_endpoint ep,
		   const char *body, size_t len, struct control_reply *reply)
{
	static const char *const restart_keys[] = { "id", NULL };
	struct json_object *obj = NULL;
	int ret;

	memset(reply, 0, sizeof(*reply));
	/* GETs take no body; actions an empty one or "{}" (or restart's). */
	if (ep == CONTROL_EP_DEVICE_RESTART)
		ret = control_parse_body(body, len, restart_keys, &obj, reply);
	else
		ret = control_parse_body(body, len, NULL, &obj, reply);
	if (ret)
		return ret < 0 ? ret : 0;

	switch (ep) {
	case CONTROL_EP_PING:
		ret = control_ping(reply);
		break;
	case CONTROL_EP_INFO:
		ret = control_info(vm, reply);
		break;
	case CONTROL_EP_PAUSE:
	case CONTROL_EP_RESUME:
		ret = control_pause_resume(vm, ep == CONTROL_EP_PAUSE, reply);
		break;
	case CONTROL_EP_SHUTDOWN:
		/* control.c ends the VM once this reply is out. */
		ret = control_reply_json(202, json_tokener_parse(
			"{\"state\":\"stopping\"}"), reply);
		break;
	case CONTROL_EP_DEVICES:
		ret = control_devices(vm, reply);
		break;
	case CONTROL_EP_COUNTERS:
		ret = control_counters(vm, reply);
		break;
	case CONTROL_EP_DEVICE_RESTART:
		ret = control_device_restart(vm, obj, reply);
		break;
	case CONTROL_EP_METRICS:
		ret = control_metrics(vm, reply);
		break;
	default:
		ret = control_error(404, "no such endpoint", reply);
		break;
	}
	json_object_put(obj);
	return ret;
}
