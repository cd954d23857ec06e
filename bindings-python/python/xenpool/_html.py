"""HTML and SVG renderings for Jupyter (no plotting dependency)."""

from __future__ import annotations

from html import escape
from typing import Any, Iterable, Mapping

_MARKS = {
    "pass": ("✔", "#1a7f37"),
    "warn": ("⚠", "#9a6700"),
    "fail": ("✘", "#cf222e"),
    "not_applicable": ("–", "#6e7781"),
}


def _cell(value: Any, limit: int = 80) -> str:
    if isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in value.items())
    else:
        text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)


def table(headers: Iterable[str], rows: Iterable[Iterable[Any]], caption: str = "") -> str:
    head = "".join(f"<th style='text-align:left'>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    cap = f"<caption style='text-align:left'><b>{escape(caption)}</b></caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def record(class_name: str, fields: Mapping[str, Any]) -> str:
    return table(["field", "value"], fields.items(), f"{class_name} record")


def records(rows: Mapping[Any, Any] | list[Any], columns: Iterable[str] = ()) -> str:
    items = list(rows.values()) if isinstance(rows, Mapping) else list(rows)
    if not items:
        return "<i>no records</i>"
    first = items[0]
    class_name = getattr(first, "class_name", "")
    wanted = [c for c in columns] or [
        c
        for c in ("name_label", "uuid", "power_state", "hostname", "address", "memory_static_max")
        if c in first.field_names()
    ]
    shown = items[:200]
    rows_out = [[getattr(r, c, "") for c in wanted] for r in shown]
    more = f" (first 200 of {len(items)})" if len(items) > 200 else f" ({len(items)})"
    return table(wanted, rows_out, f"{class_name} records{more}")


def join_report(report: Mapping[str, Any]) -> str:
    cand = report.get("candidate", {})
    pool = report.get("pool", {})
    ready = report.get("ready")
    verdict = (
        "<b style='color:#1a7f37'>ready to join</b>"
        if ready
        else "<b style='color:#cf222e'>the join would fail</b>"
    )
    rows = []
    for c in report.get("checks", []):
        mark, colour = _MARKS.get(c.get("status", ""), ("?", "#000"))
        err = c.get("xapi_error") or {}
        rows.append(
            "<tr>"
            f"<td style='color:{colour};font-weight:bold'>{mark}</td>"
            f"<td>{escape(c.get('title', ''))}</td>"
            f"<td>{escape(c.get('evidence', {}).get('candidate', ''))}</td>"
            f"<td>{escape(c.get('evidence', {}).get('pool', ''))}</td>"
            f"<td>{escape(err.get('code', ''))}</td>"
            f"<td>{escape(c.get('remedy', '') if c.get('status') in ('fail', 'warn') else '')}</td>"
            "</tr>"
        )
    head = "".join(
        f"<th style='text-align:left'>{h}</th>"
        for h in ("", "check", "candidate", "pool", "xapi error", "remedy")
    )
    title = (
        f"<p>Join <b>{escape(cand.get('name', ''))}</b> ({escape(cand.get('address', ''))}) "
        f"to pool <b>{escape(pool.get('name', ''))}</b>: {verdict}</p>"
    )
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def plan(outcome: Mapping[str, Any], title: str) -> str:
    p = outcome.get("plan", {})
    rows = [
        (i + 1, c.get("on", ""), c.get("method", ""), ", ".join(c.get("args", [])), c.get("purpose", ""))
        for i, c in enumerate(p.get("calls", []))
    ]
    state = "executed" if outcome.get("executed") else "not executed (dry run)"
    warnings = "".join(f"<li>⚠ {escape(w)}</li>" for w in p.get("warnings", []))
    return (
        f"<p><b>{escape(title)}</b>: {escape(p.get('operation', ''))} — {state}</p>"
        + table(["#", "on", "method", "args", "purpose"], rows)
        + (f"<ul>{warnings}</ul>" if warnings else "")
    )


def pool_svg(overview: Mapping[str, Any]) -> str:
    """Hosts as boxes (coordinator marked), memory in use as a bar, VMs listed; shared
    SRs as a band under every host."""
    hosts = overview.get("hosts", [])
    srs = overview.get("shared_srs", [])
    w, gap, top = 170, 14, 34
    vm_lines = min(max((len(h.get("vms", [])) for h in hosts), default=0), 8)
    h_box = 78 + 14 * vm_lines
    width = max(1, len(hosts)) * (w + gap) + gap
    height = top + h_box + 20 + 26 * len(srs) + 10
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        "font-family='sans-serif' font-size='11'>",
        f"<text x='{gap}' y='20' font-size='14' font-weight='bold'>pool "
        f"{escape(str(overview.get('name', '')))}"
        f"{' (HA on)' if overview.get('ha_enabled') else ''}</text>",
    ]
    for i, h in enumerate(hosts):
        x = gap + i * (w + gap)
        stroke = "#0969da" if h.get("coordinator") else "#57606a"
        fill = "#ddf4ff" if h.get("coordinator") else ("#f6f8fa" if h.get("live", True) else "#ffebe9")
        out.append(
            f"<rect x='{x}' y='{top}' width='{w}' height='{h_box}' rx='6' fill='{fill}' "
            f"stroke='{stroke}' stroke-width='{3 if h.get('coordinator') else 1}'/>"
        )
        label = ("★ " if h.get("coordinator") else "") + str(h.get("name", ""))
        out.append(f"<text x='{x + 8}' y='{top + 16}' font-weight='bold'>{escape(label)}</text>")
        out.append(f"<text x='{x + 8}' y='{top + 30}' fill='#57606a'>{escape(str(h.get('address', '')))}</text>")
        total = int(h.get("memory_total") or 0)
        used = total - int(h.get("memory_free") or 0)
        frac = (used / total) if total else 0.0
        out.append(f"<rect x='{x + 8}' y='{top + 38}' width='{w - 16}' height='10' fill='#eaeef2'/>")
        out.append(
            f"<rect x='{x + 8}' y='{top + 38}' width='{(w - 16) * frac:.1f}' height='10' fill='#2da44e'/>"
        )
        out.append(
            f"<text x='{x + 8}' y='{top + 62}'>memory {used / 2**30:.1f} / {total / 2**30:.1f} GiB</text>"
        )
        vms = h.get("vms", [])
        for j, name in enumerate(vms[:vm_lines]):
            out.append(f"<text x='{x + 12}' y='{top + 76 + 14 * j}'>▪ {escape(str(name))}</text>")
        if len(vms) > vm_lines:
            out.append(
                f"<text x='{x + 12}' y='{top + 76 + 14 * vm_lines}' fill='#57606a'>"
                f"+{len(vms) - vm_lines} more VMs</text>"
            )
    y = top + h_box + 14
    for s in srs:
        colour = "#8250df" if s.get("reaches_every_host") else "#cf222e"
        out.append(
            f"<rect x='{gap}' y='{y}' width='{width - 2 * gap}' height='20' rx='4' fill='{colour}' opacity='0.15' "
            f"stroke='{colour}'/>"
        )
        out.append(
            f"<text x='{gap + 8}' y='{y + 14}'>shared SR {escape(str(s.get('name', '')))} "
            f"({escape(str(s.get('type', '')))})"
            f"{'' if s.get('reaches_every_host') else ' — not plugged on every host'}</text>"
        )
        y += 26
    out.append("</svg>")
    return "".join(out)
