"""The portal's static parts: the page skeleton (a ``string.Template``), its style sheet and its one script.

They are served as files of their own (``/_kvconfig/portal/portal.css`` and ``portal.js``), so the page needs no
inline style or script and its Content-Security-Policy can stay ``default-src 'self'`` with nothing relaxed. The
script does one thing: on a click of "Reveal" (a secret version's or a key-value's), it asks
``/_kvconfig/portal/reveal`` for that one value with a same-origin ``POST`` carrying the page's token, and shows the
answer as text (``textContent``, never markup).
No build step, no CDN, no framework: the portal works offline.
"""

from __future__ import annotations

from string import Template

__all__ = ["PAGE", "SCRIPT", "STYLE"]

PAGE = Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="kvconfig-portal-token" content="$token">
<title>kvconfig emulator · portal</title>
<link rel="stylesheet" href="/_kvconfig/portal/portal.css">
<script src="/_kvconfig/portal/portal.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo">kv</span> kvconfig emulator <span class="muted">portal · read-only</span></div>
  <div class="facts">
    <span class="fact" id="clock"><b>clock</b> $clock</span>
    <span class="fact"><b>tenant</b> <code>$tenant</code></span>
    <a class="fact link" href="/_kvconfig/portal">refresh</a>
  </div>
</header>
<nav class="toc">$toc</nav>
<main>
$summary
$vaults
<section class="card" id="faults"><h2>Active faults</h2>$faults</section>
<section class="card" id="audit">
<h2>Audit log <span class="muted">the newest $audit_count of $audit_total</span></h2>$audit</section>
<section class="card" id="events">
<h2>Events <span class="muted">the newest $event_count of $event_total</span></h2>$events</section>
</main>
<footer class="muted">Rendered $rendered by the kvconfig fake. Values stay hidden until you reveal one; nothing here
is cached by the browser.</footer>
</body>
</html>
"""
)

STYLE = """
:root { --ink: #1d2330; --muted: #6b7385; --line: #e3e7ef; --bg: #f5f7fb; --card: #fff; --accent: #0f6cbd;
  --ok: #107c41; --warn: #b7791f; --bad: #c4314b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  background: var(--bg); }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
.top { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 12px; justify-content: space-between;
  align-items: center; padding: 10px 24px; background: #12263f; color: #fff; }
.brand { font-weight: 600; font-size: 16px; }
.logo { display: inline-block; padding: 2px 7px; margin-right: 6px; border-radius: 6px; background: var(--accent);
  font-family: ui-monospace, monospace; }
.top .muted { color: #a9b8cc; font-weight: 400; margin-left: 6px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px; }
.fact { padding: 3px 10px; border-radius: 999px; background: rgba(255, 255, 255, .12); }
.fact b { font-weight: 600; color: #a9c7ee; margin-right: 4px; }
.fact code { color: #fff; }
.link { color: #fff; text-decoration: none; }
.link:hover { background: rgba(255, 255, 255, .25); }
.toc { padding: 8px 24px; background: #fff; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap;
  gap: 6px 14px; }
.toc a { color: var(--accent); text-decoration: none; }
main { padding: 18px 24px; display: grid; grid-template-columns: minmax(0, 1fr); gap: 18px; max-width: 1400px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px;
  box-shadow: 0 1px 2px rgba(20, 30, 50, .05); overflow-x: auto; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 16px 0 6px; color: #33415c; text-transform: uppercase; letter-spacing: .04em; }
.when span { white-space: nowrap; }
.muted { color: var(--muted); font-weight: 400; font-size: 13px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; }
.tile .n { font-size: 24px; font-weight: 650; }
.props { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 6px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfd; }
tr.object td { border-top: 2px solid var(--line); }
td.name { font-weight: 600; min-width: 10em; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; background: #eef1f6;
  white-space: nowrap; }
.badge.ok { background: #e3f4ea; color: var(--ok); }
.badge.warn { background: #fbf0dc; color: var(--warn); }
.badge.bad { background: #fbe4e8; color: var(--bad); }
.tag { display: inline-block; margin: 1px 4px 1px 0; padding: 0 6px; border: 1px solid var(--line); border-radius: 4px;
  font-size: 12px; word-break: break-all; }
.value { display: inline-block; max-width: 46ch; word-break: break-all; white-space: pre-wrap; }
.value.hidden { color: var(--muted); letter-spacing: .15em; }
button.reveal { font: inherit; font-size: 12px; padding: 1px 10px; margin-left: 6px; border: 1px solid var(--accent);
  border-radius: 6px; background: #fff; color: var(--accent); cursor: pointer; }
button.reveal:hover { background: #eaf3fc; }
.empty { color: var(--muted); font-style: italic; margin: 4px 0; }
.more { color: var(--muted); font-size: 12px; }
footer { padding: 6px 24px 24px; }
"""

SCRIPT = """"use strict";
// Click to reveal: one value per click, fetched by a same-origin POST that carries this page's token.
(function () {
  const meta = document.querySelector('meta[name="kvconfig-portal-token"]');
  const token = meta ? meta.content : "";
  // A secret version is named by vault, name and version; a key-value by store, key and label (none: null).
  function asked(data) {
    if (data.store !== undefined) {
      return { store: data.store, key: data.key, label: data.label === undefined ? null : data.label };
    }
    return { vault: data.vault, name: data.name, version: data.version };
  }
  async function reveal(button) {
    const cell = button.parentElement.querySelector(".value");
    if (button.dataset.shown === "1") {
      cell.textContent = "\\u2022\\u2022\\u2022\\u2022\\u2022\\u2022";
      cell.classList.add("hidden");
      button.textContent = "Reveal";
      button.dataset.shown = "0";
      return;
    }
    button.disabled = true;
    try {
      const response = await fetch("/_kvconfig/portal/reveal", {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", "X-Kvconfig-Portal-Token": token },
        body: JSON.stringify(asked(button.dataset)),
      });
      const body = await response.json();
      if (!response.ok) {
        throw new Error((body.error && body.error.message) || response.statusText);
      }
      cell.textContent = body.value;
      cell.classList.remove("hidden");
      button.textContent = "Hide";
      button.dataset.shown = "1";
    } catch (error) {
      cell.textContent = "could not reveal: " + error.message;
    } finally {
      button.disabled = false;
    }
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.reveal");
    if (button) {
      reveal(button);
    }
  });
})();
"""
