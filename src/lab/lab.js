// SPDX-License-Identifier: ISC
// src/lab/lab.js: the script of scepd's /lab/ page (no framework). Every few
// seconds it reads /lab/api/recordings and redraws the table and the timeline
// (enrollments and failures per minute, as SVG bars); a click on a row shows
// that exchange decoded (/lab/api/recordings/ID/decoded).
"use strict";
(function () {
	var REFRESH_MS = 3000;
	var api = "api/recordings";

	function cell(tr, text, cls) {
		var td = document.createElement("td");
		td.textContent = text;
		if (cls) td.className = cls;
		tr.appendChild(td);
		return td;
	}

	function link(td, href, text) {
		var a = document.createElement("a");
		a.href = href;
		a.textContent = text;
		a.setAttribute("download", "");
		td.appendChild(a);
		td.appendChild(document.createTextNode(" "));
	}

	function when(ms) {
		return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
	}

	function showDetails(id) {
		var pre = document.getElementById("details");
		pre.textContent = "Decoding #" + id + "\u2026";
		fetch(api + "/" + id + "/decoded").then(function (r) { return r.text(); })
			.then(function (t) { pre.textContent = t; })
			.catch(function (e) { pre.textContent = "cannot decode: " + e; });
	}

	function drawTable(recs) {
		var tbody = document.querySelector("#recordings tbody");
		while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
		recs.forEach(function (r) {
			var tr = document.createElement("tr"), raw;
			tr.className = "rec " + r.outcome;
			tr.setAttribute("data-id", r.id);
			tr.setAttribute("data-txid", r.transaction_id);
			cell(tr, String(r.id));
			cell(tr, when(r.received_ms));
			cell(tr, String(r.answered_ms - r.received_ms));
			cell(tr, r.client);
			cell(tr, r.profile);
			cell(tr, r.message_type);
			cell(tr, r.transaction_id || "(unparsed)", "txid");
			cell(tr, r.http_status === 200 ? r.outcome : "HTTP " + r.http_status, "outcome");
			cell(tr, r.failinfo || "");
			cell(tr, r.reason || "", "reason").title = r.reason || "";
			raw = cell(tr, "");
			if (r.request_bytes > 0) link(raw, api + "/" + r.id + "/request", "request");
			if (r.reply_bytes > 0) link(raw, api + "/" + r.id + "/reply", "reply");
			tr.addEventListener("click", function () { showDetails(r.id); });
			tbody.appendChild(tr);
		});
	}

	function svg(name, attrs) {
		var e = document.createElementNS("http://www.w3.org/2000/svg", name), k;
		for (k in attrs) e.setAttribute(k, attrs[k]);
		return e;
	}

	// One bar group per minute: SUCCESS, FAILURE (and HTTP errors), PENDING.
	function drawChart(recs) {
		var chart = document.getElementById("chart"), W = 720, H = 160, pad = 20;
		var buckets = {}, keys, max = 1, bw, i;
		while (chart.firstChild) chart.removeChild(chart.firstChild);
		recs.forEach(function (r) {
			var m = Math.floor(r.received_ms / 60000);
			var b = buckets[m] || (buckets[m] = { ok: 0, fail: 0, pend: 0 });
			if (r.outcome === "SUCCESS") b.ok++;
			else if (r.outcome === "PENDING") b.pend++;
			else b.fail++;
		});
		keys = Object.keys(buckets).map(Number).sort(function (a, b) { return a - b; });
		keys.forEach(function (k) {
			var b = buckets[k];
			max = Math.max(max, b.ok, b.fail, b.pend);
		});
		chart.appendChild(svg("line", { x1: pad, y1: H - pad, x2: W, y2: H - pad, stroke: "#888" }));
		if (keys.length === 0) return;
		bw = Math.max(4, Math.min(30, (W - pad) / keys.length / 3 - 2));
		for (i = 0; i < keys.length; i++) {
			var b = buckets[keys[i]], x = pad + i * (3 * bw + 8) + 4;
			[["ok", "#2a2"], ["fail", "#d22"], ["pend", "#e90"]].forEach(function (s, j) {
				var h = (H - 2 * pad) * b[s[0]] / max;
				var rect = svg("rect", { x: x + j * bw, y: H - pad - h, width: bw - 1,
					height: h, fill: s[1], "class": "bar-" + s[0] });
				rect.appendChild(svg("title", {})).textContent = b[s[0]] + " " + s[0];
				chart.appendChild(rect);
			});
			var t = svg("text", { x: x, y: H - 5, "font-size": 10, fill: "#444" });
			t.textContent = new Date(keys[i] * 60000).toISOString().substr(11, 5);
			chart.appendChild(t);
		}
	}

	function refresh() {
		fetch(api, { cache: "no-store" }).then(function (r) {
			if (!r.ok) throw new Error("HTTP " + r.status);
			return r.json();
		}).then(function (recs) {
			document.getElementById("status").textContent = recs.length +
				" recorded transactions, newest first; refreshed " + when(Date.now()) + " UTC";
			drawTable(recs);
			drawChart(recs);
		}).catch(function (e) {
			document.getElementById("status").textContent = "cannot read recordings: " + e;
		});
	}

	refresh();
	setInterval(refresh, REFRESH_MS);
})();
