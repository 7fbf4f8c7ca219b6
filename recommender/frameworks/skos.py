"""Reading a SKOS framework (ESCO's RDF download, or any SKOS thesaurus of skills) with rdflib,
all or nothing, like the CSV readers.

Each `skos:Concept` (or resource typed ESCO's `Skill` / `SkillGroup`) is a concept, its URI the
id; `skos:prefLabel` gives its label per language tag (`@en`, `@zh`...; an untagged label
counts as English), `skos:altLabel` the alternatives, `skos:definition` or
`dcterms:description` the description, and `skos:broader` (and the inverse of
`skos:narrower`) the hierarchy. A concept typed `esco:SkillGroup` is a group, never proposed.
RDF has no lines for its statements, so a fault names the concept's URI instead (a syntax
error names the parser's line when it gives one).

rdflib is imported only here, when a SKOS file is read, so that the recommender imports
without it.
"""

from __future__ import annotations

from pathlib import Path

from recommender.errors import Fault
from recommender.frameworks.types import Concept, ConceptKind, Framework, FrameworkInvalidError

# suffix -> rdflib's format name
RDF_SUFFIXES = {
    ".ttl": "turtle",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".nt": "nt",
    ".n3": "n3",
    ".jsonld": "json-ld",
    ".json": "json-ld",
}
ESCO_MODEL = "http://data.europa.eu/esco/model#"
MAX_FILE_BYTES = 200 * 1024 * 1024  # ESCO's whole RDF download is ~ 150 MB in Turtle


def read_skos(path: Path, name: str = "", languages: tuple[str, ...] = ()) -> Framework:
    """The SKOS framework in `path` (its suffix says the syntax; see `RDF_SUFFIXES`)."""
    try:
        import rdflib
        from rdflib.namespace import DCTERMS, RDF, SKOS
    except ImportError:  # pragma: no cover - depends on the environment
        raise FrameworkInvalidError(
            [Fault(path.name, "file", "reading SKOS needs rdflib: `pip install rdflib`")]
        ) from None
    syntax = RDF_SUFFIXES.get(path.suffix.lower())
    if syntax is None:
        raise FrameworkInvalidError(
            [Fault(path.name, "file", f"give a SKOS file ending {', '.join(RDF_SUFFIXES)}")]
        )
    if not path.is_file():
        raise FrameworkInvalidError([Fault(path.name, "file", "not found")])
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FrameworkInvalidError(
            [Fault(path.name, "file", f"is over {MAX_FILE_BYTES // 1_048_576} MB")]
        )
    graph = rdflib.Graph()
    try:
        graph.parse(path, format=syntax)
    except Exception as exc:  # rdflib raises many kinds (BadSyntax, SAXParseException...)
        line = None
        if isinstance(getattr(exc, "lines", None), int):  # Turtle, N3: counted from 0
            line = exc.lines + 1  # type: ignore[attr-defined]
        elif callable(getattr(exc, "getLineNumber", None)):  # RDF/XML: counted from 1
            line = exc.getLineNumber()  # type: ignore[attr-defined]
        reason = getattr(exc, "_why", None) or str(exc).splitlines()[0]
        where = f"line {line}" if line else "file"
        raise FrameworkInvalidError(
            [Fault(path.name, where, f"is not valid {syntax} ({reason})")]
        ) from None

    skill_type = rdflib.URIRef(ESCO_MODEL + "Skill")
    group_type = rdflib.URIRef(ESCO_MODEL + "SkillGroup")
    subjects: dict[str, ConceptKind] = {}
    typed: tuple[tuple[rdflib.URIRef, ConceptKind], ...] = (
        (SKOS.Concept, "skill"),
        (skill_type, "skill"),
        (group_type, "group"),
    )
    for rdf_type, kind in typed:
        for subject in graph.subjects(RDF.type, rdf_type):
            if isinstance(subject, rdflib.URIRef):
                ident = str(subject)
                if kind == "group" or ident not in subjects:
                    subjects[ident] = kind
    faults: list[Fault] = []

    def wanted(lang: str) -> bool:
        return not languages or lang in languages

    concepts = []
    for ident in sorted(subjects):
        node = rdflib.URIRef(ident)
        labels: dict[str, str] = {}
        for label in graph.objects(node, SKOS.prefLabel):
            lang = (getattr(label, "language", None) or "en").lower()
            if wanted(lang) and lang not in labels:
                labels[lang] = str(label).strip()
        if not labels:
            faults.append(Fault(path.name, ident, "has no skos:prefLabel"))
            continue
        alts: dict[str, list[str]] = {}
        for alt in graph.objects(node, SKOS.altLabel):
            lang = (getattr(alt, "language", None) or "en").lower()
            if wanted(lang):
                alts.setdefault(lang, []).append(str(alt).strip())
        description = ""
        for predicate in (SKOS.definition, DCTERMS.description, SKOS.scopeNote):
            texts = {
                (getattr(o, "language", None) or "en"): str(o)
                for o in graph.objects(node, predicate)
            }
            if texts:
                description = texts.get("en") or next(iter(texts.values()))
                break
        broader = {str(o) for o in graph.objects(node, SKOS.broader)}
        broader |= {str(s) for s in graph.subjects(SKOS.narrower, node)}
        missing = sorted(b for b in broader if b not in subjects)
        for up in missing:
            faults.append(Fault(path.name, ident, f"broader {up} is not a concept of the file"))
        concepts.append(
            Concept(
                id=ident,
                kind=subjects[ident],
                labels=labels,
                alt_labels={lang: tuple(dict.fromkeys(v)) for lang, v in alts.items()},
                description=description.strip(),
                broader=tuple(sorted(broader)),
            )
        )
    if not faults and not concepts:
        faults.append(Fault(path.name, "file", "holds no skos:Concept"))
    if faults:
        raise FrameworkInvalidError(faults)
    return Framework(name or path.stem, str(path), "skos", tuple(concepts))
