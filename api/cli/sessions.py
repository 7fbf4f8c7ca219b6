"""How `kb search` prints a hit's session (kb.search.sessions): the slide on screen at a
transcript moment, the moment that discusses a slide, and the session's other parts, indented
under the hit."""

from __future__ import annotations

from kb.types import Hit


def session_lines(hit: Hit) -> list[str]:
    """The lines to print under `hit` (none for a hit outside sessions):

    slide on screen: sessions/x.pptx @ slide 6 · Measuring agreement
    session 2026-04-14-labelling-guidelines, its other parts:
      - slides  sessions/x.pptx @ slide 6 · Measuring agreement
      - chat    sessions/x.txt (did not match)
    """
    lines: list[str] = []
    if hit.slide is not None:
        lines.append(f"slide on screen: {hit.slide.source} @ {hit.slide.location}")
    if hit.moment is not None:
        lines.append(f"discussed at: {hit.moment.source} @ {hit.moment.location}")
    if hit.parts:
        lines.append(f"session {hit.session}, its other parts:")
        width = max(len(part.type) for part in hit.parts)
        for part in hit.parts:
            where = f" @ {part.location}" if part.matched and part.location else ""
            unmatched = "" if part.matched else " (did not match)"
            lines.append(f"  - {part.type:<{width}}  {part.source}{where}{unmatched}")
    return lines


__all__ = ["session_lines"]
