"""Near-duplicate groups as the organisers see them, for both interfaces
(`GET /analytics/duplicates` and `kb duplicates --json` answer the same JSON): each group's
canonical document (the earliest stored) and its near copies with their similarity
(kb.dedupe). Documents restricted to teams outside the caller's are left out."""

from __future__ import annotations

from api.http.models import DuplicateGroupOut, DuplicateMemberOut, DuplicatesOut
from kb import KnowledgeBase
from kb.dedupe import THRESHOLD, GroupMember


def _member(member: GroupMember) -> DuplicateMemberOut:
    return DuplicateMemberOut(
        doc_id=member.doc_id,
        source=member.source,
        title=member.title,
        similarity=member.similarity,
    )


def duplicates_listing(kb: KnowledgeBase, teams: tuple[str, ...] | None) -> DuplicatesOut:
    """The groups visible to `teams` (None: every document), largest first."""
    groups = kb.duplicate_groups(teams)
    return DuplicatesOut(
        threshold=THRESHOLD,
        groups=[
            DuplicateGroupOut(
                canonical=_member(group.canonical), members=[_member(m) for m in group.members]
            )
            for group in groups
        ],
        copies=sum(len(group.members) for group in groups),
    )
