/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-ctl: a command-line client for splitvm's control API
 * (docs/control-api.md).  HTTP over the unix socket by libcurl, replies
 * read with json-c; human output by default, the raw reply with --json.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_EXIT_ERROR		1
#define CTL_EXIT_USAGE		2
/* No reply of ours comes near this; more is not a splitvm socket. */
#define CTL_MAX_REPLY		(4u << 20)
#define CTL_TIMEOUT_S		30L

struct ctl_buf {
	char *data;
	size_t len;
	bool overflow;
};

struct ctl_command {
	const char *name;
	const char *method;
	const char *path;
	void (*print)(struct json_object *reply);
	const char *help;
};

static void ctl_usage(FILE *out)
{
	fprintf(out,
"Usage: splitvm-ctl [--socket PATH] [--json] COMMAND [ARG]\n"
"Control a running splitvm through its --api-socket.\n"
"\n"
"Commands:\n"
"  ping             the API answers (prints the version)\n"
"  info             VM state, vCPUs, memory, uptime, kernel, command line\n"
"  pause            park every vCPU\n"
"  resume           let them run again\n"
"  shutdown         end the VM as a guest poweroff would (exit status 0)\n"
"  devices          virtio devices and their vhost-user back-ends\n"
"  counters         vCPU exits by reason, per-device counts\n"
"  metrics          OpenMetrics text (as a Prometheus scrape gets it)\n"
"  restart DEVICE   restart a device's back-end\n"
"\n"
"Options:\n"
"  -s, --socket PATH  the API socket (default $SPLITVM_API_SOCKET)\n"
"  -j, --json         print the JSON reply as it came\n"
"  -h, --help         show this help\n"
"\n"
"Exit status: 0 done, 1 the API refused or could not be reached (the\n"
"reason is printed), 2 bad command line.\n");
}

static size_t ctl_write(char *ptr, size_t size, size_t nmemb, void *opaque)
{
	struct ctl_buf *b = opaque;
	size_t n = size * nmemb;
	char *nd;

	if (b->len + n > CTL_MAX_REPLY) {
		b->overflow = true;
		return 0;
	}
	nd = realloc(b->data, b->len + n + 1);
	if (!nd)
		return 0;
	memcpy(nd + b->len, ptr, n);
	b->data = nd;
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* One request; 0 and the reply, or -1 with the reason printed. */
static int ctl_request(const char *socket_path, const char *method,
		       const char *path, const char *body, long *status,
		       struct ctl_buf *reply)
{
	char url[256], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	CURL *curl;

	curl = curl_easy_init();
	if (!curl) {
		fprintf(stderr, "splitvm-ctl: cannot initialise libcurl\n");
		return -1;
	}
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, CTL_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ctl_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		fprintf(stderr, "splitvm-ctl: %s: %s\n", socket_path,
			reply->overflow ? "reply too large" :
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

static const char *ctl_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

static int64_t ctl_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v)
						     : 0;
}

static void ctl_print_state(struct json_object *r)
{
	printf("%s\n", ctl_str(r, "state"));
}

static void ctl_print_ping(struct json_object *r)
{
	printf("splitvm %s\n", ctl_str(r, "version"));
}

static void ctl_print_info(struct json_object *r)
{
	struct json_object *ex, *up;

	printf("state     %s\n", ctl_str(r, "state"));
	printf("vcpus     %lld\n", (long long)ctl_int(r, "vcpus"));
	printf("memory    %lld MiB\n", (long long)(ctl_int(r, "memory_bytes") >> 20));
	if (json_object_object_get_ex(r, "uptime_s", &up))
		printf("uptime    %.1f s\n", json_object_get_double(up));
	printf("kernel    %s\n", ctl_str(r, "kernel"));
	printf("initrd    %s\n", ctl_str(r, "initrd"));
	printf("cmdline   %s\n", ctl_str(r, "cmdline"));
	printf("devices   %lld\n", (long long)ctl_int(r, "devices"));
	if (json_object_object_get_ex(r, "exit", &ex) && ex)
		printf("exit      %s, status %lld\n", ctl_str(ex, "reason"),
		       (long long)ctl_int(ex, "status"));
	printf("version   %s\n", ctl_str(r, "version"));
}

static void ctl_print_devices(struct json_object *r)
{
	struct json_object *arr, *feat, *be, *sw = NULL;
	size_t n;

	if (!json_object_object_get_ex(r, "devices", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	if (!n) {
		printf("no devices\n");
		return;
	}
	printf("%-6s %-11s %-8s %-10s %-8s %s\n", "ID", "TYPE", "PCI",
	       "BACKEND", "RESTARTS", "SOCKET");
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(arr, i);

		printf("%-6s %-11s %-8s %-10s %-8lld %s\n", ctl_str(d, "id"),
		       ctl_str(d, "type"), ctl_str(d, "pci"),
		       ctl_str(d, "backend_state"),
		       (long long)ctl_int(d, "restarts"), ctl_str(d, "socket"));
		if (json_object_object_get_ex(d, "features", &feat))
			printf("       features: back-end %s, offered %s, driver %s\n",
			       ctl_str(feat, "backend"), ctl_str(feat, "offered"),
			       ctl_str(feat, "driver"));
		/* A back-end splitvm started (path=, switch=). */
		sw = NULL;
		if (json_object_object_get_ex(d, "backend", &be) && be &&
		    !json_object_object_get_ex(be, "switch", &sw))
			sw = NULL;
		if (be)
			printf("       spawned: %s pid %lld, %s, %lld restarts%s%s\n",
			       ctl_str(be, "program"), (long long)ctl_int(be, "pid"),
			       ctl_str(be, "state"),
			       (long long)ctl_int(be, "restarts"),
			       sw ? ", switch " : "",
			       sw ? json_object_get_string(sw) : "");
	}
}

/* "io=12 mmio=3 ...", leaving out zeros. */
static void ctl_print_exits(struct json_object *exits)
{
	/* The C-style iteration: foreach is a GNU statement expression. */
	struct json_object_iter it;

	json_object_object_foreachC(exits, it) {
		if (json_object_get_int64(it.val))
			printf(" %s=%lld", it.key,
			       (long long)json_object_get_int64(it.val));
	}
}

static void ctl_print_counters(struct json_object *r)
{
	struct json_object *arr, *exits, *core;

	if (json_object_object_get_ex(r, "vcpus", &arr))
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *v = json_object_array_get_idx(arr, i);

			printf("vcpu%lld  exits %lld%s:", (long long)ctl_int(v, "id"),
			       (long long)ctl_int(v, "exits_total"),
			       !strcmp(ctl_str(v, "parked"), "true") ? " (parked)" : "");
			if (json_object_object_get_ex(v, "exits", &exits))
				ctl_print_exits(exits);
			printf("\n");
		}
	printf("irq line changes %lld\n", (long long)ctl_int(r, "irq_line_changes"));
	if (json_object_object_get_ex(r, "devices", &arr))
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *d = json_object_array_get_idx(arr, i);

			printf("%s", ctl_str(d, "id"));
			if (json_object_object_get_ex(d, "core", &core))
				printf("  driver_ok %lld, resets %lld, restarts %lld",
				       (long long)ctl_int(core, "driver_ok"),
				       (long long)ctl_int(core, "resets"),
				       (long long)ctl_int(core, "restarts"));
			printf("  (back-end counters: %s)\n",
			       !strcmp(ctl_str(d, "backend"), "-") ?
			       "not available" : ctl_str(d, "backend"));
		}
}

