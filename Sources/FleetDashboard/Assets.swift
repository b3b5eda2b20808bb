/// The dashboard's one stylesheet and one script, served from the hub (`/ui/static/…`): no build step, no
/// inline script (the Content-Security-Policy allows scripts from the hub only).
public enum Assets {
    public static let files: [String: (contentType: String, body: String)] = [
        "app.css": ("text/css; charset=utf-8", css),
        "app.js": ("text/javascript; charset=utf-8", js),
    ]

    static let css = """
    :root { --bg: #f7f8fa; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --card: #fff;
      --good: #1a7f37; --good-bg: #dafbe1; --bad: #b42318; --bad-bg: #ffe2e0; --warn: #8a5a00; --warn-bg: #fff4cc;
      --prog: #0b5cad; --prog-bg: #ddf4ff; --mute-bg: #eaeef2; --link: #0550ae; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
    a { color: var(--link); }
    a:focus, button:focus, input:focus, select:focus, textarea:focus, summary:focus { outline: 3px solid #0969da; outline-offset: 2px; }
    .skip { position: absolute; left: -9999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
    .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
    header.top { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #1b1f24; color: #fff; flex-wrap: wrap; }
    header.top a { color: #fff; text-decoration: none; }
    .brand { font-weight: 700; font-size: 18px; letter-spacing: .02em; }
    nav a { margin-right: 16px; padding: 4px 0; } nav a[aria-current="page"] { border-bottom: 3px solid #6cb6ff; }
    .who { margin-left: auto; display: flex; gap: 12px; align-items: center; color: #d0d7de; }
    .who form { margin: 0; } button.link { background: none; border: 1px solid #57606a; color: #fff; }
    main { padding: 16px 24px 48px; max-width: 1400px; }
    h1 { font-size: 24px; margin: 8px 0 12px; } h2 { font-size: 18px; margin: 20px 0 8px; }
    .muted { color: var(--muted); font-weight: normal; }
    td.mono { white-space: nowrap; }
    .mono, code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
    button { font: inherit; padding: 5px 12px; border-radius: 6px; border: 1px solid #1f6feb; background: #1f6feb; color: #fff; cursor: pointer; }
    input, select, textarea { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--fg); }
    .filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin: 8px 0 12px; }
    .filters label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); }
    .stack { display: flex; flex-direction: column; gap: 6px; max-width: 960px; } .narrow { max-width: 520px; }
    .summary { color: var(--muted); }
    .live-status { margin: 0; padding: 2px 24px; font-size: 12px; color: var(--muted); min-height: 1.2em; }
    .flash { padding: 8px 12px; border-radius: 6px; margin: 8px 24px; } main .flash { margin: 8px 0; }
    .pill { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 13px; border: 1px solid transparent; }
    .tone-good { background: var(--good-bg); color: var(--good); border-color: #aceebb; }
    .tone-bad { background: var(--bad-bg); color: var(--bad); border-color: #ffc1ba; }
    .tone-warning { background: var(--warn-bg); color: var(--warn); border-color: #f5d67b; }
    .tone-progressing { background: var(--prog-bg); color: var(--prog); border-color: #a8dcff; }
    .tone-muted, .tone-unknown { background: var(--mute-bg); color: var(--muted); border-color: var(--line); }
    tr.tone-unknown, tr.tone-muted, tr.tone-bad { background: none; }
    tr.tone-bad td:nth-child(2) { color: var(--bad); font-weight: 600; }
    .tiles { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 10px; }
    .tile { padding: 10px 12px; border-radius: 8px; border-width: 1px; border-style: solid; display: flex; flex-direction: column; gap: 2px; }
    .tile a { color: inherit; } .tile .state { font-weight: 600; } .tile .counts { font-size: 13px; align-self: flex-start; } .tile .moved { font-size: 13px; color: var(--fg); }
    table { border-collapse: collapse; background: var(--card); }
    table.list { width: 100%; } table.list th, table.list td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
    .grid-wrap { overflow-x: auto; max-width: 100%; }
    table.grid th, table.grid td { border: 1px solid var(--line); padding: 3px 6px; font-size: 13px; text-align: center; white-space: nowrap; }
    table.grid th[scope="row"] { text-align: left; } table.grid td a { color: inherit; text-decoration: none; display: block; }
    .pager a { margin-right: 12px; }
    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: var(--card); padding: 12px; border: 1px solid var(--line); border-radius: 8px; }
    dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
    .actions { display: flex; gap: 8px; flex-wrap: wrap; } .actions form { margin: 0; }
    .conditions { padding-left: 0; list-style: none; } .conditions li { padding: 6px 10px; border-radius: 6px; margin-bottom: 4px; }
    details { background: var(--card); border: 1px solid var(--line); border-radius: 6px; margin: 4px 0; padding: 4px 10px; }
    pre.diff { overflow-x: auto; margin: 6px 0; padding: 8px; background: #f6f8fa; }
    pre.diff .add { color: #116329; background: #e6ffec; } pre.diff .del { color: #82071e; background: #ffebe9; }
    pre.diff .hunk { color: #6639ba; } pre.diff .file { color: var(--muted); }
    textarea { width: 100%; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
    .band { display: flex; gap: 12px; align-items: center; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 6px 10px; margin: 6px 0; flex-wrap: wrap; }
    .band-open { border-color: var(--bad); }
    .steps { display: flex; gap: 0; list-style: none; padding: 0; margin: 0; flex-wrap: wrap; }
    .step { padding: 2px 10px; font-size: 13px; border-radius: 0; } .step:first-child { border-radius: 10px 0 0 10px; } .step:last-child { border-radius: 0 10px 10px 0; }
    td form { margin: 0; }
    """

