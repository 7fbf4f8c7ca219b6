"""The IRIs our statements use: ADL's verbs, our activities and our context extensions.

Activities are named under a base IRI (`DEFAULT_BASE`, or the organisers' own through
`KB_XAPI_BASE`): `{base}/modules/{id}`, `{base}/courses/{id}`, `{base}/skills/{id}`,
`{base}/cycles/{id}`, `{base}/cycles/{id}/sessions/{session}`, `{base}/documents/{id}`; actors
as an account `{homePage: base, name: employee id}`. The extensions that carry what xAPI has
no property for (a cycle's id, an assessment's phase) have fixed IRIs, so that statements
exported under one base still import under another.
"""

from __future__ import annotations

import uuid
from urllib.parse import unquote, urlsplit

ADL_VERBS = "http://adlnet.gov/expapi/verbs/"
VERBS = ("completed", "passed", "failed", "scored", "attended", "rated")
VERB_IRIS = {name: ADL_VERBS + name for name in VERBS}
VERB_NAMES = {iri: name for name, iri in VERB_IRIS.items()}
VERSION = "1.0.3"  # the xAPI version we speak (X-Experience-API-Version)

DEFAULT_BASE = "https://kb.local/xapi"
EXTENSIONS = "https://kb.local/xapi/extensions/"
EXT_CYCLE = EXTENSIONS + "cycle"
EXT_PHASE = EXTENSIONS + "phase"
EXT_SESSION = EXTENSIONS + "session"
EXT_DATE = EXTENSIONS + "date"
# Statement ids of our own events: uuid5 of the event's identity in this namespace.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, EXTENSIONS)


def activity_iri(base: str, kind: str, ident: str, *more: str) -> str:
    """`{base}/{kind}/{ident}[/more...]`, the parts quoted as path segments."""
    from urllib.parse import quote

    parts = [quote(part, safe="") for part in (kind, ident, *more)]
    return "/".join([base.rstrip("/"), *parts])


def path_segments(iri: str) -> list[str]:
    """The non-empty path segments of an IRI (a URN's colon-separated parts), unquoted."""
    split = urlsplit(iri)
    if split.scheme.lower() == "urn" or not split.path.startswith("/"):
        path = split.path.replace(":", "/")
    else:
        path = split.path
    return [unquote(part) for part in path.split("/") if part]


# The names the recommender's face exports.
XAPI_VERSION = VERSION
XAPI_DEFAULT_BASE = DEFAULT_BASE