static const struct ctl_command ctl_commands[] = {
	{ "ping", "GET", "/api/v1/vmm.ping", ctl_print_ping, NULL },
	{ "info", "GET", "/api/v1/vm.info", ctl_print_info, NULL },
	{ "pause", "PUT", "/api/v1/vm.pause", ctl_print_state, NULL },
	{ "resume", "PUT", "/api/v1/vm.resume", ctl_print_state, NULL },
	{ "shutdown", "PUT", "/api/v1/vm.shutdown", ctl_print_state, NULL },
	{ "devices", "GET", "/api/v1/vm.devices", ctl_print_devices, NULL },
	{ "counters", "GET", "/api/v1/vm.counters", ctl_print_counters, NULL },
	{ "metrics", "GET", "/metrics", NULL, NULL },
	{ "restart", "PUT", "/api/v1/vm.device-restart", NULL, "DEVICE" },
};

static int ctl_run(const char *sock, const struct ctl_command *cmd,
		   const char *arg, bool raw)
{
	struct ctl_buf reply = { NULL, 0, false };
	struct json_object *obj = NULL, *err;
	char *body = NULL;
	long status = 0;
	int ret = CTL_EXIT_ERROR;

	if (cmd->help) {
		struct json_object *b = json_object_new_object();

		json_object_object_add(b, "id", json_object_new_string(arg));
		body = strdup(json_object_to_json_string(b));
		json_object_put(b);
	}
	if (ctl_request(sock, cmd->method, cmd->path, body, &status, &reply))
		goto out;
	if (!reply.data)
		reply.data = strdup("");
	if (!cmd->print && status < 300) {
		fputs(reply.data, stdout);	/* metrics, restart's reply */
		ret = 0;
		goto out;
	}
	obj = json_tokener_parse(reply.data);
	if (status >= 300) {
		if (raw)
			fputs(reply.data, stdout);
		fprintf(stderr, "splitvm-ctl: %s: HTTP %ld: %s\n", cmd->name,
			status, obj && json_object_object_get_ex(obj, "error", &err)
				? ctl_str(err, "message") : reply.data);
		goto out;
	}
	if (raw) {
		fputs(reply.data, stdout);
	} else if (!obj) {
		fprintf(stderr, "splitvm-ctl: %s: reply is not JSON\n", cmd->name);
		goto out;
	} else {
		cmd->print(obj);
	}
	ret = 0;
out:
	json_object_put(obj);
	free(reply.data);
	free(body);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("SPLITVM_API_SOCKET");
	const struct ctl_command *cmd = NULL;
	bool raw = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			raw = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		if (!strcmp(argv[optind], ctl_commands[i].name))
			cmd = &ctl_commands[i];
	if (!cmd) {
		fprintf(stderr, "splitvm-ctl: unknown command '%s' (see --help)\n",
			argv[optind]);
		return CTL_EXIT_USAGE;
	}
	if (argc - optind != (cmd->help ? 2 : 1)) {
		fprintf(stderr, "splitvm-ctl: %s takes %s\n", cmd->name,
			cmd->help ? cmd->help : "no argument");
		return CTL_EXIT_USAGE;
	}
	if (!sock || !*sock) {
		fprintf(stderr, "splitvm-ctl: no socket: use --socket PATH or set SPLITVM_API_SOCKET\n");
		return CTL_EXIT_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_NOTHING)) {
		fprintf(stderr, "splitvm-ctl: cannot initialise libcurl\n");
		return CTL_EXIT_ERROR;
	}
	ret = ctl_run(sock, cmd, cmd->help ? argv[optind + 1] : NULL, raw);
	curl_global_cleanup();
	return ret;
}
