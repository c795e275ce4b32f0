/* SPDX-License-Identifier: ISC */
/*
 * labpage.c: serves lab mode's /lab/ page (labpage.h):
 *   /lab/                               the page (src/lab/index.html)
 *   /lab/lab.js                         its script
 *   /lab/api/recordings                 the newest recorded exchanges, JSON
 *   /lab/api/recordings/ID/request      the raw request (application/octet-stream)
 *   /lab/api/recordings/ID/reply        the raw reply
 *   /lab/api/recordings/ID/decoded      both decoded in plain words (text/plain)
 * It reads the store's recordings and writes nothing; the page's bytes are
 * compiled in (src/lab_assets.h, made by the Makefile from src/lab/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "config.h"
#include "httpd.h"
#include "inspect.h"
#include "labpage.h"
#include "log.h"
#include "scep_types.h"
#include "store.h"
#include "util.h"

#include "lab_assets.h"

#define LAB_LIST_MAX 200     /* recordings the table shows */
#define LAB_PREFIX "/lab/"
#define LAB_API "/lab/api/recordings"

int labpage_path(const char *path)
{
	return strcmp(path, "/lab") == 0 || strncmp(path, LAB_PREFIX, strlen(LAB_PREFIX)) == 0;
}

static void set_bytes(struct http_response *resp, const char *type, const void *b, size_t n)
{
	resp->status = 200;
	resp->content_type = type;
	resp->body = xmalloc(n > 0 ? n : 1);
	memcpy(resp->body, b, n);
	resp->body_len = n;
}

/* A compiled-in file of src/lab/ by name, or 0. */
static int serve_asset(const char *name, struct http_response *resp)
{
	size_t i;
	const char *dot = strrchr(name, '.');

	for (i = 0; i < sizeof(lab_assets) / sizeof(lab_assets[0]); i++) {
		if (strcmp(lab_assets[i].name, name) != 0)
			continue;
		set_bytes(resp, dot != NULL && strcmp(dot, ".js") == 0 ? "text/javascript" :
		    dot != NULL && strcmp(dot, ".css") == 0 ? "text/css" : "text/html",
		    lab_assets[i].bytes, lab_assets[i].len);
		httpd_add_header(resp, "Cache-Control", "no-store");
		/* the page runs its own script only; what it shows is set as text */
		httpd_add_header(resp, "Content-Security-Policy", "default-src 'self'; "
		    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
		return 1;
	}
	return 0;
}

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v != NULL ? v : ""));
}

static int list_one(const struct store_recording *r, void *arg)
{
	json_object *arr = arg, *o = json_object_new_object();

	if (o == NULL)
		return -1;
	json_object_object_add(o, "id", json_object_new_int64(r->id));
	add_str(o, "transaction_id", r->transaction_id);
	add_str(o, "message_type", r->message_type >= 0 ? scep_msgtype_name(r->message_type) : "");
	add_str(o, "profile", r->profile);
	add_str(o, "client", r->client_addr);
	json_object_object_add(o, "received_ms", json_object_new_int64(r->received_ms));
	json_object_object_add(o, "answered_ms", json_object_new_int64(r->answered_ms));
	json_object_object_add(o, "http_status", json_object_new_int(r->http_status));
	add_str(o, "outcome", r->outcome);
	add_str(o, "failinfo", r->failinfo >= 0 ? scep_failinfo_name(r->failinfo) : "");
	add_str(o, "reason", r->reason);
	json_object_object_add(o, "request_bytes", json_object_new_int64((int64_t)r->request_len));
	json_object_object_add(o, "reply_bytes", json_object_new_int64((int64_t)r->reply_len));
	if (json_object_array_add(arr, o) != 0) {
		json_object_put(o);
		return -1;
	}
	return 0;
}

static void list_recordings(struct store *st, struct http_response *resp)
{
	json_object *arr = json_object_new_array();
	const char *text;

	if (arr == NULL || store_recording_foreach(st, LAB_LIST_MAX, list_one, arr) != 0 ||
	    (text = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN)) == NULL) {
		log_msg(LOG_ERR, "lab: listing recordings: %s", store_errmsg(st));
		httpd_text(resp, 500, "cannot list the recordings: %s", store_errmsg(st));
		goto out;
	}
	set_bytes(resp, "application/json", text, strlen(text));
	httpd_add_header(resp, "Cache-Control", "no-store");
