"""Generate the sample's training session: one live session's recording transcript, slide
deck, Zoom chat log and write-up, and the labelled slide checks.

    .venv/bin/python scripts/make_sample_session.py [--out data/sample/sessions]

The session is "Labelling guidelines and annotator agreement" (course nlp-sentiment, module
nlp-preprocessing, 14 April 2026). Its transcript, deck and chat log share the dated stem
`2026-04-14-labelling-guidelines` (the inferred rule of kb.sessions); the write-up has another
name and declares `session:` in its front matter (the declared rule).

The transcript is written minute by minute: each minute is said while one slide is on screen
(`MOMENTS`: slide number, then the cues), which is what `slide-checks.jsonl` records, one
check per minute: the moment's start (seconds) and the slide on screen. The speakers do not
read their slides out: they paraphrase, ask questions, and one minute is a question about
the previous slide's topic while it stays on screen. Everything is written for this project,
and the files come out byte for byte the same each run (the deck's zip entries carry a fixed
time, as in scripts/make_sample_formats.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from make_sample_formats import fixed_zip, sidecar

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "sample" / "sessions"
STEM = "2026-04-14-labelling-guidelines"
TITLE = "Labelling guidelines and annotator agreement"
CREATED = dt.datetime(2026, 4, 14, 10, 0, 0)
META: dict[str, Any] = {
    "team": "nlp",
    "course": "nlp-sentiment",
    "module": "nlp-preprocessing",
    "skills": ["data-cleaning", "model-evaluation"],
}

# (title, bullet lines, speaker notes, optional table)
SLIDES: list[tuple[Any, ...]] = [
    (TITLE, ["NLP sentiment track · live session", "NLP team"], ""),
    (
        "Why the labels need a guideline",
        [
            "Three annotators, three private definitions of 'negative'",
            "Label noise caps accuracy: a model cannot beat its labels",
            "A guideline turns judgement calls into written rules",
        ],
        "Story: last quarter's sentiment model plateaued at 86% and the ceiling was the "
        "labels, not the model.",
    ),
    (
        "Label definitions",
        [
            "Positive: the reviewer would buy again or recommend it",
            "Negative: a complaint about the product, the delivery or the service",
            "Neutral: facts without an opinion",
            "Mixed: praise for one aspect, complaint about another",
        ],
        "",
    ),
    (
        "Edge cases: sarcasm, star mismatch, off-topic",
        [
            "'Great, another broken zip' is negative",
            "Five stars with a complaint: label the text, not the stars",
            "A review of the courier, not the product: tag it off-topic",
        ],
        "",
    ),
    (
        "The pilot round",
        [
            "200 reviews sampled across all product categories",
            "Three annotators label every review independently",
            "No discussion until all three have finished",
        ],
        "",
    ),
    (
        "Measuring agreement: Cohen's kappa",
        [
            "Raw agreement flatters when 80% of reviews are positive",
            "Kappa corrects for the agreement expected by chance",
            "Pilot: kappa 0.58 between pairs; the target is above 0.75",
            "Krippendorff's alpha for more than two annotators or missing labels",
        ],
        "kappa = (observed - expected) / (1 - expected)",
    ),
    (
        "Where annotators disagree",
        ["Pairs of labels given to the same review in the pilot"],
        "",
        [
            ["Label pair", "Reviews"],
            ["neutral / mixed", "31"],
            ["negative / mixed", "22"],
            ["positive / neutral", "9"],
            ["positive / negative", "3"],
        ],
    ),
    (
        "Adjudication",
        [
            "A fourth person resolves every three-way split",
            "Each decision becomes a worked example in the guideline",
            "Record the reason, not only the final label",
        ],
        "",
    ),
    (
        "Gold questions",
        [
            "5% of each batch are reviews with a known label",
            "An annotator below 85% on gold gets the batch back",
            "Rotate gold items so that nobody memorises them",
        ],
        "",
    ),
    (
        "Throughput and cost",
        [
            "About 120 short reviews per annotator-hour",
            "Double labelling costs twice: keep it for the hard slice",
            "Active learning picks the reviews the model is least sure of",
        ],
        "",
    ),
    (
        "中文评论的标注 (Chinese reviews)",
        [
            "同一份标注指南，中文示例单独列出",
            "反讽：“真是太好了，又坏了”标为负面",
            "Two native speakers label the Chinese batch",
        ],
        "",
    ),
    (
        "Versioning the guideline",
        [
            "Guideline v1.2 is in the course folder",
            "Every change gets a version number and a changelog line",
            "Relabel old batches when a definition changes",
            "Homework: label 50 reviews with v1.2 and report your kappa",
        ],
        "",
    ),
]

P, T, G, D, W = "Priya Raman", "Tom Okafor", "Grace Mensah", "Daniel Kowalski", "Wei Zhang"
# One minute each: (the slide on screen, [(speaker, what they say), ...]).
MOMENTS: list[tuple[int, list[tuple[str, str]]]] = [
    (
        1,
        [
            (P, "Good morning everyone, and welcome to the live session of the sentiment track."),
            (P, "Today is not about models at all. It is about the people who label our data,"),
            (P, "and the document that tells them what each label means."),
            (T, "Morning. Is this recorded? I have a clash for the second half."),
            (P, "It is, the recording and the deck go to the course folder this afternoon."),
            (P, "Grace and Daniel ran our annotation pilot, so they will jump in as we go."),
            (G, "Happy to. Bring the awkward reviews, we have seen plenty of them."),
            (P, "Right, let's start with a question: why bother writing anything down at all?"),
            (P, "Put your answers in the chat while I switch to the next slide."),
        ],
    ),
    (
        2,
        [
            (P, "So, last quarter our sentiment classifier got stuck at eighty-six percent."),
            (P, "We tried a bigger model, more epochs, a new tokenizer. Nothing moved."),
            (D, "And then we looked at the training data and found the problem was upstream."),
            (D, "Three annotators each had their own idea of what a negative review is."),
            (P, "One of them marked every mention of a late delivery as negative,"),
            (P, "another only when the customer actually said they were unhappy."),
            (T, "So the model was learning the disagreement between annotators?"),
            (P, "Exactly. Noisy labels put a ceiling on what any model can reach."),
            (P, "Writing the rules down turns those judgement calls into something shared."),
        ],
    ),
    (
        3,
        [
            (P, "Here are the four labels we settled on. Positive means they would buy again,"),
            (P, "or they would recommend the product to a friend, not just that they are polite."),
            (
                G,
                "Negative is any complaint, and it can be about the item, the shipping or support.",
            ),
            (G, "Neutral is the one people forget: a statement of fact with no opinion in it,"),
            (G, "like 'arrived on Tuesday, size as described'."),
            (T, "What about a review that likes the fabric but hates the customer service?"),
            (P, "That is mixed. Mixed means praise for one aspect and a complaint about another."),
            (
                P,
                "We added it because forcing those into positive or "
                "negative caused endless fights.",
            ),
            (D, "It also gives the aspect model something to learn from later."),
        ],
    ),
    (
        4,
        [
            (P, "Now the fun part, the cases that broke the pilot. First one, sarcasm."),
            (
                P,
                "'Great, another broken zip.' Every word of it "
                "sounds happy, and it is a complaint.",
            ),
            (G, "We label the meaning, so that is negative, whatever the words look like."),
            (T, "And when the stars say one thing and the text says another?"),
            (P, "We had hundreds of five star ratings with a complaint written underneath."),
            (P, "The rule is simple: the text wins, the star rating is ignored for the label."),
            (D, "Last one: people reviewing the courier instead of the product."),
            (D, "'Driver threw it over the fence.' That gets the off-topic tag, not a sentiment."),
            (P, "Off-topic reviews go to the logistics team, they actually love them."),
        ],
    ),
    (
        5,
        [
            (P, "Before writing version one we ran a pilot to find out where people disagree."),
            (G, "We took two hundred reviews, sampled so that every category was in there,"),
            (G, "electronics, clothing, groceries, the lot, not just what was easy to get."),
            (G, "Then three of us labelled all two hundred, each on our own."),
            (T, "Were you allowed to talk while labelling? Compare notes?"),
            (D, "No, and that matters. We only discussed once all three of us had finished."),
            (D, "If you talk halfway through you converge and the pilot hides the problems."),
            (P, "Independent labels first, discussion afterwards. Keep that order."),
            (P, "The next slide is what the pilot told us."),
        ],
    ),
    (
        6,
        [
            (
                P,
                "How do you measure whether people agree? The obvious answer is percent agreement.",
            ),
            (P, "But eighty percent of our reviews are positive, so two annotators who always"),
            (P, "say positive would agree most of the time without reading anything."),
            (D, "Cohen's kappa fixes that: it subtracts the agreement you'd expect by chance."),
            (
                D,
                "In the pilot our pairwise kappa was zero point "
                "five eight, which is only moderate.",
            ),
            (P, "Our target before labelling at scale is a kappa above zero point seven five."),
            (G, "With three annotators, or when someone skipped items, use Krippendorff's alpha."),
            (G, "It handles any number of annotators and missing labels."),
            (P, "The formula is in the speaker notes if you want it."),
        ],
    ),
    (
        6,
        [
            (T, "Sorry, back to kappa. Why not just report accuracy against one senior annotator?"),
            (P, "Because the senior annotator is also a person who gets tired and makes mistakes,"),
            (P, "and then you are measuring how much people imitate one colleague."),
            (D, "There is also the chance part again: if the classes are skewed,"),
            (D, "accuracy against anyone looks high. The chance correction is the whole point."),
            (T, "And zero point five eight is bad? It sounds like more than half."),
            (G, "Kappa is not a percentage. Point five eight means a lot of disagreement left"),
            (G, "once you take out the agreement that would happen by luck."),
            (P, "Good question, and a good moment to look at where the disagreement was."),
        ],
    ),
    (
        7,
        [
            (P, "This table counts the pairs of labels given to the same review in the pilot."),
            (G, "The biggest by far: thirty-one reviews where one of us said neutral"),
            (G, "and another said mixed. Mostly long reviews with one mild complaint."),
            (D, "Next is negative against mixed, twenty-two of them. Same pattern really."),
            (T, "And positive against negative, the opposite ends, only three?"),
            (P, "Only three, and all three were sarcasm, which is why it got its own rule."),
            (P, "So the confusion sits around the mixed label, between the annotators,"),
            (P, "and that told us exactly which definition to rewrite."),
            (G, "We added five worked examples of mixed right after this."),
        ],
    ),
    (
        8,
        [
            (P, "What happens when three people give three different labels?"),
            (D, "A fourth person, someone who did not label that batch, makes the call."),
            (D, "We call it adjudication. It sounds formal but it takes a minute per review."),
            (P, "The important bit: each of those decisions goes back into the guideline"),
            (P, "as a worked example, so the next annotator does not hit the same wall."),
            (T, "Do you keep the losing labels anywhere?"),
            (G, "We keep all of them, plus a sentence on why the final label was chosen."),
            (G, "The reason is worth more than the label when the guideline changes later."),
            (P, "Write down why, not only what."),
        ],
    ),
    (
        9,
        [
            (P, "Once labelling runs at scale, how do we know quality holds up?"),
            (G, "We hide gold questions in every batch, about five percent of the items,"),
            (G, "reviews where we already know the right label from adjudication."),
            (T, "And if someone gets them wrong?"),
            (G, "Below eighty-five percent on the gold items and the batch comes back to them,"),
            (G, "with the gold answers and the guideline sections they missed."),
            (D, "One trap: people start to recognise the gold reviews after a few weeks."),
            (D, "So we rotate them, fresh gold items every month, nobody memorises them."),
            (P, "It is a check on the guideline as much as on the annotators."),
        ],
    ),
    (
        10,
        [
            (P, "Let's talk money, since someone always asks. How fast is labelling?"),
            (G, "For short reviews, about a hundred and twenty per annotator per hour."),
            (G, "Long ones with several aspects, maybe half of that."),
            (D, "Double labelling everything doubles the bill, so we don't do that."),
            (D, "Two annotators only on the hard slice: long reviews, mixed, sarcasm candidates."),
            (T, "How do you find the hard slice before anyone has labelled it?"),
            (P, "Active learning. The current model scores the unlabelled reviews,"),
            (P, "and we send the ones it is least confident about to people first."),
            (P, "That is where a label teaches the model the most per euro."),
        ],
    ),
    (
        11,
        [
            (P, "Wei, you ran the Chinese batch. Same guideline?"),
            (W, "Same guideline, same four labels, but the examples are listed separately,"),
            (W, "中文的例子单独列出来，因为反讽的说法和英文完全不一样。"),
            (W, "比如“真是太好了，又坏了”，字面上是好评，其实是负面，要标为负面。"),
            (T, "Did the English annotators label Chinese reviews through translation?"),
            (W, "No, two native speakers labelled the Chinese batch, translation loses the tone."),
            (W, "两位母语标注员独立标注，分歧再交给第三个人裁决。"),
            (P, "And the kappa on the Chinese batch was actually a bit higher than English."),
            (W, "Because we wrote the Chinese examples after the pilot, so we learned from it."),
        ],
    ),
    (
        12,
        [
            (P, "Last slide. The guideline is a living document, version one point two right now."),
            (P, "It is in the course folder, next to the recording."),
            (D, "Every change gets a new version number and one line in the changelog,"),
            (D, "so when a number moves you can tell which definition changed under it."),
            (T, "What happens to the reviews labelled under the old version?"),
            (G, "If a definition changed, we relabel the affected old batches. Yes, it hurts."),
            (P, "Homework for everyone: label fifty reviews with version one point two"),
            (P, "and report your kappa against the adjudicated labels in the chat thread."),
            (P, "Thanks all, see you in the chat, and enjoy the sarcastic reviews."),
        ],
    ),
]

CHAT = """10:01:40 From Priya Raman to Everyone:
	Slides and the guideline (v1.2) are in the course folder, 2026-04-14-labelling-guidelines.pptx