    /// Live updates: the page's `data-live` stream (server-sent events) updates tiles, rows and fields in place,
    /// by their `data-cluster`, `data-app` and `data-field` attributes. Text only (`textContent`), never markup.
    static let js = """
    "use strict";
    (function () {
      function each(selector, attribute, value, fn) {
        document.querySelectorAll(selector).forEach(function (el) { if (el.getAttribute(attribute) === value) { fn(el); } });
      }
      function setTone(el, tone) {
        el.className = el.className.split(" ").filter(function (c) { return c.indexOf("tone-") !== 0; }).concat([tone]).join(" ");
      }
      function fill(root, data, toned) {
        root.querySelectorAll("[data-field]").forEach(function (el) {
          var key = el.getAttribute("data-field");
          if (!(key in data)) { return; }
          el.textContent = data[key];
          if (toned[key] && data[toned[key]]) { setTone(el, data[toned[key]]); }
        });
      }
      var status = document.getElementById("live-status");
      var live = document.body.getAttribute("data-live");
      if (live && window.EventSource) {
        var source = new EventSource(live);
        source.addEventListener("open", function () { status.textContent = "Live: updates appear as they happen."; document.body.setAttribute("data-connected", "true"); });
        source.addEventListener("error", function () { status.textContent = "Live updates interrupted: reconnecting…"; document.body.setAttribute("data-connected", "false"); });
        // The Fleet page's summary ("7 Healthy", "1 FailedOver"): recounted from the tiles after each change.
        function recount() {
          var box = document.querySelector("[data-summary]");
          if (!box) { return; }
          var counts = {};
          document.querySelectorAll("li[data-cluster][data-state]").forEach(function (tile) {
            var state = tile.getAttribute("data-state");
            counts[state] = (counts[state] || 0) + 1;
          });
          while (box.firstChild) { box.removeChild(box.firstChild); }
          box.getAttribute("data-summary").split(",").forEach(function (pair) {
            var parts = pair.split("=");
            if (!counts[parts[0]]) { return; }
            var pill = document.createElement("span");
            pill.className = "pill " + parts[1];
            pill.setAttribute("data-summary-state", parts[0]);
            pill.textContent = counts[parts[0]] + " " + parts[0];
            box.appendChild(pill);
            box.appendChild(document.createTextNode(" "));
          });
        }
        source.addEventListener("cluster", function (m) {
          var c = JSON.parse(m.data);
          each("[data-cluster]", "data-cluster", c.name, function (tile) {
            tile.setAttribute("data-state", c.state);
            setTone(tile, c.tone);
            fill(tile, c, { counts: "countsTone" });
          });
          recount();
        });
        var refreshing = null;
        source.addEventListener("app", function (m) {
          var a = JSON.parse(m.data);
          each("[data-app]", "data-app", a.name, function (row) { fill(row, a, { sync: "syncTone", health: "healthTone" }); });
          // The page's other live sections (resources, conditions, history) are read again from the hub, once.
          if (document.querySelector("section[data-refresh]") && !refreshing) {
            refreshing = setTimeout(function () {
              refreshing = null;
              fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
                if (!html) { return; }
                var fresh = new DOMParser().parseFromString(html, "text/html");
                document.querySelectorAll("section[data-refresh]").forEach(function (old) {
                  var next = fresh.getElementById(old.id);
                  if (next) { old.replaceWith(document.importNode(next, true)); }
                });
              });
            }, 300);
          }
        });
        source.addEventListener("event", function (m) {
          var e = JSON.parse(m.data);
          var body = document.querySelector("table.list tbody");
          if (!body || document.body.getAttribute("data-page") !== "events") { return; }
          var row = document.createElement("tr");
          [e.at, e.type, e.cluster || "", e.application || "", e.message].forEach(function (text, i) {
            var cell = document.createElement("td");
            cell.textContent = text;
            if (i === 0) { cell.className = "mono"; }
            row.appendChild(cell);
          });
          body.insertBefore(row, body.firstChild);
        });
      }
      document.querySelectorAll("form[data-confirm]").forEach(function (form) {
        form.addEventListener("submit", function (e) { if (!window.confirm(form.getAttribute("data-confirm"))) { e.preventDefault(); } });
      });
      document.querySelectorAll("input[type=file][data-fills]").forEach(function (input) {
        input.addEventListener("change", function () {
          var file = input.files && input.files[0];
          if (!file) { return; }
          file.text().then(function (text) { document.getElementById(input.getAttribute("data-fills")).value = text; });
        });
      });
    })();
    """
}
