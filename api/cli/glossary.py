"""`kb glossary`: the term pairs the knowledge base's own Chinese material names, as search
uses them before the dictionary (kb.language.mining)."""

from __future__ import annotations

import click

from api.cli.common import CliContext, emit_json


@click.command("glossary")
@click.option("--json", "as_json", is_flag=True, help="Print the pairs as JSON.")
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True)
@click.pass_obj
def glossary(obj: CliContext, as_json: bool, min_count: int) -> None:
    """Chinese terms and their English mined from the stored material (`卷积神经网络（CNN）`),
    the commonest first, with where each was found."""
    mined = obj.open_kb().searcher.glossary.mined()
    pairs = [pair for pair in mined.pairs if pair.count >= min_count]
    if as_json:
        emit_json(
            {
                "pairs": [
                    {
                        "chinese": p.chinese,
                        "english": p.english,
                        "count": p.count,
                        "sources": list(p.sources),
                    }
                    for p in pairs
                ]
            }
        )
        return
    if not pairs:
        click.echo("No term pairs found: the material names no Chinese term with its English.")
    for pair in pairs:
        click.echo(f"{pair.chinese}\t{pair.english}\t{pair.count}\t{', '.join(pair.sources)}")


def register(group: click.Group) -> None:
    group.add_command(glossary)
