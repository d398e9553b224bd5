"""One self-contained HTML page for a run folder (`archc report RUN_DIR`).

Self-contained means one file that opens anywhere, mailed or copied off a cluster: PNGs
are inlined as data URLs, SVGs as markup, styles in the head, no script from elsewhere.
The one script on the page marks a picture the browser could not decode, so a broken
image is said in words rather than shown as an empty box (the browser test reads it).
Every text that comes from the folder is escaped.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from archc.runtime.report import figures
from archc.runtime.report.run_folder import RunFolder

TOP = 10  # rows of the best-configs table
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.sub { color: #666; } table { border-collapse: collapse; margin: 0.6em 0; }
td, th { padding: 0.25em 0.7em; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
figure { margin: 0.8em 0; } figure img, figure svg { max-width: 100%; height: auto; }
.drawing { overflow: auto; max-height: 60em; border: 1px solid #eee; }
.missing { color: #a33; font-style: italic; }
pre { background: #f7f7f7; padding: 0.8em; overflow: auto; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""
CHECK_IMAGES = """
window.addEventListener("load", () => {
  let broken = 0;
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0) {
      broken += 1;
      img.insertAdjacentHTML("afterend", '<p class="missing">this picture failed to load</p>');
    }
  }
  document.body.dataset.pictures = String(document.images.length);
  document.body.dataset.broken = String(broken);
});
"""


def render_page(run: RunFolder) -> str:
    """The whole page as HTML text."""
    sections = [
        _header(run),
        _summary(run),
        _pareto(run),
        _best_table(run),
        _drawings(run),
        _curves(run),
        _other_pictures(run),
        _records(run),
    ]
    title = html.escape(f"archc report: {run.name} ({run.kind})")
    body = "\n".join(s for s in sections if s)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{STYLE}</style></head>\n<body>\n{body}\n"
        f"<script>{CHECK_IMAGES}</script>\n</body></html>\n"
    )


def _header(run: RunFolder) -> str:
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    space = f" · {_e(run.space_file)}" if run.space_file else ""
    return (
        f"<h1>{_e(run.name)}: {_e(run.kind)}</h1>\n"
        f'<p class="sub">{_e(run.path.resolve())}{space} · report made {made}</p>'
    )


def _summary(run: RunFolder) -> str:
    best = (run.best or {}).get("best")
    rows = []
    if run.trials:
        rows.append(("trials evaluated", f"{len(run.trials):,}"))
    if isinstance(best, dict):
        if run.objective == "loss":  # the score is minus the validation loss
            rows.append(("best validation loss", _num(best.get("loss"), 6)))
        rows += [
            ("best AP" if run.objective == "AP" else "its AP", _num(best.get("AP"), 4)),
            ("its MACs", _count(best.get("macs"))),
            ("its params", _count(best.get("params"))),
        ]
        if best.get("latency_ms") is not None:
            rows.append(("its latency", f"{best['latency_ms']:.2f} ms"))
    if run.metrics:
        last = run.metrics[-1]
        rows.append(("epochs finished", f"{last.get('epoch')} of {last.get('epochs')}"))
        if last.get("best_AP") is not None:
            rows.append(
                ("best validation AP", f"{last['best_AP']:.4f} (epoch {last.get('best_epoch')})")
            )
    if not rows:
        return '<h2>Summary</h2>\n<p class="missing">nothing finished yet in this folder</p>'
    cells = "".join(f'<tr><th class="text">{_e(k)}</th><td>{_e(v)}</td></tr>' for k, v in rows)
    return f"<h2>Summary</h2>\n<table>{cells}</table>"


def _pareto(run: RunFolder) -> str:
    if run.manifest is None and "pareto.png" not in run.pictures:
        return ""
    picture = run.pictures.get("pareto.png")
    inner = (
        _png(picture.read_bytes(), "Pareto front")
        if picture
        else _missing(
            "no pareto.png yet (it is written when the search ends or is resumed to its end)"
        )
    )
    return f"<h2>Accuracy against cost</h2>\n{inner}"


def _best_table(run: RunFolder) -> str:
    front = (run.front or {}).get("front") or []
    if not front:
        return ""
    cost = run.cost
    rows = sorted(front, key=lambda r: -(r.get("score") or 0))[:TOP]
    head = "<tr><th>trial</th><th>AP</th><th>loss</th><th>MACs</th><th>params</th><th>latency</th>"
    head += '<th class="text">config</th></tr>'
    lines = [
        f"<tr><td>{r.get('index')}</td><td>{_num(r.get('AP'), 4)}</td>"
        f"<td>{_num(r.get('loss'), 6)}</td>"
        f"<td>{_count(r.get('macs'))}</td><td>{_count(r.get('params'))}</td>"
        f"<td>{_ms(r.get('latency_ms'))}</td>"
        f'<td class="text"><code>{_e(_choices(r))}</code></td></tr>'
        for r in rows
    ]
    return (
        f"<h2>Best configs on the front</h2>\n<p>The non-dominated trials (higher "
        f"{_e(_score_name(run))}, lower {_e(cost)}), best first; {len(front)} on the front."
        "</p>\n"
        f"<table>{head}{''.join(lines)}</table>"
    )


def _drawings(run: RunFolder) -> str:
    net = (run.train_config or {}).get("net", {})
    if run.manifest is None and "sandwich" not in net and run.best is None:  # one net trained
        subnet = (net.get("choices") or {}).get("choices")
        return f"<h2>The network</h2>\n{_svg(figures.drawing(run.space_file, run.defines, subnet))}"
    parts = [f"<h2>The space</h2>\n{_svg(figures.drawing(run.space_file, run.defines))}"]
    subnet_file = run.pictures.get("subnet.svg")
    if subnet_file is not None:
        parts.append(f"<h2>The found subnet</h2>\n{_svg(subnet_file.read_text('utf-8'))}")
    elif run.best_choices is not None:
        subnet = figures.drawing(run.space_file, run.defines, run.best_choices)
        parts.append(f"<h2>The found subnet</h2>\n{_svg(subnet)}")
    return "\n".join(parts)


def _curves(run: RunFolder) -> str:
    parts = []
    if run.metrics:
        curves = figures.training_curves(run.metrics, run.name)
        parts.append(_picture(curves, f"{run.name}: training curves", "this run"))
    if run.supernet is not None:
        title = f"the supernet ({run.supernet.path})"
        curves = figures.training_curves(run.supernet.metrics, "the supernet")
        parts.append(_picture(curves, "the supernet's training curves", title))
    if not parts:
        return ""
    return "<h2>Training curves</h2>\n" + "\n".join(parts)


def _other_pictures(run: RunFolder) -> str:
    shown = {"pareto.png", "subnet.svg"}
    parts = [
        _png(path.read_bytes(), name) for name, path in run.pictures.items() if name not in shown
    ]
    return "<h2>Architecture parameters and controller</h2>\n" + "\n".join(parts) if parts else ""


def _records(run: RunFolder) -> str:
    docs = [("manifest.json", run.manifest), ("config.json", run.train_config)]
    docs.append(("best/config.json", run.best_config))
    parts = [
        f"<details><summary>{_e(name)}</summary>"
        f"<pre>{_e(json.dumps(doc, indent=2))}</pre></details>"
        for name, doc in docs
        if doc is not None
    ]
    return "<h2>Records</h2>\n" + "\n".join(parts)


def _score_name(run: RunFolder) -> str:
    return "AP" if run.objective == "AP" else "score (minus the validation loss)"


def _picture(made: bytes | figures.Missing, alt: str, caption: str = "") -> str:
    if isinstance(made, figures.Missing):
        return _missing(f"{caption}: {made.reason}" if caption else made.reason)
    return _png(made, alt, caption)


def _png(data: bytes, alt: str, caption: str = "") -> str:
    encoded = base64.b64encode(data).decode("ascii")
    below = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{encoded}">{below}</figure>'


def _svg(made: str | figures.Missing) -> str:
    if isinstance(made, figures.Missing):
        return _missing(made.reason)
    start = made.find("<svg")  # drop the XML prologue and DOCTYPE: inline SVG has none
    return f'<figure class="drawing">{made[start:] if start >= 0 else made}</figure>'


def _missing(reason: str) -> str:
    return f'<p class="missing">{_e(reason)}</p>'


def _choices(record: dict[str, Any]) -> str:
    config = record.get("config") or {}
    values = config.get("choices", config) if isinstance(config, dict) else {}
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(values.items()))


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any, digits: int) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def _count(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def _ms(value: Any) -> str:
    return "–" if value is None else f"{float(value):.2f} ms"


def write_report(run: RunFolder, out: Path) -> Path:
    """Write the page to `out` atomically; returns `out`."""
    from archc.kernel.files import write_atomic

    write_atomic(out, render_page(run))
    return out