10:02:05 From Tom Okafor to Everyone:
	Why write it down: because everyone thinks their definition is the obvious one
10:05:31 From Hannah Okafor to Everyone:
	Do emoji count? A review that is only "👍" - positive or neutral?
10:05:58 From Grace Mensah to Everyone:
	Positive. The guideline has an emoji table in the appendix.
10:06:40 From Daniel Kowalski to Everyone:
	Reacted to "Positive. The guideline..." with 👍
10:07:12 From Tom Okafor to Everyone:
	Calculator for kappa and alpha: the notebook in the course folder, agreement.ipynb
10:10:20 From Hannah Okafor to Everyone:
	Can gold items be generated, or must they come from adjudicated reviews?
10:10:51 From Grace Mensah to Everyone:
	Adjudicated only. Invented reviews are too clean and everyone gets them right.
10:11:30 From 张伟 to Everyone:
	中文批次的标注指南附录在同一个文件夹里
"""

WRITEUP = """---
title: "Write-up: what the labelling guidelines session changed for us"
session: {stem}
team: nlp
course: nlp-sentiment
module: nlp-preprocessing
skills: [data-cleaning, model-evaluation]
author: Hannah Okafor
date: 2026-04-16
tags: [writeup, annotation, inter-annotator-agreement]
---

