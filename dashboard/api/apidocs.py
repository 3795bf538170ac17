"""``GET /api/docs``: the API reference as one server-rendered HTML page, built from the OpenAPI
document (:func:`dashboard.api.openapi.build_document`), so the page and the document cannot
disagree. Public like the document; no JavaScript and nothing from the internet (the vendored
Bootstrap CSS from ``assets/vendor``), so it reads on an intranet. Bahasa Indonesia by default,
English with ``?lang=en`` or the language cookie; the reference itself (field names, schemas)
is in English, as the document is.
"""

from __future__ import annotations

import json
import logging
import re
from html import escape
from typing import Any

from flask import Blueprint, Response

from dashboard import auth
from dashboard.api.openapi import PATH as DOC_PATH
from dashboard.api.openapi import build_document
from dashboard.i18n import current_lang

logger = logging.getLogger(__name__)

PATH = "/api/docs"
bp = Blueprint("pantau_apidocs", __name__)
auth.allow_route(PATH, auth.PUBLIC)  # the reference of the public document; holds no data

TEXT = {
    "id": {
        "title": "Dokumentasi API Pantau",
        "intro": "Halaman ini menjelaskan semua API mesin Pantau untuk gateway SMS dan sensor, "
        "aplikasi Open311, dan instansi (OPD, kepolisian, pemadam kebakaran) yang mengirim "
        "data kota. Setiap operasi menyebutkan cara autentikasi, parameter, isi permintaan, "
        "jawaban dan contoh perintah <code>curl</code>. Kunci API diberikan oleh admin "
        "command center (variabel <code>PANTAU_*_API_KEYS</code>).",
        "rules": "Jawaban <code>429</code> membawa header <code>Retry-After</code> (detik): "
        "tunggu, lalu kirim ulang. Jawaban <code>503</code> berarti basis data tidak "
        "terjangkau dan tidak ada yang disimpan: kirim ulang nanti.",
        "machine": "Dokumen mesin (OpenAPI 3.1, untuk generator klien dan alat uji)",
        "auth": "Autentikasi",
        "ops": "Operasi",
        "schemas": "Skema",
        "other": "English",
    },
    "en": {
        "title": "Pantau API reference",
        "intro": "Every machine API of Pantau, for SMS and sensor gateways, Open311 apps and "
        "the agencies (OPDs, police, fire department) that send the city's data. Each "
        "operation names its authentication, parameters, request body, answers and a "
        "<code>curl</code> example. API keys are issued by the command center's admin "
        "(the <code>PANTAU_*_API_KEYS</code> settings).",
        "rules": "A <code>429</code> carries <code>Retry-After</code> (seconds): wait, then "
        "send again. A <code>503</code> means the database is unreachable and nothing was "
        "stored: send it again later.",
        "machine": "Machine-readable document (OpenAPI 3.1, for client generators and test tools)",
        "auth": "Authentication",
        "ops": "Operations",
        "schemas": "Schemas",
        "other": "Bahasa Indonesia",
    },
}
METHOD_CLASS = {"get": "primary", "post": "success", "put": "warning", "delete": "danger"}
STYLE = """
body{background:#f5f7fa} code{color:#0b4f8a} .op{border-left:4px solid #0b1f33}
.method{min-width:4.2rem;text-align:center;font-family:monospace} pre{background:#0b1f33;
color:#e6edf3;padding:.6rem .8rem;border-radius:.3rem;white-space:pre-wrap;word-break:break-all}
table{font-size:.9rem} td{overflow-wrap:anywhere} .toc a{text-decoration:none} h2{margin-top:2rem}
"""


_CODE = re.compile(r"`([^`]+)`")


def md(text: Any) -> str:
    """Escaped text with the document's `code` spans as <code>."""
    return _CODE.sub(r"<code>\1</code>", escape(str(text or "")))


def _ref_name(schema: dict[str, Any]) -> str | None:
    target = schema.get("$ref", "")
    return target.rsplit("/", 1)[-1] if target else None


def type_label(schema: Any) -> str:
    """A short human label for a JSON schema: ``string``, ``array of Open311Request``..."""
    if not isinstance(schema, dict):
        return "any"
    if name := _ref_name(schema):
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return " | ".join(type_label(s) for s in schema[key])
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if kind == "array":
        label = f"array of {type_label(schema.get('items', {}))}"
    elif isinstance(kind, list):
        label = " | ".join(escape(str(k)) for k in kind)
    else:
        label = escape(str(kind))
    if "enum" in schema:
        label += ": " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    limits = [
        f"{k} {schema[k]}"
        for k in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")
        if k in schema
    ]
    if schema.get("format"):
        limits.insert(0, str(schema["format"]))
    return label + (
        f" <small class='text-muted'>({escape(', '.join(limits))})</small>" if limits else ""
    )


