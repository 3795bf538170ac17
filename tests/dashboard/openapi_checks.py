"""Extra schemathesis checks for Pantau's API (loaded by test_openapi_live.py through
``SCHEMATHESIS_HOOKS``): what the document cannot say in JSON Schema."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import schemathesis


@schemathesis.check
def xml_is_well_formed(ctx, response, case) -> bool | None:  # noqa: ANN001 - schemathesis API
    """Every ``text/xml`` answer (Open311's ``.xml`` format) is a well-formed XML document."""
    media = (response.headers.get("Content-Type") or [""])[0]
    if not media.startswith("text/xml"):
        return None
    try:
        ET.fromstring(response.content)
    except ET.ParseError as exc:
        raise AssertionError(f"the XML answer is not well-formed: {exc}") from None
    return True