# Write-up: what the labelling guidelines session changed for us

## Before the session

Our support-ticket sentiment labels came from two contractors with no written guideline.
We had never measured agreement; the model's accuracy had been flat for two months.

## What we changed

- We adopted the four labels (positive, negative, neutral, mixed) and the rule that the text
  wins over the star rating.
- We relabelled a pilot of 150 tickets with three people and measured Cohen's kappa: 0.49 at
  first, 0.78 after two rounds of adjudication and worked examples.
- Gold questions are now 5% of every batch; one contractor fell under 85% in week one, and
  the cause was the mixed label, as in the session's pilot.

## Results

With the relabelled data the distilled student model went from 84% to 88% macro-F1 on the
adjudicated test set, with no change to the model. The guideline is at version 1.3: we added
a section on tickets that quote an earlier message.
"""


def make_deck(out: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for index, (title, lines, notes, *table) in enumerate(SLIDES):
        layout = deck.slide_layouts[0 if index == 0 else (5 if table else 1)]
        slide = deck.slides.add_slide(layout)
        slide.shapes.title.text = title
        if index == 0:
            slide.placeholders[1].text = "\n".join(lines)
        elif table:
            rows = table[0]
            shape = slide.shapes.add_table(
                len(rows), len(rows[0]), Inches(0.5), Inches(1.6), Inches(9), Inches(3)
            )
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    shape.table.cell(r, c).text = value
            box = slide.shapes.add_textbox(Inches(0.5), Inches(5), Inches(9), Inches(1))
            box.text_frame.text = "\n".join(lines)
        else:
            body = slide.placeholders[1].text_frame
            body.text = lines[0]
            for line in lines[1:]:
                body.add_paragraph().text = line
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    core = deck.core_properties
    core.title = TITLE
    core.author = P
    core.keywords = "annotation, labelling guidelines, inter-annotator agreement, kappa"
    core.created = core.modified = CREATED
    core.last_modified_by = P
    core.revision = 1
    buffer = io.BytesIO()
    deck.save(buffer)
    path = out / f"{STEM}.pptx"
    path.write_bytes(fixed_zip(buffer.getvalue()))
    sidecar(path, **META, tags=["slides", "annotation", "nlp-preprocessing"])
    return path


def _clock(seconds: float) -> str:
    whole = int(seconds)
    millis = round((seconds - whole) * 1000)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{millis:03d}"


def moment_start(minute: int) -> float:
    """When the `minute`-th moment (0-based) begins: one minute each, from 00:00:02."""
    return 60.0 * minute + 2.0


def make_transcript(out: Path) -> Path:
    lines = [
        "WEBVTT",
        "",
        "NOTE",
        f"title: Live session - {TITLE}",
        f"team: {META['team']}",
        f"course: {META['course']}",
        f"module: {META['module']}",
        f"skills: [{', '.join(META['skills'])}]",
        f"author: {P}",
        "date: 2026-04-14",
        "tags: [transcript, live-session, annotation, nlp-preprocessing]",
        "",
    ]
    number = 0
    for minute, (_, cues) in enumerate(MOMENTS):
        step = 56.0 / len(cues)
        for index, (speaker, text) in enumerate(cues):
            start = moment_start(minute) + index * step
            number += 1
            lines += [
                str(number),
                f"{_clock(start)} --> {_clock(start + step - 0.4)}",
                f"<v {speaker}>{text}",
                "",
            ]
    path = out / f"{STEM}.vtt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def make_chat(out: Path) -> Path:
    path = out / f"{STEM}.txt"
    path.write_text(CHAT, encoding="utf-8")
    sidecar(
        path,
        title=f"Chat: {TITLE}",
        **META,
        date="2026-04-14",
        tags=["chat", "annotation", "nlp-preprocessing"],
    )
    return path


def make_writeup(out: Path) -> Path:
    path = out / "labelling-guidelines-what-changed.md"
    path.write_text(WRITEUP.format(stem=STEM), encoding="utf-8")
    return path


def make_checks(out: Path) -> Path:
    """One labelled check per minute: the moment's start and the slide on screen."""
    path = out / "slide-checks.jsonl"
    rows = [
        {"transcript": f"{STEM}.vtt", "t": int(moment_start(minute)), "deck": f"{STEM}.pptx"}
        | {"slide": slide}
        for minute, (slide, _) in enumerate(MOMENTS)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    made = [make_deck(out), make_transcript(out), make_chat(out), make_writeup(out)]
    made.append(make_checks(out))
    for path in made:
        print(f"{path}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