def fields_table(schema: dict[str, Any]) -> str:
    props = schema.get("properties") or {}
    items = schema.get("items") if schema.get("type") == "array" else None
    if not props and isinstance(items, dict) and items.get("properties"):
        return f"<p>{type_label(schema)}:</p>{fields_table(items)}"
    if not props:
        return f"<p>{type_label(schema)}</p>"
    required = set(schema.get("required") or [])
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code>{' <b>*</b>' if name in required else ''}</td>"
        f"<td>{type_label(sub)}</td><td>{md(sub.get('description', ''))}</td></tr>"
        for name, sub in props.items()
    )
    return (
        "<div class='table-responsive'><table class='table table-sm table-bordered bg-white'><thead><tr><th>field</th>"
        f"<th>type</th><th>description</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _curl(path: str, method: str, op: dict[str, Any], doc: dict[str, Any]) -> str:
    url = "http://PANTAU" + path.replace("{format}", "json")
    parts = [f"curl -sS -X {method.upper()} '{url}'"]
    schemes = doc["components"]["securitySchemes"]
    for req in op.get("security") or []:
        for name in req:
            scheme = schemes[name]
            if scheme["type"] == "http":
                parts.append("-H 'Authorization: Bearer $KEY'")
            elif scheme["in"] == "header":
                parts.append(f"-H '{scheme['name']}: $KEY'")
            else:
                parts[0] = parts[0][:-1] + f"?{scheme['name']}=$KEY'"
        break  # the first way is enough for an example
    body = (op.get("requestBody") or {}).get("content") or {}
    if "application/json" in body:
        example = _example(body["application/json"]["schema"], doc)
        parts.append("-H 'Content-Type: application/json'")
        parts.append(f"-d '{json.dumps(example, ensure_ascii=False)}'")
    elif "application/x-www-form-urlencoded" in body:
        parts.append("--data-urlencode 'field=value'")
    return " \\\n  ".join(parts)


def _example(schema: dict[str, Any], doc: dict[str, Any], depth: int = 0) -> Any:
    """A small example value built from the schema's examples and types."""
    if depth > 4:
        return None
    if name := _ref_name(schema):
        return _example(doc["components"]["schemas"][name], doc, depth + 1)
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return _example(schema[key][0], doc, depth + 1)
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties") or {}
        keys = schema.get("required") or list(props)[:3]
        return {k: _example(props.get(k, {}), doc, depth + 1) for k in keys}
    if kind == "array":
        return [_example(schema.get("items", {}), doc, depth + 1)]
    if schema.get("format") == "date-time":
        return "2026-11-23T14:00:00+07:00"
    return {"string": "text", "number": 1.5, "integer": 1, "boolean": True}.get(kind)


def operation_html(path: str, method: str, op: dict[str, Any], doc: dict[str, Any]) -> str:
    anchor = escape(op.get("operationId", f"{method}-{path}"))
    out = [
        f"<div class='op card mb-3' id='{anchor}'><div class='card-body'>",
        f"<h3 class='h5'><span class='badge method text-bg-{METHOD_CLASS.get(method, 'dark')}'>"
        f"{method.upper()}</span> <code>{escape(path)}</code></h3>",
        f"<p class='fw-semibold mb-1'>{escape(op.get('summary', ''))}</p>",
    ]
    if op.get("description"):
        out.append(f"<p>{md(op['description'])}</p>")
    security = op.get("security")
    if security:
        ways = [" + ".join(req) or "(loopback)" for req in security]
        links = ", ".join(
            f"<a href='#auth-{escape(w)}'>{escape(w)}</a>"
            if w in doc["components"]["securitySchemes"]
            else escape(w)
            for w in ways
        )
        out.append(f"<p><b>Auth:</b> {links}</p>")
    params = op.get("parameters") or []
    if params:
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code>{' <b>*</b>' if p.get('required') else ''}"
            f"</td><td>{escape(p['in'])}</td><td>{type_label(p.get('schema', {}))}</td>"
            f"<td>{md(p.get('description', ''))}</td></tr>"
            for p in params
        )
        out.append(
            "<div class='table-responsive'><table class='table table-sm table-bordered bg-white'><thead><tr><th>parameter</th>"
            f"<th>in</th><th>type</th><th>description</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )
    body = op.get("requestBody")
    if body:
        kinds = ", ".join(f"<code>{escape(k)}</code>" for k in body["content"])
        first = next(iter(body["content"].values()))["schema"]
        out.append(f"<p><b>Body</b> ({kinds}): {type_label(first)}</p>")
    rows = "".join(
        f"<tr><td><b>{escape(code)}</b></td><td>{md(r.get('description', ''))}</td><td>"
        + "<br>".join(
            f"<code>{escape(mt)}</code> {type_label(c.get('schema', {}))}"
            for mt, c in (r.get("content") or {}).items()
        )
        + ("<br><code>Retry-After</code>" if "Retry-After" in (r.get("headers") or {}) else "")
        + "</td></tr>"
        for code, r in sorted(op.get("responses", {}).items())
    )
    out.append(
        "<div class='table-responsive'><table class='table table-sm table-bordered bg-white'><thead><tr><th>status</th>"
        f"<th>meaning</th><th>body</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
    out.append(f"<pre>{escape(_curl(path, method, op, doc))}</pre></div></div>")
    return "".join(out)


def render_page(lang: str) -> str:
    doc = build_document()
    text = TEXT.get(lang, TEXT["id"])
    other = "en" if lang == "id" else "id"
    by_tag: dict[str, list[str]] = {t["name"]: [] for t in doc["tags"]}
    toc: dict[str, list[str]] = {t["name"]: [] for t in doc["tags"]}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            tag = (op.get("tags") or ["Operasi"])[0]
            by_tag.setdefault(tag, []).append(operation_html(path, method, op, doc))
            toc.setdefault(tag, []).append(
                f"<li><a href='#{escape(op.get('operationId', ''))}'><code>{method.upper()} "
                f"{escape(path)}</code></a></li>"
            )
    tags = {t["name"]: t["description"] for t in doc["tags"]}
    sections = "".join(
        f"<h2 id='tag-{escape(tag)}'>{escape(tag)}</h2><p>{escape(tags.get(tag, ''))}</p>"
        + "".join(ops)
        for tag, ops in by_tag.items()
        if ops
    )
    toc_html = "".join(
        f"<li><a href='#tag-{escape(tag)}'>{escape(tag)}</a><ul>{''.join(items)}</ul></li>"
        for tag, items in toc.items()
        if items
    )
    schemes = "".join(
        f"<tr id='auth-{escape(name)}'><td><code>{escape(name)}</code></td><td>"
        f"{escape(s['type'])}{' ' + escape(s.get('scheme', '')) if s.get('scheme') else ''}"
        f"{' ' + escape(s['in']) + ': <code>' + escape(s['name']) + '</code>' if s.get('in') else ''}"
        f"</td><td>{md(s.get('description', ''))}</td></tr>"
        for name, s in doc["components"]["securitySchemes"].items()
    )
    schemas = "".join(
        f"<div class='mb-3' id='schema-{escape(name)}'><h3 class='h6'><code>{escape(name)}</code>"
        f"</h3><p class='small'>{md(s.get('description', ''))}</p>{fields_table(s)}</div>"
        for name, s in doc["components"]["schemas"].items()
    )
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(text["title"])}</title>
<link rel="stylesheet" href="/assets/vendor/bootstrap/bootstrap.min.css">
<style>{STYLE}</style></head>
<body><nav class="navbar navbar-dark" style="background:#0b1f33"><div class="container">
<a class="navbar-brand fw-bold" href="/">Pantau</a>
<a class="nav-link text-white" href="{PATH}?lang={other}" id="apidocs-lang">{escape(text["other"])}</a>
</div></nav>
<main class="container py-4">
<h1 class="h2">{escape(text["title"])} <small class="text-muted fs-6">v{escape(doc["info"]["version"])}</small></h1>
<p class="lead">{text["intro"]}</p><p>{text["rules"]}</p>
<p><a class="btn btn-outline-primary btn-sm" href="{DOC_PATH}" id="apidocs-json">{escape(text["machine"])}: <code>{DOC_PATH}</code></a></p>
<div class="row"><div class="col-lg-3 toc small d-none d-lg-block"><ul class="list-unstyled">{toc_html}
<li><a href="#auth">{escape(text["auth"])}</a></li><li><a href="#schemas">{escape(text["schemas"])}</a></li></ul></div>
<div class="col-lg-9">
<h2 id="auth">{escape(text["auth"])}</h2>
<div class="table-responsive"><table class="table table-sm table-bordered bg-white"><tbody>{schemes}</tbody></table></div>
{sections}
<h2 id="schemas">{escape(text["schemas"])}</h2>{schemas}
</div></div></main></body></html>"""


@bp.get(PATH)
def api_docs() -> Response:
    html = render_page(current_lang())
    resp = Response(html, content_type="text/html; charset=utf-8")
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