out:
	json_object_put(arr);
}

/* /lab/api/recordings/ID/WHAT */
static void one_recording(const struct config *cfg, struct store *st, const struct signer *ra,
    const char *rest, struct http_response *resp)
{
	struct store_recording *r = NULL;
	char *end, *text = NULL, disposition[96];
	size_t text_len = 0;
	long long id = strtoll(rest, &end, 10);
	FILE *f;

	if (rest[0] < '1' || rest[0] > '9' || *end != '/' || id <= 0) {
		httpd_text(resp, 404, "no such recording");
		return;
	}
	switch (store_recording_get(st, id, NULL, &r)) {
	case STORE_OK:
		break;
	case STORE_NOT_FOUND:
		httpd_text(resp, 404, "no recording %lld (the oldest are dropped past "
		    "lab.record_max)", id);
		return;
	default:
		httpd_text(resp, 500, "cannot read recording %lld: %s", id, store_errmsg(st));
		return;
	}
	end++;
	if (strcmp(end, "request") == 0 || strcmp(end, "reply") == 0) {
		int request = strcmp(end, "request") == 0;

		if ((request ? r->request : r->reply) == NULL) {
			httpd_text(resp, 404, "recording %lld: its %s was not kept", id, end);
			goto out;
		}
		set_bytes(resp, "application/octet-stream", request ? r->request : r->reply,
		    request ? r->request_len : r->reply_len);
		snprintf(disposition, sizeof(disposition), "attachment; filename=\"%lld-%s.der\"",
		    id, end);
		httpd_add_header(resp, "Content-Disposition", disposition);
	} else if (strcmp(end, "decoded") == 0) {
		if ((f = open_memstream(&text, &text_len)) == NULL) {
			httpd_text(resp, 500, "out of memory");
			goto out;
		}
		inspect_recording(f, r, ra, cfg);
		if (fclose(f) != 0 || text == NULL) {
			httpd_text(resp, 500, "cannot decode recording %lld", id);
			goto out;
		}
		resp->status = 200;
		resp->content_type = "text/plain";
		resp->body = (unsigned char *)text;
		resp->body_len = text_len;
		text = NULL;
	} else {
		httpd_text(resp, 404, "no such page");
	}
out:
	free(text);
	store_recording_free(r);
}

void labpage_handle(const struct config *cfg, struct store_pool *pool, const struct signer *ra,
    const struct http_request *req, struct http_response *resp)
{
	const char *path = req->path;
	struct store *st = NULL;
	char err[256];

	if (strcmp(path, "/lab") == 0) {
		httpd_text(resp, 301, "see /lab/");
		httpd_add_header(resp, "Location", LAB_PREFIX);
		return;
	}
	if (strcmp(path, LAB_PREFIX) == 0) {
		if (!serve_asset("index.html", resp))
			httpd_text(resp, 404, "no such page");
		return;
	}
	if (strncmp(path, LAB_API, strlen(LAB_API)) != 0) {
		if (strchr(path + strlen(LAB_PREFIX), '/') != NULL ||
		    !serve_asset(path + strlen(LAB_PREFIX), resp))
			httpd_text(resp, 404, "no such page");
		return;
	}
	path += strlen(LAB_API);
	if (path[0] != '\0' && path[0] != '/') {
		httpd_text(resp, 404, "no such page");
		return;
	}
	if ((st = store_pool_get(pool, err, sizeof(err))) == NULL) {
		log_msg(LOG_ERR, "lab: store: %s", err);
		httpd_text(resp, 503, "the store is not available");
		return;
	}
	if (path[0] == '\0' || strcmp(path, "/") == 0)
		list_recordings(st, resp);
	else
		one_recording(cfg, st, ra, path + 1, resp);
	httpd_add_header(resp, "X-Content-Type-Options", "nosniff");
	store_pool_put(pool, st);
}
