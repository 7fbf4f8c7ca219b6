"""Readers' votes as the organisers see them, for both interfaces (`GET /analytics/feedback`
and `kb feedback list --json` answer the same JSON): per (query, document), the distinct
readers whose latest vote is up and down, with the document's title."""

from __future__ import annotations

from datetime import timedelta

from api.http.models import FeedbackList, FeedbackRow
from kb import KnowledgeBase
from kb.searchlog.base import FeedbackTally, SearchLog, now, tally_feedback

ORDERS = ("most_downvoted", "latest")


def feedback_list(
    log: SearchLog,
    kb: KnowledgeBase,
    teams: tuple[str, ...] | None,
    days: int,
    limit: int,
    order: str = "most_downvoted",
) -> FeedbackList:
    """Votes of the last `days` days, most downvoted first (or the latest first), at most
    `limit` rows; documents restricted to teams outside `teams` (None: all) are counted in
    `hidden`, never named; a document no longer stored keeps its row, without a title."""
    since = now() - timedelta(days=days)
    rows: list[tuple[FeedbackTally, str | None]] = []
    hidden = 0
    for tally in tally_feedback(log.feedback(since)):
        doc = kb.get_document(tally.doc_id)
        if doc is not None and not doc.visible_to(teams):
            hidden += 1
            continue
        rows.append((tally, None if doc is None else doc.title))
    if order == "latest":
        rows.sort(key=lambda row: row[0].last_vote, reverse=True)
    items = [
        FeedbackRow(
            query=t.query, doc_id=t.doc_id, title=title, up=t.up, down=t.down, last_vote=t.last_vote
        )
        for t, title in rows[:limit]
    ]
    return FeedbackList(since=since, total=len(rows), hidden=hidden, items=items)
